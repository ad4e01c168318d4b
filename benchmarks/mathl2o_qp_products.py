"""Benchmark: the stacked least-squares products 𝐌X and 𝐌ᵀR in an unrolled Math-L2O step, as batched
matrix-vector products (before) and as row vectors multiplied into the matrix (after, QP.matvec/QP.rmatvec).

One forward and backward pass of the unrolled loss 𝓕 = F(X_T) (unroll.loss_and_gradients, what one SGD step
costs) of each model of mathl2o.random-init-explodes at its full scale (the paper's Fig. 2: N = 10, d = 512,
b = 400) and of the Fig. 5 model (d = 32, b = 25, N = 32, T = 20, width 1024), on the claims' instances. Before
and after are timed in one process, interleaved (A, B, A, B, ...), on the same model and instances: "before" is
the QP subclass ColumnProducts below, which restores the earlier formulas. The last two columns compare the two
forms: they differ in round-off only (the sums run in another order).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mathl2o_qp_products.py [--repeats 3]
Writes benchmarks/mathl2o_qp_products.md.
"""

from __future__ import annotations

import statistics
import time

import torch
from markdown_report import parse_on_one_thread, parser_for, write_page  # the script folder is on sys.path

from implementations.mathl2o import QP, MathL2O
from implementations.mathl2o.experiments import fig2_models
from implementations.mathl2o.unroll import loss_and_gradients
from verify.registry import Context


class ColumnProducts(QP):
    """The earlier products: M_i x_i and M_iᵀ r_i as batched matrix-vector products with a column vector."""

    def matvec(self, X: torch.Tensor) -> torch.Tensor:
        return (self.M @ X.unsqueeze(-1)).squeeze(-1)

    def rmatvec(self, R: torch.Tensor) -> torch.Tensor:
        return (self.M.transpose(-1, -2) @ R.unsqueeze(-1)).squeeze(-1)


def timed(model, qp: QP, T: int) -> tuple[float, float, torch.Tensor]:
    start = time.perf_counter()
    loss, grads = loss_and_gradients(model, qp, T)
    seconds = time.perf_counter() - start
    return seconds, float(loss), torch.cat([g.reshape(-1) for g in grads])


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def main() -> None:
    parser = parser_for(__file__, __doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args, load_before = parse_on_one_thread(parser)
    fig2_instance = Context.instance_seeds(2, [0])[0]
    fig5_instance = Context.instance_seeds(7, [0])[0]
    cases = []
    for T in (20, 100):
        after = QP.random(10, 512, 400, seed=fig2_instance)
        before = ColumnProducts(after.M, after.Y, after.beta)
        for name, model in fig2_models(after, T, fig2_instance + 1).items():
            cases.append((f"Fig. 2 (N = 10, d = 512, b = 400), {name}", T, model, before, after))
    after = QP.random(32, 32, 25, seed=fig5_instance)
    cases.append(("Fig. 5 (N = 32, d = 32, b = 25), MathL2O width 1024, e = 100", 20,
                  MathL2O(1024, 100.0, 3, seed=fig5_instance), ColumnProducts(after.M, after.Y, after.beta), after))
    rows = []
    for label, T, model, before, after in cases:
        timed(model, before, T), timed(model, after, T)  # warm-up
        times = {"before": [], "after": []}
        for _ in range(args.repeats):
            for key, qp in (("before", before), ("after", after)):
                seconds, loss, grad = timed(model, qp, T)
                times[key].append(seconds)
                if key == "before":
                    loss_before, grad_before = loss, grad
                else:
                    loss_rel = relative(loss, loss_before)
                    grad_rel = float((grad - grad_before).norm() / grad_before.norm().clamp_min(1e-300))
        b, a = statistics.median(times["before"]), statistics.median(times["after"])
        rows.append(f"| {label} | {T} | {b:.3f} | {a:.3f} | {b / a:.2f}× | {loss_rel:.1e} | {grad_rel:.1e} |")
        print(rows[-1], flush=True)
    write_page(args.out, "Math-L2O's unrolled step: batched matrix-vector products vs row-vector products", __file__,
               f"one thread; float64; median of {args.repeats} interleaved before/after passes after a warm-up",
               load_before, [
                   "| models and scale | T | before: one forward + backward (s) | after (s) | speed-up | "
                   "rel. difference of 𝓕 | rel. difference of ∇𝓕 |",
                   "|---|---|---|---|---|---|---|",
                   *rows])


if __name__ == "__main__":
    main()
