"""Side by side: the authors' own L2O-CFGD meta-training (fl2o, run as published through
implementations.cfgd.authors_code) and ours, with each code difference switched on in ours, on our problem
instances, over seeds with 95% bootstrap intervals.

Per task and seed s: their L2O-CFGD (their meta_train with their notebook's configuration at the sizes below,
seeded s; least squares: their early-stopping selection l2o_dict_best, h₂: the final l2o_dict, as their notebooks
evaluate); our L2O-CFGD meta-trained at the same sizes (config.seed = s), and our L2O-CFGD with the authors'
variants switched on one at a time and together:
  least squares: "beta_scaling" (their CFGD_ClosedForm_v2 divides the direction by 1 + |β_j|), "start_normal"
  (meta-trained from x⁰ ~ N(0, I) as their notebook, not x⁰ = 0), both;
  h₂: "authors_direction" (their general CFGD's direction, wrong for x_j < c_j), "abs_hutchinson" (their |v⊙Hv|
  estimate, 3 probes), "layerwise_step" (their step-size rule: look-ahead η on the first layer, exact line search
  on the output layer; optimizers.LayerwiseLookahead, in meta-training and test), the layer-wise rule with each
  of the other two, all three;
our best static NA/AT (grid-searched on the validation problem: quick_grid-like 3×3×3 / 2×3×3; on h₂ with either
step rule), their static optimizers at their notebook's kept values; all on the same test problems (our draws;
least squares from x⁰ = 0
and from x⁰ ~ N(0, I), h₂ from our default initialisation). The output activations are not switched: theirs are
ours (α = sigmoid, β and c identity, both notebooks).

Sizes: --scale quick: least squares d = m = 20, 50 iterations, 20 runs, unroll 20, meta-lr 3e-3; h₂ 1–50–1 on
100 points, 40 iterations, 15 runs, unroll 20, meta-lr 3e-3. --scale reduced (a reduced paper scale): least squares
d = m = 100, 200 iterations, 100 runs, unroll 20, meta-lr 1e-3; h₂ 1–50–1, 100 iterations, 60 runs, unroll 40,
meta-lr 3e-4 (the paper: 800 / 600 iterations, 2000 / 1200 runs). Ours with exact ∂²_jj (their least-squares
optimizer uses the exact diag(A); on h₂ the abs_hutchinson switch uses their estimator).

Run (after benchmarks/prepare_theirs_cfgd.sh):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cfgd_authors_side_by_side.py --theirs .theirs-cfgd --scale quick \
      --seeds 0 1 2 3 4 --json /tmp/side-quick.json
and print the markdown of one or more JSON files with --report FILE ...
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace

import numpy as np
import torch

from implementations.cfgd import authors_code
from implementations.cfgd.training import (
    MetaTrainConfig,
    StaticGrid,
    TaskConfig,
    grid_search_static,
    meta_train_many,
    rollout,
    run_static_batch,
)
from verify.intervals import describe_interval, seed_interval

GRID = StaticGrid(alphas=(0.1, 0.6, 0.95), betas=(-1.0, 0.0, 0.3), terminals=(-0.5, 0.0, 1.0), histories=(1, 4))
THEIR_STATIC = {
    "least-squares": {"na": {"cls": "CFGD_ClosedForm_v2", "alpha": 0.6, "beta": 0.3, "c": 1.0, "version": "NA"},
                      "at": {"cls": "CFGD_ClosedForm_v2", "alpha": 0.1, "beta": 0.0, "c": None, "version": "AT",
                             "L": 4}},
    "h2": {"na": {"alpha": 0.95, "beta": 0.0, "c": -5.0, "version": "NA"},
           "at": {"alpha": 0.2, "beta": -5.0, "c": None, "version": "AT", "L": 1}}}
SWITCHES = {"least-squares": {"ours": {}, "beta_scaling": {"beta_scaling": True}, "start_normal": {"start": "normal"},
                              "beta_scaling+start_normal": {"beta_scaling": True, "start": "normal"}},
            "h2": {"ours": {}, "authors_direction": {"direction": "authors"},
                   "abs_hutchinson": {"hessian": "hutchinson-abs", "probes": 3},
                   "layerwise_step": {"step_rule": "layerwise"},
                   "layerwise+authors_direction": {"direction": "authors", "step_rule": "layerwise"},
                   "layerwise+abs_hutchinson": {"hessian": "hutchinson-abs", "probes": 3, "step_rule": "layerwise"},
                   "all_three": {"direction": "authors", "hessian": "hutchinson-abs", "probes": 3,
                                 "step_rule": "layerwise"}}}


def config_for(task: str, scale: str) -> MetaTrainConfig:
    """Our MetaTrainConfig at the benchmark's sizes (module docstring)."""
    if task == "least-squares":
        if scale == "quick":
            return MetaTrainConfig(TaskConfig(task, d=20, m=20, iterations=50), runs=20, unroll=20, lr=3e-3,
                                   hessian="exact")
        return MetaTrainConfig(TaskConfig(task, d=100, m=100, iterations=200), runs=100, unroll=20, lr=1e-3,
                               hessian="exact")
    if scale == "quick":
        return MetaTrainConfig(TaskConfig(task, n=100, hidden=50, iterations=40), runs=15, unroll=20, lr=3e-3,
                               hessian="exact")
    return MetaTrainConfig(TaskConfig(task, n=100, hidden=50, iterations=100), runs=60, unroll=40, lr=3e-4,
                           hessian="exact")


def variant(config: MetaTrainConfig, switch: dict, seed: int) -> MetaTrainConfig:
    switch = dict(switch)
    task = replace(config.task, **{key: switch.pop(key) for key in ("start", "step_rule") if key in switch})
    return replace(config, task=task, seed=seed, **switch)


def instances(task: TaskConfig, seed: int, start: str = "zeros") -> tuple[list, list]:
    """1 validation and 3 test problems of seed ``seed`` (the claims' instance seeds: 10_000 + 10_007·seed)."""
    gen = torch.Generator().manual_seed(10_000 + 10_007 * seed)
    task = replace(task, start=start) if task.name == "least-squares" else task
    return [task.make(gen)], [task.make(gen) for _ in range(3)]


def c_summary(values) -> dict:
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "median": float(np.median(values)), "min": float(values.min()),
            "max": float(values.max())}


def our_run(model, task: TaskConfig, f, x0, seed: int, index: int) -> dict:
    r = rollout(model, f, x0, task.iterations, task.step_size(), keep_records=True,
                generator=torch.Generator().manual_seed(seed + index))
    entry = {"summed": math.inf if r.diverged_at else r.summed_loss}
    if r.records and r.records[-1].c is not None:
        entry["c_final"] = c_summary(r.records[-1].c.numpy())
    return entry


def their_run(fl2o, task_name: str, f, x0, iterations: int, **kwargs) -> dict:
    if task_name == "least-squares":
        run = authors_code.least_squares_run(fl2o, f.A.T, f.y, x0, iterations, **kwargs)
    else:
        run = authors_code.hfunction_run(fl2o, f.inputs, f.targets, x0, iterations, **kwargs)
    entry = {"summed": run.summed_loss}
    if run.c:
        entry["c_final"] = c_summary(run.c[-1])
    return entry


def one_task(fl2o, task_name: str, scale: str, seeds: list[int], transfer: str | None = None) -> dict:
    """Train on task_name (h2 or least squares) and test there, or, with ``transfer`` (h3), test the h₂-trained
    models on h3 problems against static baselines grid-searched on h3 (cfgd.l2o.generalizes)."""
    base = config_for(task_name, scale)
    task = base.task if transfer is None else replace(base.task, name=transfer)
    started = time.perf_counter()
    theirs = {}
    for seed in seeds:
        if task_name == "least-squares":
            their_config = authors_code.least_squares_config(fl2o, task.d, task.m, task.iterations, base.runs,
                                                             base.unroll, base.lr)
        else:
            their_config = authors_code.hfunction_config(fl2o, task_name, task.iterations, base.runs, base.unroll,
                                                         base.lr, seed)
        theirs[seed] = authors_code.meta_train(fl2o, their_config, seed)
        print(f"  {task_name} seed {seed}: their meta-training {theirs[seed].seconds:.0f} s", flush=True)
    ours = {}
    for name, switch in SWITCHES[task_name].items():
        configs = [variant(base, switch, seed) for seed in seeds]
        t0 = time.perf_counter()
        for seed, outcome in zip(seeds, meta_train_many(configs)):
            ours[(name, seed)] = outcome
        print(f"  {task_name}: our meta-training '{name}' {time.perf_counter() - t0:.0f} s", flush=True)
    starts = ("zeros", "normal") if task_name == "least-squares" else ("zeros",)
    result = {"task": task.describe() + ("" if transfer is None else f" (trained on {task_name})"),
              "runs": base.runs, "unroll": base.unroll, "meta_lr": base.lr, "seeds": seeds,
              "their_seconds": {s: theirs[s].seconds for s in seeds}, "their_best_run": {s: theirs[s].best_run
                                                                                       for s in seeds},
              "our_seconds": {f"{n}/{s}": log["seconds"] for (n, s), (_, log) in ours.items()}, "starts": {}}
    for start in starts:
        per_seed = {}
        for seed in seeds:
            validation, tests = instances(task, seed, start)
            row: dict = {}
            their_model = theirs[seed].best if task_name == "least-squares" else theirs[seed].final
            row["theirs"] = [their_run(fl2o, task_name, f, x0, task.iterations, l2o=their_model) for f, x0 in tests]
            for name, switch in SWITCHES[task_name].items():
                model = ours[(name, seed)][0]
                rule_task = replace(variant(base, switch, seed).task, name=task.name)  # its step rule, the test task
                row[f"ours:{name}"] = [our_run(model, rule_task, f, x0, seed, i) for i, (f, x0) in enumerate(tests)]
            rules = ("default", "layerwise") if task_name == "h2" else ("default",)
            for kind in ("NA", "AT"):
                for rule in rules:
                    rule_task = replace(task, step_rule=rule) if rule != "default" else task
                    best, _ = grid_search_static(replace(rule_task, start=start), validation, kind, GRID, seed=seed)
                    params = {k: v for k, v in best.items() if k != "mean_summed_loss"}
                    suffix = "" if rule == "default" else "_layerwise"
                    row[f"our_{kind.lower()}{suffix}"] = static_tests(rule_task, tests, kind, params, seed)
                    row[f"our_{kind.lower()}{suffix}_params"] = params
                if start == "zeros" and transfer is None:
                    torch.manual_seed(seed)
                    row[f"their_{kind.lower()}"] = [their_run(fl2o, task_name, f, x0, task.iterations,
                                                              static=THEIR_STATIC[task_name][kind.lower()])
                                                    for f, x0 in tests]
            per_seed[seed] = row
        result["starts"][start] = per_seed
    result["seconds"] = time.perf_counter() - started
    return result


def static_tests(task: TaskConfig, tests: list, kind: str, params: dict, seed: int) -> list[dict]:
    """One static configuration on the test problems (AT terminals from manual_seed(seed + i)): batched when the
    step rule allows it, else run_static per problem."""
    from implementations.cfgd.training import batchable, run_static

    generators = [torch.Generator().manual_seed(seed + i) for i in range(len(tests))]
    if batchable(task, tests):
        runs = run_static_batch(task, tests, kind, [params], lambda L: generators)
        return [{"summed": math.inf if d is not None else float(s)} for d, s in zip(runs.diverged_at, runs.summed_loss)]
    out = []
    for (f, x0), generator in zip(tests, generators):
        run = run_static(task, f, x0, kind, params, generator)
        out.append({"summed": math.inf if run.diverged_at is not None else run.summed_loss})
    return out


def mean_summed(entries: list[dict]) -> float:
    return float(np.mean([e["summed"] for e in entries]))


def report(results: list[dict]) -> str:
    """Markdown tables of the ratios (median [95% interval] over seeds) and where the learned c ends."""
    lines = []
    for result in results:
        for task_name, block in result["tasks"].items():
            seeds = block["seeds"]
            for start, per_seed in block["starts"].items():
                lines += [f"### {block['task']}, {block['runs']} meta-training runs (unroll {block['unroll']}, "
                          f"meta-lr {block['meta_lr']}), test from x⁰ = {'0' if start == 'zeros' else 'N(0, I)'}"
                          + (" (H-functions: default initialisation)" if task_name != "least-squares" else ""), "",
                          f"Seeds {seeds}; 3 test problems each; summed loss Σ_t f(x^(t)), t = 0..T. "
                          "Median [95% bootstrap interval] over seeds.", "",
                          "| ratio | median [95% interval] | per seed |", "|---|---|---|"]
                rows = per_seed.values()
                methods = [k for k in next(iter(rows)) if not k.endswith("_params")]

                def ratio(top: str, bottom, rows=rows, lines=lines) -> None:
                    values = []
                    for row in rows:
                        below = min(mean_summed(row[b]) for b in bottom) if isinstance(bottom, tuple) \
                            else mean_summed(row[bottom])
                        values.append(mean_summed(row[top]) / below)
                    interval = seed_interval(values)
                    label = bottom if isinstance(bottom, str) else " or ".join(bottom)
                    lines.append(f"| {top} / {label} | {describe_interval(interval).split(' (')[0]} | "
                                 f"{', '.join(f'{v:.3g}' for v in values)} |")

                ratio("theirs", "our_na")
                ratio("theirs", "our_at")
                if "their_na" in methods:
                    ratio("theirs", "their_na")
                    ratio("theirs", "their_at")
                    ratio("their_na", "our_na")
                if "our_na_layerwise" in methods:
                    ratio("theirs", ("our_na_layerwise", "our_at_layerwise"))
                    if "their_na" in methods:
                        ratio("their_na", "our_na_layerwise")
                    ratio("our_na_layerwise", "our_na")
                for method in methods:
                    if method.startswith("ours:"):
                        ratio(method, ("our_na", "our_at"))
                if "our_na_layerwise" in methods:
                    for method in methods:
                        if method.startswith("ours:"):
                            ratio(method, ("our_na_layerwise", "our_at_layerwise"))
                for method in methods:
                    if method.startswith("ours:"):
                        ratio(method, "theirs")
                lines += ["", "| learned c at the last step (mean over coordinates; per seed, mean over the tests) "
                          "| per seed |", "|---|---|"]
                for method in methods:
                    if method == "theirs" or method.startswith("ours:"):
                        values = [np.mean([e["c_final"]["mean"] for e in row[method] if "c_final" in e])
                                  for row in rows]
                        extremes = [(min(e["c_final"]["min"] for e in row[method]),
                                     max(e["c_final"]["max"] for e in row[method])) for row in rows]
                        lines.append(f"| {method} | " + ", ".join(f"{v:.3g} [{lo:.3g}, {hi:.3g}]"
                                                                   for v, (lo, hi) in zip(values, extremes)) + " |")
                lines.append("")
            lines.append("Their meta-training per seed (s): "
                         + ", ".join(f"{float(v):.0f}" for v in block["their_seconds"].values())
                         + f"; their early-stopping run per seed: {list(block['their_best_run'].values())}; the "
                         f"whole task took {block['seconds'] / 60:.1f} min.")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theirs", help="the prepared copy (benchmarks/prepare_theirs_cfgd.sh)")
    parser.add_argument("--scale", choices=("quick", "reduced"), default="quick")
    parser.add_argument("--tasks", nargs="+", default=["least-squares", "h2"], choices=("least-squares", "h2"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--transfer", choices=("h3",), help="test the h2-trained models on this H-function")
    parser.add_argument("--json", help="write the per-seed results here")
    parser.add_argument("--report", nargs="+", help="print the markdown of these JSON files and exit")
    args = parser.parse_args()
    if args.report:
        print(report([json.load(open(path)) for path in args.report]))
        return
    torch.set_num_threads(1)
    fl2o = authors_code.load(args.theirs or authors_code.find_copy() or ".theirs-cfgd")
    load_before = os.getloadavg()[0]
    result = {"scale": args.scale, "commit": authors_code.commit(fl2o), "torch": torch.__version__, "tasks": {}}
    for task_name in args.tasks:
        if args.transfer and task_name != "h2":
            continue
        label = task_name if not args.transfer else f"{task_name}->{args.transfer}"
        result["tasks"][label] = one_task(fl2o, task_name, args.scale, args.seeds, args.transfer)
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(result, handle, default=float)
    result["load_average_before_after"] = [load_before, os.getloadavg()[0]]
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, default=float)
    print(report([json.loads(json.dumps(result, default=float))]))


if __name__ == "__main__":
    main()
