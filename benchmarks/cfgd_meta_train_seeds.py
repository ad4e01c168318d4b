"""Benchmark: the full budget's CFGD meta-trainings, seed by seed (meta_train per seed) against one stacked program
for the seeds (meta_train_many, implementations.cfgd.stacked), at the paper's scale (paper_config: least squares
d = m = 100, 800 iterations, unroll 20; h₂ 1–50–1 MLP on 100 points, 600 iterations, unroll 40; L2O-CFGD with 3
Hutchinson probes), for the FULL_SEEDS seeds an empirical claim trains at the full budget.

Each figure is the wall time of the first meta-training run of fresh models (every seed), interleaved A, B, A, B
after one untimed warm-up of both; the extrapolation to the full budget multiplies the median by the config's
number of runs (a run's cost does not depend on the run's index: same sizes every run). The last column is the
largest relative difference between the two versions' first-run summed losses over the seeds (round-off,
amplified within the run by the look-ahead grid's argmin and the Adam steps).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cfgd_meta_train_seeds.py [--repeats 2] [--context "..."]
Writes benchmarks/cfgd_meta_train_seeds.md.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from markdown_report import parse_on_one_thread, parser_for, write_page  # the script folder is on sys.path

from implementations.cfgd.training import meta_train, meta_train_many, paper_config, stackable
from verify.intervals import FULL_SEEDS

CONFIGS = (("least-squares", "cfgd"), ("least-squares", "lstm"), ("h2", "cfgd"), ("h2", "lstm"))


def seed_configs(task: str, kind: str, runs: int = 1):
    return [replace(paper_config(task, kind), runs=runs, seed=seed) for seed in range(FULL_SEEDS)]


def timed(function) -> tuple[float, list[float]]:
    start = time.perf_counter()
    outcomes = function()
    return time.perf_counter() - start, [log["summed_loss"][0] for _, log in outcomes]


def main() -> None:
    parser = parser_for(__file__, __doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--context", default="", help="what else ran on the machine, for the header")
    args, load_before = parse_on_one_thread(parser)
    rows = []
    total_before = total_after = 0.0
    for task, kind in CONFIGS:
        configs = seed_configs(task, kind)
        runs = paper_config(task, kind).runs

        def by_seed(configs=configs):
            return [meta_train(c) for c in configs]

        def stacked(configs=configs):
            return meta_train_many(configs)

        warm = [replace(c, task=replace(c.task, iterations=40)) for c in configs]
        meta_train(warm[0])
        meta_train_many(warm)
        before, after, differences = [], [], []
        for _ in range(args.repeats):
            seconds, ours_by_seed = timed(by_seed)
            before.append(seconds)
            seconds, ours_stacked = timed(stacked)
            after.append(seconds)
            differences += [abs(a - b) / abs(a) for a, b in zip(ours_by_seed, ours_stacked)]
        b, a = statistics.median(before), statistics.median(after)
        total_before += runs * (a if kind == "lstm" else b)  # the LSTM's seeds were stacked before too
        total_after += runs * a
        rows.append(f"| {task} | {kind} | {'yes' if stackable(configs[0]) else 'no'} | {b:.2f} | {a:.2f} | "
                    f"{b / a:.2f}× | {runs} | {runs * b / 60:.0f} | {runs * a / 60:.0f} | {max(differences):.1e} |")
        print(rows[-1], flush=True)
    write_page(args.out, "The full budget's CFGD meta-trainings: seed by seed vs one stacked program", __file__,
               f"threads 1; float64; {FULL_SEEDS} seeds (FULL_SEEDS); median of {args.repeats} interleaved A/B "
               "repeats after a warm-up", load_before, [
                   *([args.context, ""] if args.context else []),
                   "Before: `meta_train` seed by seed (what the full budget did for L2O-CFGD with Hutchinson probes, "
                   "which the stacked program did not support); after: `meta_train_many` (stacked: per-row LSTM "
                   "weights, the problems stacked, the probes drawn per row from each seed's generator and the probed "
                   "partials in one batched closed form). The black-box LSTM was already stacked before; its rows "
                   "measure the same two calls.",
                   "",
                   "| task | model | stacked | one run, seeds one by one (s) | one run, stacked (s) | speed-up | runs "
                   "| full budget, one by one (min of one core) | full budget, stacked (min of one core) "
                   "| max rel. difference of a run's summed loss |",
                   "|---|---|---|---|---|---|---|---|---|---|",
                   *rows,
                   "",
                   f"All four at the full budget: {total_before / 60:.0f} min of one core before (L2O-CFGD seed by "
                   f"seed, the LSTM stacked), {total_after / 60:.0f} min after (all stacked)."])


if __name__ == "__main__":
    main()
