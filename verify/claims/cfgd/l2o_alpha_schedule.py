"""cfgd.l2o.alpha-schedule: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np
import torch

from implementations.cfgd.training import rollout
from verify.claims.cfgd._l2o import MODELS, experiment_config, prefetch, trained
from verify.figures import pyplot, save
from verify.intervals import seed_interval, seeds_for
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.l2o.alpha-schedule",
                 "the learned α rises quickly while the loss drops, then levels off",
                 "paper", "empirical", "measure", "paper §4.1, Fig. 2", slow=True, devices=("cpu",),
                 unbatched="one learned schedule per meta-trained LSTM (minutes of training each) on a held-out "
                 "problem; the seeds are already enumerated, and the claim describes a curve's shape, not a "
                 "condition per random instance")


def _rise_time(values: np.ndarray, fraction: float) -> int:
    """First step at which values reach start + fraction·(max − start)."""
    target = values[0] + fraction * (values.max() - values[0])
    return int(np.argmax(values >= target))


def schedule_of(ctx: Context, task: str, seed: int) -> tuple[dict, dict, list[float]]:
    """The meta-trained model's schedule on a held-out problem (instance_seed(20_000) under ``seed``): summary
    numbers, per-layer mean α, β, c per step, and the losses."""
    config = experiment_config(ctx, task, "cfgd", seed)
    model, _ = trained(ctx, task, "cfgd", seed)
    f, x0 = config.task.make(torch.Generator().manual_seed(replace(ctx, seed=seed).instance_seed(20_000)))
    run = rollout(model, f, x0, config.task.iterations, config.task.step_size(), keep_records=True,
                  generator=torch.Generator().manual_seed(seed))
    layers = f.layer_slices() if hasattr(f, "layer_slices") else {"x": slice(0, x0.shape[0])}
    schedule = {name: {key: np.array([getattr(r, key)[sl].mean().item() for r in run.records])
                       for key in ("alpha", "beta", "c")} for name, sl in layers.items()}
    alpha = np.array([r.alpha.mean().item() for r in run.records])
    log_loss = np.log(np.maximum(np.array(run.losses[1:len(alpha) + 1]), 1e-300))
    drop = log_loss[0] - log_loss
    loss_t90 = int(np.argmax(drop >= 0.9 * drop.max())) if drop.max() > 0 else None
    third = max(1, len(alpha) // 3)
    summary = {"alpha_start": float(alpha[0]), "alpha_end": float(alpha[-1]), "alpha_max": float(alpha.max()),
               "alpha_t90_rise": _rise_time(alpha, 0.9), "loss_t90_drop": loss_t90,
               "alpha_std_last_third": float(alpha[-third:].std()), "steps": len(alpha),
               "final_loss": run.losses[-1], "diverged_at": run.diverged_at}
    return summary, schedule, run.losses


@check(SPEC.id)
def alpha_schedule(ctx: Context) -> Evidence:
    """Paper §4.1, Fig. 2: the learned α rises quickly while the loss drops, then levels off. Measured per seed
    (seeds_for) on a held-out least-squares problem and an h₂ problem with that seed's meta-trained models: the
    per-step mean α (per layer for the MLP), the step where α reaches 90% of its rise vs the step where the loss
    has made 90% of its drop (log scale), and α's spread over the last third; the median over seeds with a 95%
    bootstrap interval of the rise, the drop step, α's total change and the spread. Plots of α, β, c per layer
    (first seed) saved when figure_dir is set."""
    seeds = seeds_for(ctx.budget, ctx.seed)
    prefetch(ctx, [m for m in MODELS if m[1] == "cfgd"])
    numbers, figures, tables = {"seeds": seeds}, [], {}
    for task in ("least-squares", "h2"):
        per_seed = {}
        for seed in seeds:
            summary, schedule, losses = schedule_of(ctx, task, seed)
            per_seed[seed] = summary
            if seed == seeds[0]:
                tables[f"{task}: per-layer mean schedule (seed {seed}, every 10th step)"] = [
                    {"layer": name, "step": t, **{k: float(v[t]) for k, v in sched.items()}}
                    for name, sched in schedule.items() for t in range(0, summary["steps"], 10)]
                if ctx.figure_dir:
                    figures.append(_plot_schedule(ctx.figure_dir, task, schedule, losses))
        numbers[f"{task}: per seed"] = per_seed
        for key, values in (("alpha_t90_rise", [s["alpha_t90_rise"] for s in per_seed.values()]),
                            ("loss_t90_drop", [s["loss_t90_drop"] if s["loss_t90_drop"] is not None else math.inf
                                               for s in per_seed.values()]),
                            ("alpha_end - alpha_start", [s["alpha_end"] - s["alpha_start"] for s in per_seed.values()]),
                            ("alpha_std_last_third", [s["alpha_std_last_third"] for s in per_seed.values()])):
            numbers[f"{task}: {key}"] = seed_interval(values)
    return Evidence(holds=None, numbers=numbers, tables=tables, figures=figures,
                    notes="α rising 'quickly while the loss drops' reads as alpha_t90_rise ≲ loss_t90_drop; "
                          "'levels off' as a small alpha_std_last_third (intervals over the seeds).")


def _plot_schedule(directory: str, task: str, schedule: dict, losses: list[float]) -> str:
    plt = pyplot()

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.2))
    for name, sched in schedule.items():
        for ax, key in zip(axes[:3], ("alpha", "beta", "c")):
            ax.plot(sched[key], label=name)
            ax.set_title(f"learned {key} (mean per layer)")
    axes[3].semilogy(losses)
    axes[3].set_title("loss")
    axes[0].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("step")
    return save(fig, os.path.join(directory, f"cfgd_l2o_schedule_{task}.png"), dpi=90)
