"""Benchmark: what mathl2o.random-init-explodes costs at the full budget, from the measured cost of one SGD step of
each of its models at each unroll length T of its full scale (the paper's Fig. 2: N = 10, d = 512, b = 400,
T ∈ {5, 10, 20, 40, 60, 80, 100}, η ∈ {1e-5, 1e-4}, 400 SGD steps, seeds_for("full", 0)).

A step is timed on the claim's own models and instances (experiments.fig2_models, QP.random at the first seed's
instance seed), as the median of a few steps after the first. A training stops early only at a non-finite loss or
gradient, so the claim's cost is at most Σ_{seeds, T, η, models} 400 × (one step); the first column of the totals
is that bound, the second the same with the trainings that went non-finite within the timed steps counted only up
to there.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mathl2o_fig2_step_cost.py [--steps 3]
Writes benchmarks/mathl2o_fig2_step_cost.md.
"""

from __future__ import annotations

import math
import statistics
import time

import torch
from markdown_report import parse_on_one_thread, parser_for, write_page  # the script folder is on sys.path

from implementations.mathl2o import QP
from implementations.mathl2o.experiments import FIG2_NDIM, fig2_models
from implementations.mathl2o.unroll import training_step
from verify.catalogue import BY_ID
from verify.intervals import FULL_SEEDS
from verify.registry import Context


def main() -> None:
    parser = parser_for(__file__, __doc__)
    parser.add_argument("--steps", type=int, default=3)
    args, load_before = parse_on_one_thread(parser)
    full = {name: value[1] for name, value in BY_ID["mathl2o.random-init-explodes"].scales.items()}
    N, d, b = full["shape_N_d_b"]
    iters = full["iters"]
    lrs = [lr * FIG2_NDIM / (N * d) for lr in full["lrs"]]
    instance = Context.instance_seeds(2, [0])[0]
    qp = QP.random(N, d, b, seed=instance, dtype=torch.float64)
    rows, bound, finite_bound = [], 0.0, 0.0
    for T in full["Ts"]:
        for lr in lrs:
            for name, model in fig2_models(qp, T, instance + 1).items():
                times, went_non_finite = [], None
                for step in range(args.steps + 1):
                    start = time.perf_counter()
                    loss = training_step(model, qp, T, lr)
                    times.append(time.perf_counter() - start)
                    if not math.isfinite(loss):
                        went_non_finite = step
                        break
                seconds = statistics.median(times[1:] or times)
                bound += FULL_SEEDS * iters * seconds
                finite_bound += FULL_SEEDS * (iters if went_non_finite is None else went_non_finite + 1) * seconds
                rows.append(f"| {T} | {lr:g} | {name} | {seconds:.3f} | "
                            f"{'—' if went_non_finite is None else went_non_finite} | {iters * seconds / 60:.1f} |")
                print(rows[-1], flush=True)
    write_page(args.out, "mathl2o.random-init-explodes at the full budget: the cost of its SGD steps", __file__,
               f"one thread; float64; N = {N}, d = {d}, b = {b}; median of {args.steps} steps after the first",
               load_before, [
                   "| T | η | model | one SGD step (s) | non-finite at timed step | 400 steps (min) |",
                   "|---|---|---|---|---|---|",
                   *rows,
                   "",
                   f"The claim at the full budget ({FULL_SEEDS} seeds, {iters} SGD steps): at most "
                   f"{bound / 3600:.1f} h of one core; {finite_bound / 3600:.1f} h with the trainings that went "
                   "non-finite within the timed steps stopped there (the others may still stop earlier at other "
                   "seeds)."])


if __name__ == "__main__":
    main()
