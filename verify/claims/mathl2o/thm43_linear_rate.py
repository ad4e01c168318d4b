"""mathl2o.thm43.linear-rate: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import numpy as np

from implementations.mathl2o import QP, MathL2O, train
from implementations.mathl2o.constants import flat_parameters
from implementations.mathl2o.experiments import loss_rtol
from implementations.progress import tracked
from theory import mathl2o as theory
from verify.claims.mathl2o._shared import SMALL, _constants, _small_qp, certified_search
from verify.figures import figure_path, pyplot, save
from verify.ratefit import fit_rate
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.thm43.linear-rate",
                 "when the hypotheses hold, the training loss contracts at least as fast as the Theorem 4.3 rate",
                 "paper+reconstructed", "rate-fit", "holds", "paper Thm 4.3",
                 scales={"certified_instances": (3, 10), "iters": (40, 200), "rate_iters": (150, 1000)},
                 unbatched="each instance is an SGD training of the network (40–200 steps) on an instance certified "
                           "to satisfy Eq. 13 (mathl2o.thm43.hypotheses-satisfiable), checked at every iterate; the "
                           "certified instances are enumerated")


def _thm43_run(ctx: Context, depth: int, e: float, iters: int, seed: int) -> dict:
    c = _constants(ctx, depth, e, seed)
    eta = theory.eq14_lr_bound(c.gamma, c.lipschitz, c.loss0)
    qp = _small_qp(seed, ctx.like)
    history = train(MathL2O(SMALL["width"], e, depth, seed=seed, **ctx.like), qp, SMALL["T"], eta, iters)
    rho_bound = theory.thm43_rate(eta, c.mu0)
    losses = np.array(history.losses)
    envelope = losses[0] * rho_bound ** np.arange(losses.size)
    excess = losses / envelope - 1 - loss_rtol(qp, SMALL["T"])
    fit = fit_rate(losses) if history.diverged_at is None else None
    return {"depth": depth, "e": e, "eta": eta, "mu0": c.mu0, "rho_bound": rho_bound,
            "hypotheses_hold": theory.eq13_margin(c.mu0, c.gamma, c.lipschitz, c.loss0) >= 0,
            "max_excess": float(excess.max()), "worst_k": int(excess.argmax()), "fit": fit.as_dict() if fit else None,
            "diverged_at": history.diverged_at, "losses": history.losses}


def _loss_floor(qp: QP, T: int) -> float:
    """½(loss_rtol·‖Y‖)²: the absolute round-off level of F(X_T) (residual entries accurate to loss_rtol·‖Y‖)."""
    return 0.5 * (loss_rtol(qp, T) * float(qp.Y.norm())) ** 2


def _certified_run(row: dict, eta: float, iters: int, like: dict) -> dict:
    """Train the certified instance ``row`` (T = 1, depth 2) at η for ``iters`` SGD steps (``like``: the
    ``dtype=`` and ``device=``); the Theorem 4.3 envelope 𝓕_k ≤ ρ^k𝓕₀(1 + rtol) + floor, ρ = 1 − ημ₀/2, and
    whether every iterate stays in B(θ₀, R)."""
    qp = QP.random(row["N"], row["d"], row["b"], seed=row["seed"], **like)
    model = MathL2O(row["width"], row["e"], 2, seed=row["seed"], **like)
    theta0 = flat_parameters(model)
    distances = []
    history = train(model, qp, 1, eta, iters,
                    callback=lambda k, m, loss, grads: distances.append(float((flat_parameters(m) - theta0).norm())))
    distances.append(float((flat_parameters(model) - theta0).norm()))  # the last iterate
    rho = theory.thm43_rate(eta, row["mu0"])
    losses = np.array(history.losses)
    floor, rtol = _loss_floor(qp, 1), loss_rtol(qp, 1)
    envelope = losses[0] * rho ** np.arange(losses.size)
    excess = (losses - envelope * (1 + rtol) - floor) / np.maximum(envelope, floor)
    try:
        fit = fit_rate(losses, floor=100 * floor).as_dict()
    except ValueError:  # fewer than 4 losses above the round-off level: the loss reached it within 3 steps
        fit = None
    above = losses[losses > 100 * floor]
    ratios = above[1:] / above[:-1]
    return {"shape": [row["N"], row["d"], row["b"]], "e": row["e"], "seed": row["seed"], "eta": eta,
            "mu0": row["mu0"], "rho_bound": rho, "max_excess": float(excess.max()), "worst_k": int(excess.argmax()),
            "largest_step_ratio": float(ratios.max()) if ratios.size else math.nan,
            "steps_above_floor": int(above.size), "rho_fit": fit["rho"] if fit else math.nan,
            "rho_fit_low": fit["rho_low"] if fit else math.nan, "rho_fit_high": fit["rho_high"] if fit else math.nan,
            "max_distance_over_R": max(distances) / row["radius"] if distances else 0.0,
            "diverged_at": history.diverged_at, "losses": history.losses}


@check(SPEC.id)
def thm43_linear_rate(ctx: Context) -> Evidence:
    """Reconstructed Theorem 4.3 (derivation §4): under Eqs. 13–14, θ_k stays in B(θ₀, R) and
    𝓕(W^k) ≤ (1 − ημ₀/2)^k 𝓕(W⁰). Checked on the instances where the hypotheses are CERTIFIED to hold
    (mathl2o.thm43.hypotheses-satisfiable (a): T = 1, depth 2; the first certified instance of each shape at the
    quick budget, all of them at the full one), at η = the certified Eq. 14 value and at a tenth of it, K = 40
    (quick) / 200 (full) SGD steps: every 𝓕_k against the envelope with the relative round-off
    loss_rtol and the absolute floor ½(loss_rtol·‖Y‖)², the distance ‖θ_k − θ₀‖ against R, the largest per-step
    ratio 𝓕_{k+1}/𝓕_k above 100× the floor and the fitted contraction factor (verify.ratefit, 95% CI) against
    1 − ημ₀/2. Verdict: refuted by a certified run that leaves the envelope or the ball; verified when at least
    one certified run exists and none does; inconclusive when no instance is certified. The runs of the
    small instance set (N = 2, d = 4, b = 3, T = 3; Eq. 13 fails there) are recorded as observations."""
    iters = ctx.scale("iters")
    witnesses = [r for r in certified_search(ctx) if r["eq13_holds"]]
    if ctx.quick:
        witnesses = [r for i, r in enumerate(witnesses)
                     if (r["N"], r["d"], r["b"]) not in {(w["N"], w["d"], w["b"]) for w in witnesses[:i]}]
    runs = [_certified_run(r, eta, iters, ctx.like) for r in tracked(witnesses, "Theorem 4.3: certified instances")
            for eta in (r["lr_bound"], r["lr_bound"] / 10)]
    violations = [r for r in runs
                  if r["max_excess"] > 0 or r["max_distance_over_R"] > 1 or r["diverged_at"] is not None]
    observations = [_thm43_run(ctx, depth, e, ctx.scale("rate_iters"), ctx.instance_seed(1))
                    for depth in (3, 2) for e in (10.0, 100.0)]
    step_ratio = max((r["largest_step_ratio"] / r["rho_bound"] for r in runs if math.isfinite(r["largest_step_ratio"])),
                     default=math.nan)
    table = [{k: v for k, v in r.items() if k != "losses"} for r in runs]
    observed = [{k: v for k, v in r.items() if k not in ("losses", "fit")} for r in observations]
    figures = []
    path = figure_path(ctx, "mathl2o_thm43_training_loss.png")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for r in runs[:8]:
            ax.semilogy(r["losses"], label=f"{tuple(r['shape'])}, e={r['e']:g}, η={r['eta']:.2g}")
            ax.semilogy(r["losses"][0] * r["rho_bound"] ** np.arange(len(r["losses"])), ":", color="gray", lw=0.8)
        ax.set_xlabel("SGD step k"), ax.set_ylabel("F(X_T) at W^k (dotted: Thm 4.3 bound)")
        ax.legend(fontsize=5)
        figures.append(save(fig, path, dpi=120))
    holds = None if not runs else not violations
    fits = [r for r in runs if math.isfinite(r["rho_fit"])]
    return Evidence(
        holds=holds, inconclusive=holds is None,
        numbers={"certified_instances": len(witnesses), "runs": len(runs),
                 "runs_leaving_envelope_or_ball": len(violations),
                 "largest_excess": max((r["max_excess"] for r in runs), default=math.nan),
                 "largest_step_ratio_over_rho_bound": step_ratio,
                 "rho_fit_high_over_rho_bound_max": max((r["rho_fit_high"] / r["rho_bound"] for r in fits),
                                                        default=math.nan),
                 "rho_bounds": [r["rho_bound"] for r in runs], "rho_fits": [r["rho_fit"] for r in runs],
                 "small_set_runs_with_hypotheses": sum(r["hypotheses_hold"] for r in observations)},
        counterexample=None if holds is not False else {
            "run": {k: violations[0][k] for k in ("shape", "e", "seed", "eta", "mu0", "rho_bound", "worst_k",
                                                  "max_distance_over_R")},
            "losses": violations[0]["losses"][: violations[0]["worst_k"] + 1], "margin": violations[0]["max_excess"]},
        tables={"certified_runs": table, "small_set_observations": observed}, figures=figures,
        notes=("certified instances (T = 1, depth 2; mathl2o.thm43.hypotheses-satisfiable) of shapes "
               f"{sorted({tuple(r['shape']) for r in runs})}; the largest per-step ratio 𝓕_(k+1)/𝓕_k above the "
               f"round-off floor is {step_ratio:.3g} × (1 − ημ₀/2). On the small set (Eq. 13 fails there) ρ_bound is "
               f"{min(r['rho_bound'] for r in observations):.12f} or closer to 1.")
        if runs else "no certified instance: the theorem is vacuous on every instance searched.")
