"""Benchmark: the independent Math-L2O trainings of mathl2o.beats-gd.fig5 and mathl2o.eq14.lr-bound at the full
budget, one by one (train per training, what the claims did) against one stacked program (stacked.train_many).

- Fig. 5: the full budget's 17 trainings (the (e, η) grid e ∈ {1, 5, 25, 50, 100} × η ∈ {1e-3, 1e-4, 1e-5} at the
  first seed and the reference e = 100, η = 1e-4 at the other two of its three seeds; d = 32, b = 25, N = 32,
  T = 20, width 1024, on the claim's instance seeds), timed over --fig5-steps SGD steps and extrapolated to the
  claim's 1000.
- Eq. 14: the η scan of one (depth, e) configuration (73 η on [1e-3, 1e6] × the Eq. 14 value at 8 per decade, the
  SMALL model and instances of the claim), timed over --eq14-steps SGD steps and extrapolated to the claim's 200;
  the claim scans six configurations, then bisects one η at a time (not stacked).

A training's cost per SGD step does not depend on the step (same sizes every step; no training here diverges), so
the extrapolation multiplies by the steps. Before and after run interleaved (A, B, A, B) after one untimed warm-up
of both; the last column is the largest relative difference of a final loss between the two (round-off).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mathl2o_stacked_trainings.py [--repeats 2]
Writes benchmarks/mathl2o_stacked_trainings.md.
"""

from __future__ import annotations

import statistics
import time

from markdown_report import parse_on_one_thread, parser_for, write_page  # the script folder is on sys.path

from implementations.mathl2o import QP, MathL2O, train
from implementations.mathl2o.constants import ntk_constants
from implementations.mathl2o.experiments import log_grid
from implementations.mathl2o.stacked import train_many
from theory import mathl2o as theory
from verify.catalogue import BY_ID
from verify.intervals import seeds_for
from verify.registry import Context

#: The claim's small instance set and model (N, d, b, T, width), as its docstring states.
SMALL = dict(N=2, d=4, b=3, T=3, width=16)


def fig5_jobs() -> list[tuple[MathL2O, QP, float]]:
    reference = (100.0, 1e-4)
    grid = [(e, lr) for e in (1.0, 5.0, 25.0, 50.0, 100.0) for lr in (1e-3, 1e-4, 1e-5) if (e, lr) != reference]
    jobs = []
    for i, seed in enumerate(Context.instance_seeds(7, seeds_for("full", 0))):
        qp = QP.random(32, 32, 25, seed=seed)
        jobs += [(MathL2O(1024, e, 3, seed=seed), qp, lr) for e, lr in [reference] + (grid if i == 0 else [])]
    return jobs


def eq14_jobs() -> list[tuple[MathL2O, QP, float]]:
    seed = Context(budget="full", claim_id="mathl2o.eq14.lr-bound").instance_seed(1)
    qp = QP.random(SMALL["N"], SMALL["d"], SMALL["b"], seed=seed)
    c = ntk_constants(MathL2O(SMALL["width"], 10.0, 3, seed=seed), qp, SMALL["T"], seed=seed)
    bound = theory.eq14_lr_bound(c.gamma, c.lipschitz, c.loss0)
    per_decade = BY_ID["mathl2o.eq14.lr-bound"].scales["per_decade"][1]
    return [(MathL2O(SMALL["width"], 10.0, 3, seed=seed), qp, lr)
            for lr in log_grid(bound * 1e-3, bound * 1e6, per_decade)]


def one_by_one(jobs, T: int, steps: int) -> list[float]:
    return [train(_copy(m), qp, T, lr, steps).final_loss for m, qp, lr in jobs]


def _copy(model: MathL2O) -> MathL2O:
    fresh = MathL2O(model.width, model.e, model.depth, seed=0)
    fresh.load_state_dict(model.state_dict())
    return fresh


def stacked(jobs, T: int, steps: int) -> list[float]:
    histories = train_many([_copy(m) for m, _, _ in jobs], [qp for _, qp, _ in jobs], T, [lr for *_, lr in jobs], steps)
    return [h.final_loss for h in histories]


def main() -> None:
    parser = parser_for(__file__, __doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--fig5-steps", type=int, default=100)
    parser.add_argument("--eq14-steps", type=int, default=40)
    args, load_before = parse_on_one_thread(parser)
    fig5 = fig5_jobs()
    cases = [(f"mathl2o.beats-gd.fig5: {len(fig5)} trainings (15 at the first seed, 1 at each other seed)", fig5,
              20, args.fig5_steps, 1000),
             ("mathl2o.eq14.lr-bound: the η scan of depth 3, e = 10 (73 η)", eq14_jobs(), SMALL["T"],
              args.eq14_steps, BY_ID["mathl2o.eq14.lr-bound"].scales["iters"][1])]
    rows = []
    for label, jobs, T, steps, claim_steps in cases:
        one_by_one(jobs, T, 2), stacked(jobs, T, 2)  # warm-up
        times = {"one by one": [], "stacked": []}
        for _ in range(args.repeats):
            for key, function in (("one by one", one_by_one), ("stacked", stacked)):
                start = time.perf_counter()
                finals = function(jobs, T, steps)
                times[key].append(time.perf_counter() - start)
                if key == "one by one":
                    reference = finals
                else:
                    difference = max(abs(a - b) / abs(b) for a, b in zip(finals, reference))
        before, after = statistics.median(times["one by one"]), statistics.median(times["stacked"])
        scale = claim_steps / steps
        rows.append(f"| {label} | {steps} | {before:.2f} | {after:.2f} | {before / after:.1f}× | "
                    f"{before * scale:.0f} | {after * scale:.0f} | {difference:.1e} |")
        print(rows[-1], flush=True)
    write_page(args.out, "Math-L2O trainings of one claim: one by one vs one stacked program", __file__,
               f"one thread; float64; median of {args.repeats} interleaved repeats after a warm-up", load_before, [
                   "| trainings | SGD steps timed | one by one (s) | stacked (s) | speed-up | at the claim's steps, "
                   "one by one (s) | stacked (s) | max rel. difference of a final loss |",
                   "|---|---|---|---|---|---|---|---|",
                   *rows])


if __name__ == "__main__":
    main()
