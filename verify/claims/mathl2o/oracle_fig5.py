"""mathl2o.oracle.fig5: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

from implementations.mathl2o.oracle import oracle_gains
from implementations.progress import tracked
from verify.claims.mathl2o._shared import beats_gd_seeds
from verify.figures import figure_path, pyplot, save
from verify.intervals import seed_interval, seeds_for
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.oracle.fig5",
                 "on the Fig. 5 instances, the best gain over GD of any step-size rule of the model's form (T·N·d step "
                 "sizes in (0, 2) optimised directly), of the best per-step uniform schedule and of the best constant "
                 "step, beside the trained model's gain",
                 "derived", "oracle+empirical", "measure", "paper Fig. 5; THEORY.md §3.1",
                 scales={"iters": (50, 500), "train_iters": (60, 1000), "random_starts": (1, 5)},
                 unbatched="each point is an L-BFGS optimisation of T·N·d = 20 480 step sizes on the Fig. 5 instance "
                           "set, beside SGD trainings of the network; a measurement, not a batchable formula")


@check(SPEC.id)
def oracle_fig5(ctx: Context) -> Evidence:
    """An oracle bound on the learned gain (derived here; implementations.mathl2o.oracle): on the Fig. 5
    instances (N = 32, d = 32, b = 25, T = 20; the same instance seeds as mathl2o.beats-gd.fig5), the gain
    (F_GD − F)/F_GD of the best step sizes of the model's form found by L-BFGS on P = 2σ(θ) ∈ (0, 2): one P per
    step, instance and coordinate (T·N·d numbers: what any network of the model's form could at best output),
    one uniform P per step (a schedule), one constant P (tuned GD), beside the trained model's gain (the
    reference e = 100, η = 10⁻⁴ training of mathl2o.beats-gd.fig5, loaded from the run's cache when that claim
    ran first). L-BFGS: 50 (quick) / 500 (full) iterations per start, starts as oracle.oracle_gains (1 / 5 random
    schedules). Each number is a median with a bootstrap 95% interval over seeds_for(budget, seed) seeds. A local
    optimum, so each oracle gain is achieved by a valid schedule: a lower estimate of the best possible gain.
    Measured, no verdict; "share of the gap": (oracle − trained)/(oracle − GD's 0) = 1 − trained/oracle, the
    part of the reachable gain the network leaves."""
    seeds = seeds_for(ctx.budget, ctx.seed)
    iters = ctx.scale("iters")
    studies = beats_gd_seeds(ctx, 32, 32, 25, 20, 1024, (100.0, 1e-4), [], ctx.scale("train_iters"), seeds)
    per_seed = {"trained_model": [], "constant": [], "step": [], "coordinate": []}
    rows = []
    for s, study in zip(seeds, tracked(studies, "oracle step sizes: seeds")):
        gains = oracle_gains(study["qp"], 20, iters, random_starts=ctx.scale("random_starts"), seed=study["seed"])
        trained = study["runs"][0]["gain"] if study["runs"][0]["diverged_at"] is None else -math.inf
        per_seed["trained_model"].append(trained)
        for family, result in gains.items():
            per_seed[family].append(result["gain"])
        rows.append({"seed": s, "instance_seed": study["seed"], "trained_model_gain": trained,
                     **{f"{family}_gain": r["gain"] for family, r in gains.items()},
                     **{f"{family}_saturated_fraction": r["saturated_fraction"] for family, r in gains.items()},
                     "coordinate_loss": gains["coordinate"]["loss"], "gd_loss": gains["coordinate"]["gd_loss"],
                     "step_schedule": gains["step"]["P"].flatten().tolist()})
    intervals = {k: seed_interval(v) for k, v in per_seed.items()}
    gap = seed_interval([1 - t / c for t, c in zip(per_seed["trained_model"], per_seed["coordinate"])])
    figures = []
    path = figure_path(ctx, "mathl2o_oracle_fig5.png")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        labels = ["trained_model", "constant", "step", "coordinate"]
        for i, key in enumerate(labels):
            iv = intervals[key]
            ax.errorbar([i], [iv["median"]], yerr=[[iv["median"] - iv["low"]], [iv["high"] - iv["median"]]],
                        fmt="o", capsize=4)
            ax.plot([i] * len(per_seed[key]), per_seed[key], ".", color="gray", alpha=0.6)
        ax.set_xticks(range(len(labels)), ["trained\nnetwork", "best constant\nstep", "best per-step\nschedule",
                                           "best T·N·d\nstep sizes"], fontsize=7)
        lowest = min(min(v for v in values if math.isfinite(v)) for values in per_seed.values())
        ax.axhline(0, color="k", lw=0.6), ax.set_ylabel("gain over GD (dots: seeds)")
        ax.set_ylim(min(0.0, lowest) - 0.05, 1.05)
        figures.append(save(fig, path, dpi=120))
    return Evidence(
        holds=None, numbers={"seeds": seeds, "lbfgs_iterations": iters,
                             **{f"gain_{k}": v for k, v in intervals.items()}, "share_of_gap_left_by_network": gap},
        tables={"oracle": rows}, figures=figures,
        notes="gains over GD (step 0.9999/β) at T = 20; 'coordinate' is the bound for any rule of the model's "
              "form (found by L-BFGS, so a lower estimate of the supremum); *_saturated_fraction: the share of "
              "the oracle's P within 1e-3 of 0 or 2.")
