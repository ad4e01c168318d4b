"""Claims about the authors' code variants and about L2O-CFGD (THEORY.md §1.3–1.4).

cfgd.hutchinson.abs-bias, cfgd.code.sign-for-x-below-c (code vs derived), cfgd.l2o.static-reduction
(derived), and the empirical claims cfgd.l2o.beats-static / generalizes / alpha-schedule (paper §4),
cfgd.l2o.oracle-schedule (a model-free reference) and cfgd.l2o.authors-code (the authors' own meta-training side by
side), which meta-train at a reduced scale at the quick budget (stated in Evidence.numbers[... "scale"]) and at the
paper's scale at the full budget, at the seeds seeds_for(budget, seed) with verdicts from intervals over seeds.
The seeds' models are meta-trained as one stacked program (training.meta_train_many) and cached per process, so
the empirical claims share them, and checkpointed under the run's cache_dir, so an interrupted run resumes.

Helpers shared by several of the claims of this package."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace

import numpy as np
import torch

from implementations.cfgd import authors_code, batched, stacked
from implementations.cfgd.training import (
    MetaTrainConfig,
    StaticGrid,
    TaskConfig,
    batchable,
    grid_search_static,
    meta_train_many,
    paper_config,
    reduced_config,
    rollout,
    run_static,
    run_static_batch,
)
from verify.cache import cache_file, cached_result, is_remembered, remember, remembered
from verify.cluster import spread
from verify.intervals import describe_interval, interval_verdict, seed_interval, seeds_for
from verify.registry import Context, Evidence

EPS = float(np.finfo(np.float64).eps)


def quick_config(task: str, kind: str) -> MetaTrainConfig:
    """The quick-budget scale: reduced_config, with least squares at 50 iterations and 20 runs and the
    H-functions with a 1–20–1 MLP (the paper's: 1–50–1) on 100 points, 40 iterations and 15 runs, so that five
    seeds of every model, grid search and oracle fit the quick budget."""
    config = reduced_config(task, kind)
    if task == "least-squares":
        return replace(config, task=replace(config.task, iterations=50), runs=20)
    return replace(config, task=replace(config.task, hidden=20, iterations=40), runs=15)


def quick_grid() -> StaticGrid:
    """3 × 3 × 3 NA and 2 × 3 × 3 AT configurations, containing the authors' kept values where they fit."""
    return StaticGrid(alphas=(0.1, 0.6, 0.95), betas=(-1.0, 0.0, 0.3), terminals=(-0.5, 0.0, 1.0), histories=(1, 4))


def experiment_config(ctx: Context, task: str, kind: str, seed: int | None = None) -> MetaTrainConfig:
    config = quick_config(task, kind) if ctx.quick else paper_config(task, kind)
    return replace(config, seed=ctx.seed if seed is None else seed)


def trained(ctx: Context, task: str, kind: str = "cfgd", seed: int | None = None,
            config: MetaTrainConfig | None = None):
    """(model, log) meta-trained per ``config`` (default: the budget's config of task/kind at ``seed``, default
    ctx.seed), cached per process and, when the run has a cache_dir, checkpointed there (meta_train's
    checkpoint_path): an interrupted run resumes the training, and a finished one is loaded. A missing default
    model is trained together with the other seeds' (seeds_for) as one stacked program (meta_train_many).
    log["seconds"]: the training time summed over the runs that did it (an interrupted training counts each part)."""
    config = config or experiment_config(ctx, task, kind, seed)
    if not is_remembered(ctx, f"cfgd-trained-{config!r}"):
        seeds = sorted({config.seed, *seeds_for(ctx.budget, ctx.seed)})
        wanted = [config] + [replace(config, seed=s) for s in seeds if s != config.seed]
        missing = [c for c in wanted if not is_remembered(ctx, f"cfgd-trained-{c!r}")]
        paths = [cache_file(ctx, f"cfgd-{task}-{c.kind}", repr(c)) for c in missing]
        for c, outcome in zip(missing, meta_train_many(missing, paths)):
            remember(ctx, f"cfgd-trained-{c!r}", outcome)
    return remembered(ctx, f"cfgd-trained-{config!r}", lambda: None)


#: The meta-training groups (task, kind) of the empirical claims, the longest first (h₂ L2O-CFGD, least-squares
#: L2O-CFGD, least-squares LSTM, h₂ LSTM: benchmarks/cfgd_meta_train_seeds.md), so that a cluster's workers
#: finish them close together.
MODELS = (("h2", "cfgd"), ("least-squares", "cfgd"), ("least-squares", "lstm"), ("h2", "lstm"))
#: The claim whose scales (validation and test problems) the shared evaluations use; the others declare the same.
EVALUATION_SCALES = "cfgd.l2o.beats-static"


def prefetch(ctx: Context, models, evaluations=()) -> None:
    """Meta-train the ``models`` ((task, kind) pairs, at every seed of the budget), then run the ``evaluations``
    ((train task, test task) pairs of :func:`evaluate_all`), each as a piece of verify.cluster.spread keyed by the
    run's cache folder, budget, seed, device and dtype: on a cluster (--jobs, --scheduler) the pieces run side by
    side on the workers, and a piece that another claim already asked for is waited for, not computed again; in
    a serial run they are computed here, one after another. Either way the claim then reads them from the run's
    cache (:func:`trained`, :func:`evaluate_all`), with the same numbers. Without a cache folder nothing is done
    here: the claim computes what it needs in turn."""
    if not ctx.cache_dir:
        return
    shared = replace(ctx, claim_id=EVALUATION_SCALES, figure_dir=None)
    folder = hashlib.sha256(ctx.cache_dir.encode()).hexdigest()[:12]
    run = f"{ctx.budget}-{ctx.seed}-{ctx.device}-{ctx.dtype_name}-{folder}"
    spread(_meta_train_piece, [(shared, task, kind) for task, kind in models], "CFGD meta-trainings (task × model)",
           keys=[f"cfgd-meta-train-{task}-{kind}-{run}" for task, kind in models])
    spread(_evaluation_piece, [(shared, train, test) for train, test in evaluations], "CFGD evaluations",
           keys=[f"cfgd-evaluation-{train}-{test}-{run}" for train, test in evaluations])


def _meta_train_piece(piece) -> None:
    ctx, task, kind = piece
    trained(ctx, task, kind)


def _evaluation_piece(piece) -> None:
    ctx, train_task, test_task = piece
    evaluate_all(ctx, train_task, test_task)


def test_rollouts(task: TaskConfig, models: list, tests: list[list], seeds: list[int],
                  keep_terminals: bool = False) -> list[list[dict]]:
    """Each model on its seed's test problems: per model, per test {"summed", "final" (inf if diverged),
    "c_final" (where the learned c ends, with keep_terminals)}. One stacked program (implementations.cfgd.stacked)
    for all models × tests when the models and problems allow it, else rollout per test (generator seed + i)."""
    flat = [(m, f, x0) for m, problems in zip(range(len(models)), tests) for f, x0 in problems]
    fs = [f for _, f, _ in flat]
    results: list[list[dict]] = [[] for _ in models]
    if all(stacked.supported(m) for m in models) and batched.supports_batching(fs) and batchable(task, tests[0]):
        weights = stacked.stack_weights(models)
        rows = torch.tensor([m for m, _, _ in flat])
        generators = [torch.Generator().manual_seed(seeds[m] + i)
                      for m, problems in enumerate(tests) for i in range(len(problems))]
        run = stacked.stacked_rollout(models[0], weights, rows, batched.stack_problems(fs),
                                      torch.stack([x0 for _, _, x0 in flat]), task.iterations, task.step_size(),
                                      keep_records=keep_terminals, generators=generators)
        for r, (m, _, _) in enumerate(flat):
            done = run.diverged_at[r] is None
            entry = {"summed": run.summed_loss(r) if done else math.inf,
                     "final": run.losses[r][-1] if done else math.inf}
            if keep_terminals and run.records:
                c = run.records[len(run.losses[r]) - 2]["c"][r]
                entry["c_final"] = {"mean": float(c.mean()), "median": float(c.median()), "min": float(c.min()),
                                    "max": float(c.max())}
            results[m].append(entry)
        return results
    for m, (model, problems, seed) in enumerate(zip(models, tests, seeds)):
        for i, (f, x0) in enumerate(problems):
            r = rollout(model, f, x0, task.iterations, task.step_size(), keep_records=keep_terminals,
                        generator=torch.Generator().manual_seed(seed + i))
            entry = {"summed": math.inf if r.diverged_at else r.summed_loss,
                     "final": math.inf if r.diverged_at else r.losses[-1]}
            if keep_terminals and r.records:
                entry["c_final"] = terminal_summary(r.records)
            results[m].append(entry)
    return results


def instances(ctx: Context, task: TaskConfig, seed: int, start: str | None = None) -> tuple[list, list]:
    """(validation, test) problems of seed ``seed``: drawn from instance_seed(10_000) under that seed, as many as the
    claim's scales "validation_problems" and "test_problems" say. start: override the task's x⁰ convention (least
    squares)."""
    if start is not None:
        task = replace(task, start=start)
    gen = torch.Generator().manual_seed(replace(ctx, seed=seed).instance_seed(10_000))
    validation = [task.make(gen) for _ in range(ctx.scale("validation_problems"))]
    tests = [task.make(gen) for _ in range(ctx.scale("test_problems"))]
    return validation, tests


def static_test_runs(task: TaskConfig, tests: list, variant: str, params: dict, seed: int) -> list[tuple]:
    """(summed, final) loss of one static configuration on each test problem ((inf, inf) if it diverged); AT's
    initial terminals of test i from torch.Generator().manual_seed(seed + i). Batched when batchable."""
    def generators(history):
        return [torch.Generator().manual_seed(seed + i) for i in range(len(tests))]

    if batchable(task, tests):
        runs = run_static_batch(task, tests, variant, [params], generators)
        return [(math.inf, math.inf) if d is not None else (float(s), float(fl))
                for d, s, fl in zip(runs.diverged_at, runs.summed_loss, runs.final_loss)]
    results = []
    for (f, x0), generator in zip(tests, generators(params.get("history", 1))):
        run = run_static(task, f, x0, variant, params, generator)
        results.append((math.inf, math.inf) if run.diverged_at else (run.summed_loss, run.losses[-1]))
    return results


def _static_params(best: dict) -> dict:
    return {k: v for k, v in best.items() if k != "mean_summed_loss"}


def best_static(ctx: Context, task: TaskConfig, validation: list, seed: int) -> dict:
    """The grid-searched best NA and AT configurations on the validation problems (grid: quick_grid at the quick
    budget, StaticGrid() at the full one), each with its mean summed loss."""
    grid = quick_grid() if ctx.quick else StaticGrid()
    return {variant.lower(): grid_search_static(task, validation, variant, grid, seed=seed)[0]
            for variant in ("NA", "AT")}


def terminal_summary(records) -> dict:
    """Where the learned terminal c ends: mean, median, min and max over coordinates at the last step."""
    c = records[-1].c
    return {"mean": float(c.mean()), "median": float(c.median()), "min": float(c.min()), "max": float(c.max())}


def evaluate_all(ctx: Context, train_task: str, test_task: str) -> dict[int, dict]:
    """Per seed (seeds_for): summed and final loss of L2O-CFGD and the LSTM baseline (meta-trained on train_task
    at that seed) and of the best grid-searched NA- and AT-CFGD (searched on test_task's validation problems of
    that seed), on each of that seed's held-out test_task problems; mean summed/final losses; for least squares
    where the learned c ends. The models' test runs of all seeds are one stacked program. Cached per process and
    in the run's cache folder (plain data), so the claims that read one evaluation from other worker processes
    (cfgd.l2o.beats-static and cfgd.l2o.oracle-schedule under --jobs) or a resumed run compute it once."""
    seeds = seeds_for(ctx.budget, ctx.seed)
    name = (f"cfgd-evaluation-{ctx.budget}-{'-'.join(map(str, seeds))}-{train_task}-{test_task}-"
            f"{ctx.scale('validation_problems')}-{ctx.scale('test_problems')}")
    return remembered(ctx, name, lambda: cached_result(ctx, name,
                                                       lambda: _evaluate_all(ctx, train_task, test_task, seeds)))


def _evaluate_all(ctx: Context, train_task: str, test_task: str, seeds: list[int]) -> dict[int, dict]:
    task = experiment_config(ctx, test_task, "cfgd", seeds[0]).task
    data = {seed: instances(ctx, task, seed) for seed in seeds}
    runs = {}
    for kind in ("cfgd", "lstm"):
        models = [trained(ctx, train_task, kind, seed) for seed in seeds]
        runs[kind] = test_rollouts(task, [m for m, _ in models], [data[seed][1] for seed in seeds], seeds,
                                   keep_terminals=kind == "cfgd" and test_task == "least-squares")
        runs[f"{kind}_seconds"] = [log["seconds"] for _, log in models]
    results = {}
    for index, seed in enumerate(seeds):
        validation, tests = data[seed]
        best = best_static(ctx, task, validation, seed)
        methods = {"l2o_cfgd": [(e["summed"], e["final"]) for e in runs["cfgd"][index]],
                   "lstm": [(e["summed"], e["final"]) for e in runs["lstm"][index]]}
        for variant in ("NA", "AT"):
            methods[f"{variant.lower()}_cfgd"] = static_test_runs(task, tests, variant,
                                                                  _static_params(best[variant.lower()]), seed)
        summary = {name: {"mean_summed_loss": float(np.mean([s for s, _ in v])),
                          "mean_final_loss": float(np.mean([fl for _, fl in v]))} for name, v in methods.items()}
        config = experiment_config(ctx, train_task, "cfgd", seed)
        results[seed] = {
            "summary": summary, "per_problem": {name: [s for s, _ in v] for name, v in methods.items()},
            "best_static": best, "train_seconds": runs["cfgd_seconds"][index] + runs["lstm_seconds"][index],
            "learned_c_final_step": [e["c_final"] for e in runs["cfgd"][index] if "c_final" in e],
            "scale": {"task": task.describe(), "trained_on": config.task.describe(), "runs": config.runs,
                      "unroll": config.unroll, "meta_lr": config.lr, "hessian": config.hessian,
                      "test_problems": len(tests), "validation_problems": len(validation)}}
    return results


def _ratios(summary: dict) -> dict:
    ours = summary["l2o_cfgd"]["mean_summed_loss"]
    return {f"l2o/{name}": ours / summary[name]["mean_summed_loss"] for name in ("na_cfgd", "at_cfgd", "lstm")}


def interval_evidence(intervals: dict[str, dict], claim: str, threshold: float = 1.0) -> tuple[bool | None, dict]:
    """The verdict of a conjunction "every interval lies below (claim="below") / above the threshold":
    False when some interval lies entirely on the wrong side, True when all lie on the right side, None
    otherwise; with the wrong-side intervals (each with its margin to the threshold)."""
    verdicts = {label: interval_verdict(interval, threshold, claim) for label, interval in intervals.items()}
    wrong = {label: {**intervals[label], "margin": (intervals[label]["low"] - threshold if claim == "below"
                                                    else threshold - intervals[label]["high"])}
             for label, verdict in verdicts.items() if verdict is False}
    if wrong:
        return False, wrong
    return (True if all(v is True for v in verdicts.values()) else None), {}


def _empirical_verdict(results: dict[str, dict[int, dict]], what: str, seeds: list[int]) -> Evidence:
    """results[label][seed] = evaluate_task(...): intervals over seeds of l2o/na_cfgd and l2o/at_cfgd (the
    verdict) and l2o/lstm (reported); holds iff every verdict interval lies below 1."""
    numbers: dict = {"seeds": seeds}
    rows, intervals = [], {}
    for label, per_seed in results.items():
        ratios = {seed: _ratios(res["summary"]) for seed, res in per_seed.items()}
        for name in ("l2o/na_cfgd", "l2o/at_cfgd", "l2o/lstm"):
            interval = seed_interval([ratios[seed][name] for seed in seeds])
            numbers[f"{label}: {name}"] = interval
            if name != "l2o/lstm":
                intervals[f"{label}: {name}"] = interval
        numbers[f"{label}: best_static per seed"] = {seed: res["best_static"] for seed, res in per_seed.items()}
        numbers[f"{label}: scale"] = next(iter(per_seed.values()))["scale"]
        for seed, res in per_seed.items():
            for name, vals in res["summary"].items():
                rows.append({"task": label, "seed": seed, "method": name, **vals})
    holds, wrong = interval_evidence(intervals, "below")
    summary = "; ".join(f"{label} {describe_interval(iv)}" for label, iv in intervals.items())
    notes = f"median ratio [95% bootstrap interval] over seeds {seeds} ({what}): {summary}"
    if holds is False:
        return Evidence(holds=False, numbers=numbers, tables={"losses": rows},
                        counterexample={**wrong, "margin": max(w["margin"] for w in wrong.values())},
                        notes=f"L2O-CFGD did not beat both static baselines: {notes}")
    return Evidence(holds=holds, numbers=numbers, tables={"losses": rows}, inconclusive=holds is None, notes=notes)


def authors_scale(ctx: Context) -> dict:
    """The sizes at which the authors' code is meta-trained: at the quick budget our quick least-squares scale
    (d = m = 20, 50 iterations, 20 runs, unroll 20, meta-lr 3e-3); at the full budget a reduced paper scale
    (least squares d = m = 100, 200 iterations, 200 runs, unroll 20, meta-lr 1e-3; h₂ 1–50–1 on 100 points, 100
    iterations, 100 runs, unroll 40, meta-lr 3e-4), with ours meta-trained at the same sizes."""
    if ctx.quick:
        config = quick_config("least-squares", "cfgd")
        return {"least-squares": config}
    ls = paper_config("least-squares", "cfgd")
    h2 = paper_config("h2", "cfgd")
    return {"least-squares": replace(ls, task=replace(ls.task, iterations=200), runs=200),
            "h2": replace(h2, task=replace(h2.task, iterations=100), runs=100)}


def _authors_encode(result: dict) -> dict:
    return json.loads(json.dumps(result, default=float))


def authors_evaluation(ctx: Context, seed: int) -> dict:
    """At one seed, on least squares (and h₂ at the full budget): the authors' L2O-CFGD meta-trained by their own
    meta_train (their notebook's configuration, their draws of problems, x⁰ ~ N(0, I), their early-stopping
    selection), and ours meta-trained at the same sizes; both, and our best static NA/AT (grid-searched on the
    validation problem from the same start), on our test problems from x⁰ = 0 (and, at the full budget, from
    x⁰ ~ N(0, I)); their static NA-/AT-CFGD (their notebook's kept values: CFGD_ClosedForm_v2 on least squares,
    their general CFGD on h₂) on the x⁰ = 0 problems; the learned terminal c at the last step. Cached per process
    and in the run's cache folder (plain data)."""
    name = f"cfgd-authors-code-{ctx.budget}-{seed}"
    return remembered(ctx, name, lambda: cached_result(ctx, name, lambda: _authors_encode(_authors_compute(ctx, seed))))


#: Their notebook's kept static configurations on least squares (scripts/least_squares.ipynb, CFGD_ClosedForm_v2).
THEIR_STATIC_LS = {"na": {"cls": "CFGD_ClosedForm_v2", "alpha": 0.6, "beta": 0.3, "c": 1.0, "version": "NA"},
                   "at": {"cls": "CFGD_ClosedForm_v2", "alpha": 0.1, "beta": 0.0, "c": None, "version": "AT", "L": 4}}


#: Their notebook's kept static configurations on h₂ (scripts/h_funcs.ipynb, their general CFGD).
THEIR_STATIC_H2 = {"na": {"alpha": 0.95, "beta": 0.0, "c": -5.0, "version": "NA"},
                   "at": {"alpha": 0.2, "beta": -5.0, "c": None, "version": "AT", "L": 1}}


def _authors_compute(ctx: Context, seed: int) -> dict:
    fl2o = authors_code.load(authors_code.find_copy())
    result: dict = {"commit": authors_code.commit(fl2o)}
    for task_name, config in authors_scale(ctx).items():
        config = replace(config, seed=seed)
        task = config.task
        if task_name == "least-squares":
            their_config = authors_code.least_squares_config(fl2o, task.d, task.m, task.iterations, config.runs,
                                                             config.unroll, config.lr)
        else:
            their_config = authors_code.hfunction_config(fl2o, task_name, task.iterations, config.runs,
                                                         config.unroll, config.lr, seed)
        theirs = authors_code.meta_train(fl2o, their_config, seed)
        ours, ours_log = trained(ctx, task_name, "cfgd", config=config)
        # x⁰ ~ N(0, I) (their notebook's start) at the full budget; the quick budget's time allows x⁰ = 0 only
        starts = ((("zeros",) if ctx.quick else ("zeros", "normal")) if task_name == "least-squares" else (None,))
        for start in starts:
            validation, tests = instances(ctx, task, seed, start=start)
            best = best_static(ctx, replace(task, start=start or "zeros"), validation, seed)
            block = {"per_problem": {"theirs_l2o": [], "ours_l2o": []}, "their_c_final": [], "our_c_final": [],
                     "best_static": best}
            for i, (f, x0) in enumerate(tests):
                if task_name == "least-squares":
                    run = authors_code.least_squares_run(fl2o, f.A.T, f.y, x0, task.iterations, l2o=theirs.best)
                else:
                    run = authors_code.hfunction_run(fl2o, f.inputs, f.targets, x0, task.iterations, l2o=theirs.final)
                block["per_problem"]["theirs_l2o"].append(run.summed_loss)
                block["their_c_final"].append({"mean": float(np.mean(run.c[-1])), "median": float(np.median(run.c[-1])),
                                               "min": float(np.min(run.c[-1])), "max": float(np.max(run.c[-1]))})
                mine = rollout(ours, f, x0, task.iterations, task.step_size(), keep_records=True,
                               generator=torch.Generator().manual_seed(seed + i))
                block["per_problem"]["ours_l2o"].append(math.inf if mine.diverged_at else mine.summed_loss)
                if mine.records:
                    block["our_c_final"].append(terminal_summary(mine.records))
            for variant in ("NA", "AT"):
                runs = static_test_runs(task, tests, variant, _static_params(best[variant.lower()]), seed)
                block["per_problem"][f"our_{variant.lower()}"] = [s for s, _ in runs]
            if start in ("zeros", None):
                statics = THEIR_STATIC_LS if task_name == "least-squares" else THEIR_STATIC_H2
                for name, spec in statics.items():
                    torch.manual_seed(seed)
                    block["per_problem"][f"their_{name}"] = [
                        (authors_code.least_squares_run(fl2o, f.A.T, f.y, x0, task.iterations, static=spec)
                         if task_name == "least-squares" else
                         authors_code.hfunction_run(fl2o, f.inputs, f.targets, x0, task.iterations, static=spec)
                         ).summed_loss for f, x0 in tests]
            block["training"] = {"their_seconds": theirs.seconds, "our_seconds": ours_log["seconds"],
                                 "their_best_run": theirs.best_run, "runs": config.runs,
                                 "task": task.describe(), "unroll": config.unroll, "meta_lr": config.lr}
            label = start if task_name == "least-squares" else task_name
            result[label] = block
    return result
