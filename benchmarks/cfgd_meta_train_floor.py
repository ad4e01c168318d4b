"""Benchmark: a floor under the full budget's CFGD meta-training time on this CPU, for any implementation that does
the paper's computation (paper_config, FULL_SEEDS seeds) with torch's kernels.

Counted per row-step (one coordinate-wise LSTM step of one seed on all d coordinates; d = 100 for least squares,
151 for the 1–50–1 h₂ MLP), from the model's sizes (hidden H = 40, 3 inputs; L2OCFGD 3 outputs, LSTMOptimizer 1):
- the LSTM's products: forward d·[(3 + H)·4H + 2H·4H + H·out] multiply–adds, the backward pass twice that
  (the gradients with respect to the inputs and to the weights) less the detached features' gradient, 2 FLOP
  each;
- the LSTM's gate non-linearities: per cell 3 sigmoids and 2 tanh on d·H entries (forward only; the backward
  pass reuses them);
- the look-ahead step-size rule of L2O-CFGD on h₂: 28 step sizes × 100 points × 50 hidden units tanh.
Each count is divided by the best throughput measured here for that kernel alone (a large float64 GEMM; tanh and
sigmoid on a large tensor), one thread: no implementation built on these kernels can go faster, and the real one
also pays for the Caputo partials, the loss, Adam and the per-operation overhead, all left out of the floor.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cfgd_meta_train_floor.py
Writes benchmarks/cfgd_meta_train_floor.md.
"""

from __future__ import annotations

import time

import torch
from markdown_report import parse_on_one_thread, parser_for, write_page  # the script folder is on sys.path

from implementations.cfgd.optimizers import authors_lookahead_grid
from implementations.cfgd.training import paper_config
from verify.intervals import FULL_SEEDS

HIDDEN, INPUTS = 40, 3
DIMENSIONS = {"least-squares": 100, "h2": 3 * 50 + 1}
OUTPUTS = {"cfgd": 3, "lstm": 1}


def best_seconds(function, repeats: int = 5) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def throughputs(dtype: torch.dtype) -> dict[str, float]:
    """FLOP/s of a 2048² GEMM, and elements per second of tanh and sigmoid on 2²² entries, one thread."""
    a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
    x = torch.randn(2 ** 22, dtype=dtype)
    return {"gemm": 2 * 2048 ** 3 / best_seconds(lambda: torch.mm(a, b)),
            "tanh": x.numel() / best_seconds(lambda: torch.tanh(x)),
            "sigmoid": x.numel() / best_seconds(lambda: torch.sigmoid(x))}


def counts(task: str, kind: str) -> dict[str, float]:
    """Row-steps of the full budget's meta-training of (task, kind) and its counted work."""
    config = paper_config(task, kind)
    row_steps = FULL_SEEDS * config.runs * config.task.iterations
    d, H = DIMENSIONS[task], HIDDEN
    forward_macs = d * ((INPUTS + H) * 4 * H + 2 * H * 4 * H + H * OUTPUTS[kind])
    lookahead = len(authors_lookahead_grid()) * config.task.n * config.task.hidden if (
        task == "h2" and kind == "cfgd") else 0
    backward_macs = 2 * forward_macs - d * INPUTS * 4 * H  # no gradient for the detached features
    return {"row_steps": row_steps, "flop": row_steps * 2 * (forward_macs + backward_macs),
            "tanh": row_steps * (4 * d * H + lookahead), "sigmoid": row_steps * 6 * d * H}


def main() -> None:
    args, load_before = parse_on_one_thread(parser_for(__file__, __doc__))
    rates = {dtype: throughputs(dtype) for dtype in (torch.float64, torch.float32)}
    rows, totals = [], {torch.float64: 0.0, torch.float32: 0.0}
    for task in DIMENSIONS:
        for kind in OUTPUTS:
            work = counts(task, kind)
            floors = {}
            for dtype, rate in rates.items():
                floors[dtype] = work["flop"] / rate["gemm"] + work["tanh"] / rate["tanh"] + \
                    work["sigmoid"] / rate["sigmoid"]
                totals[dtype] += floors[dtype]
            rows.append(f"| {task} | {kind} | {work['row_steps'] / 1e6:.2f} | {work['flop'] / 1e12:.0f} | "
                        f"{work['tanh'] / 1e9:.0f} | {work['sigmoid'] / 1e9:.0f} | {floors[torch.float64] / 60:.0f} | "
                        f"{floors[torch.float32] / 60:.0f} |")
    f64, f32 = rates[torch.float64], rates[torch.float32]
    write_page(args.out, "A floor under the full budget's CFGD meta-training on this CPU", __file__, "one thread",
               load_before, [
                   f"Measured, one thread: float64 GEMM {f64['gemm'] / 1e9:.1f} GFLOP/s, tanh "
                   f"{1e9 / f64['tanh']:.2f} ns and sigmoid {1e9 / f64['sigmoid']:.2f} ns per entry; float32 "
                   f"{f32['gemm'] / 1e9:.1f} GFLOP/s, {1e9 / f32['tanh']:.2f} ns, {1e9 / f32['sigmoid']:.2f} ns.",
                   "",
                   "What is counted and why it is a floor: the script's docstring. Row-steps: seeds × runs × "
                   "iterations.",
                   "",
                   "| task | model | row-steps (10⁶) | LSTM products (TFLOP) | tanh (10⁹) | sigmoid (10⁹) "
                   "| floor, float64 (min of one core) | floor, float32 (min of one core) |",
                   "|---|---|---|---|---|---|---|---|",
                   *rows,
                   "",
                   f"All four: {totals[torch.float64] / 60:.0f} min of one core in float64, so at least "
                   f"{totals[torch.float64] / 120:.0f} min of wall time on two cores; in float32 "
                   f"{totals[torch.float32] / 60:.0f} min ({totals[torch.float32] / 120:.0f} min on two)."])
    print("\n".join(rows))


if __name__ == "__main__":
    main()
