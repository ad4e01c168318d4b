"""bfgs.l2o.speedup: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np

from implementations.bfgs.experiments import LEARNED, LINE_SEARCHES, ORACLES, TaskResult
from verify.claims.bfgs._shared import _ratio_interval, _readable, _side_of_4, _study, _summaries
from verify.figures import figure_path, pyplot, save
from verify.intervals import describe_interval, seed_interval
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("bfgs.l2o.speedup",
                 "iterations and wall-clock to a tolerance vs BFGS+Armijo, BFGS+Wolfe, hypergradient, L-BFGS; "
                 "the paper claims up to 4×",
                 "paper", "empirical", "measure", "paper §5", slow=True, devices=("cpu",),
                 unbatched="each instance is a task's study at one seed (a meta-trained LSTM and the baselines "
                           "run to a tolerance, minutes), whose iteration and wall-clock ratios are compared over "
                           "the seeds, not a batchable formula")


def _plot_first_instance(ctx: Context, task: str, result: TaskResult, methods) -> str | None:
    """f − f* of the first test instance of the first seed for every method in ``methods``."""
    path = figure_path(ctx, f"bfgs_speedup_{task}.png")
    if not path:
        return None
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 4))
    for method in methods:
        gap = result.traces[method][0].values_with_start()[:, 0] - result.f_star[0]
        ax.semilogy(np.maximum(gap, 1e-16), label=method)
    ax.set_xlabel("iteration")
    ax.set_ylabel("f − f*")
    ax.set_title(f"{task}: first test instance of the first seed")
    ax.legend(fontsize=7)
    return save(fig, path, dpi=100)


@check(SPEC.id)
def speedup(ctx: Context) -> Evidence:
    """Paper §5 ("up to 4× faster"): iterations and wall-clock to reach (f − f*) ≤ tol·(f₀ − f*) for the
    meta-trained coordinate-wise LSTM (online updates), the learned scalar step, and the baselines (unit-step
    BFGS, BFGS + Armijo with skip or Powell damping, BFGS + strong Wolfe, hypergradient P, L-BFGS, Adam on
    the CNN), on fresh test instances of every task, at ``seeds_for(budget, seed)`` seeds (5 quick, 3 full);
    f* = the best value any method or a long Wolfe-BFGS run reached. Per seed: the ratio baseline/learned of
    the median iterations over its test instances (> 1: the learned model is faster; a method that never
    reaches tol within K iterations counts as K + 1, stated in the table), and of the median seconds (a method
    that runs batched is timed alone on one instance: TaskResult.seconds_per_iteration). Each ratio is
    reported as its median over seeds with a percentile-bootstrap 95% interval (verify.intervals).
    Measured, no verdict; the record states for each line search (Armijo, damped Armijo, Wolfe) whether the
    interval of the learned model's best ratio over the tasks (per seed the largest of the four) lies below 4,
    straddles it, or lies at or above it (interval_verdict against 4), i.e. whether "up to 4×" is reached."""
    scale, seeds, study = _study(ctx)
    summaries = _summaries(scale, seeds, study)
    rows, methods, figures = [], [], []
    for task, per_seed in summaries.items():
        names = [m for m in per_seed[0] if m not in ORACLES]
        for method in names:
            methods.append(dict(task=task, method=method, tol=per_seed[0][method]["tol"], seeds=len(seeds),
                                iterations=seed_interval([s[method]["iterations"] for s in per_seed]),
                                reached=sum(s[method]["reached"] for s in per_seed),
                                instances=sum(s[method]["instances"] for s in per_seed),
                                diverged=sum(s[method]["diverged"] for s in per_seed),
                                seconds=seed_interval([s[method]["seconds"] for s in per_seed])))
        for learned in LEARNED:
            for baseline in names:
                if baseline == learned:
                    continue
                ratio = _ratio_interval(per_seed, baseline, learned)
                rows.append(dict(task=task, learned=learned, baseline=baseline, iteration_ratio=ratio,
                                 against_4=_side_of_4(ratio),
                                 wallclock_ratio=_ratio_interval(per_seed, baseline, learned, "seconds"),
                                 learned_reached=sum(s[learned]["reached"] for s in per_seed),
                                 baseline_reached=sum(s[baseline]["reached"] for s in per_seed),
                                 instances=sum(s[learned]["instances"] for s in per_seed)))
        path = _plot_first_instance(ctx, task, study[seeds[0]][task], names)
        if path:
            figures.append(path)
    up_to_4x = []
    for baseline in LINE_SEARCHES:
        best = [max(summaries[task][i][baseline]["iterations"] / max(summaries[task][i]["l2o_cwss"]["iterations"], 1)
                    for task in summaries) for i in range(len(seeds))]
        where = [max(summaries, key=lambda t, i=i: summaries[t][i][baseline]["iterations"]
                     / max(summaries[t][i]["l2o_cwss"]["iterations"], 1)) for i in range(len(seeds))]
        interval = seed_interval(best)
        up_to_4x.append(dict(baseline=baseline, learned="l2o_cwss", best_ratio=interval,
                             against_4=_side_of_4(interval), best_task_per_seed=where, seeds=list(seeds)))
    cwss = [r for r in rows if r["learned"] == "l2o_cwss"]
    numbers = dict(scale=scale.as_dict(), seeds=list(seeds), paper_claim="up to 4x",
                   max_iteration_ratio=max(r["iteration_ratio"]["median"] for r in cwss),
                   min_iteration_ratio=min(r["iteration_ratio"]["median"] for r in cwss),
                   **{f"best_ratio_vs_{r['baseline']}": describe_interval(r["best_ratio"]) for r in up_to_4x},
                   **{f"best_ratio_vs_{r['baseline']}_against_4": r["against_4"] for r in up_to_4x})
    tables = {"up_to_4x": _readable(up_to_4x, ("best_ratio",)),
              "speedup": _readable(rows, ("iteration_ratio",)), "methods": _readable(methods)}
    return Evidence(holds=None, tables=tables,
                    figures=figures, numbers=numbers,
                    notes="ratios > 1 favour the learned model; each is the median over seeds with its 95% bootstrap "
                          "interval; the wall-clock of the learned model includes its online updates")
