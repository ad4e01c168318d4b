"""bfgs.l2o.identity-limit: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import numpy as np

from implementations.bfgs.diagnostics import stacked_series
from implementations.bfgs.experiments import TaskResult
from verify.claims.bfgs._shared import _readable, _study
from verify.figures import figure_path, pyplot, save
from verify.intervals import describe_interval, seed_interval
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("bfgs.l2o.identity-limit",
                 "‖P_k − I‖, fraction of clipped entries and κ(B_k) along learned runs",
                 "reviewers", "empirical", "measure", "OpenReview reviews", slow=True, devices=("cpu",),
                 unbatched="it measures ‖P_k − I‖, clipping and κ(B_k) along the runs of meta-trained LSTMs (a "
                           "meta-training per task and seed, minutes each), not a formula of a random instance")


def _identity_numbers(scale, result: TaskResult) -> dict:
    """One seed's ‖P − I‖, clipping and κ(B_k) numbers of the coordinate-wise model's runs on one task."""
    traces = result.traces["l2o_cwss"]
    dev = stacked_series(traces, "p_dev_inf")
    rms = stacked_series(traces, "p_dev_fro") / np.sqrt(traces[0].x.shape[-1])
    clip = stacked_series(traces, "clip_fraction")
    cond = stacked_series(traces, "cond_H")
    scalar_dev = stacked_series(result.traces["l2o_scalar"], "p_dev_inf")
    rows = np.isfinite(cond).any(1)
    return dict(diverged_runs=sum(int((t.diverged_at >= 0).sum()) for t in traces),
                runs=sum(int(t.diverged_at.numel()) for t in traces),
                p_dev_first=float(np.nanmedian(dev[0])), p_dev_last=float(np.nanmedian(dev[-1])),
                p_dev_max=float(np.nanmax(dev)), p_dev_rms_last=float(np.nanmedian(rms[-1])),
                clip_fraction_mean=float(np.nanmean(clip)), clip_fraction_max=float(np.nanmax(clip)),
                cond_H_max=float(np.nanmax(cond)) if rows.any() else math.nan,
                cond_H_last=float(np.nanmedian(cond[rows][-1])) if rows.any() else math.nan,
                scalar_p_dev_last=float(np.nanmedian(scalar_dev[-1])))


@check(SPEC.id)
def identity_limit(ctx: Context) -> Evidence:
    """Reviewers' request: ‖P_k − I‖_∞, the fraction of clipped entries and κ(B_k) = κ(H_k) along learned
    runs (coordinate-wise model, test instances of every task; κ every iteration, every 10th on the CNN),
    and how many of these runs diverged (their series end there; medians are over the runs still going), at
    ``seeds_for(budget, seed)`` seeds: each quantity is a median over one seed's runs, reported as its median
    over seeds with a percentile-bootstrap 95% interval (verify.intervals); diverged runs are summed over the
    seeds. Plots of ‖P_k − I‖ and κ(B_k) (medians over every seed's runs) go to ctx.figure_dir. Measured."""
    scale, seeds, study = _study(ctx)
    numbers, figures, series, identity = {"scale": scale.as_dict(), "seeds": list(seeds)}, [], {}, []
    for task in study[seeds[0]]:
        per_seed = [_identity_numbers(scale, study[seed][task]) for seed in seeds]
        identity.append({"task": task, **{key: sum(p[key] for p in per_seed) if key in ("diverged_runs", "runs")
                                          else seed_interval([p[key] for p in per_seed]) for key in per_seed[0]}})
        numbers[f"{task}_p_dev_last"] = describe_interval(identity[-1]["p_dev_last"])
        numbers[f"{task}_cond_H_last"] = describe_interval(identity[-1]["cond_H_last"])
        numbers[f"{task}_diverged_runs"] = f"{identity[-1]['diverged_runs']} of {identity[-1]['runs']}"
        traces = [t for seed in seeds for t in study[seed][task].traces["l2o_cwss"]]
        series[task] = (stacked_series(traces, "p_dev_inf"), stacked_series(traces, "cond_H"))
    path = figure_path(ctx, "bfgs_identity_limit.png")
    if path:
        plt = pyplot()

        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for task, (dev, cond) in series.items():
            axes[0].semilogy(np.maximum(np.nanmedian(dev, axis=1), 1e-16), label=task)
            rows = np.isfinite(cond).any(1)
            axes[1].semilogy(np.nonzero(rows)[0] + 1, np.nanmedian(cond[rows], axis=1), marker=".", label=task)
        axes[0].set_title(f"‖P_k − I‖_∞ (median over the test runs of {len(seeds)} seeds)")
        axes[1].set_title("κ(B_k) = κ(H_k)")
        for ax in axes:
            ax.set_xlabel("iteration")
            ax.legend(fontsize=8)
        figures.append(save(fig, path, dpi=100))
    return Evidence(holds=None, numbers=numbers, figures=figures, tables={"identity_limit": _readable(identity)},
                    notes="p_dev: ‖P_k − I‖_∞; clip: fraction of entries of 2σ(o) outside the declared interval; "
                          "each quantity: median over seeds [95% bootstrap interval] of the per-seed medians")
