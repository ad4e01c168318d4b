"""bfgs.cwss.spectral-stability: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch

from implementations.bfgs import FixedSteps, cwss_bfgs
from implementations.bfgs.stability import spectral_stability_bound, spectral_stability_threshold
from implementations.problems.quadratic import random_spd
from verify.margins.bfgs import (
    draw_spectral,
    implementation_spectral_bounds,
    spd_inverse,
    spectral_bounds,
    spectral_margin,
    spectral_margins,
)
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, summarize, sweep_dimensions
from verify.tightness import Tightness

SPEC = ClaimSpec("bfgs.cwss.spectral-stability",
                 "for a quadratic and H ≠ A⁻¹, the largest δ keeping ρ(I − PHA) < 1 for all ‖P−I‖ ≤ δ, vs a derived "
                 "bound",
                 "derived", "tightness+sweep", "measure", "THEORY.md §2.2",
                 scales={"dim": (4, 6), "rho_tolerance": (0.002, 0.0005), "starts": (32, 128), "steps": (40, 100),
                         "conditions": ((10.0, 100.0), (10.0, 100.0, 1000.0)), "sweep_instances": (10000, 1000000)},
                 tightness={"largest δ with ρ(I−PHA)<1, κ(A)=*, H=A^-1": ("tight", 0.01),
                            "largest δ with ρ(I−PHA)<1, κ(A)=*, H=A^-1 perturbed *": ("lower", 0.01),
                            "largest δ with ρ(I−PHA)<1, κ(A)=*, H=BFGS H_2": (("lower", "tight"), None)})


def _spectral_sweep(ctx: Context) -> dict:
    """spectral_margins on ctx.scale("sweep_instances") instances, a third each at d = 2, 4, 8, the worst of each
    re-checked with the implementation's bound in float64 on the CPU."""
    return sweep_dimensions(ctx, "spectral", (2, 4, 8), lambda dim: draw_spectral(dim, DRAW_LIKE),
                            lambda b: spectral_margins(b["A"], b["H"], b["t"], b["u"]),
                            recheck=lambda i: spectral_margin((i["A"], i["H"], i["t"], i["u"]),
                                                              bound=implementation_spectral_bounds))


@check(SPEC.id)
def spectral_stability(ctx: Context) -> Evidence:
    """Quadratic with Hessian A and H ≠ A⁻¹: the largest δ with ρ(I − PHA) < 1 for all ‖P − I‖_∞ ≤ δ,
    found by search (bisection on δ, ascent of ρ over the box from vertices and random starts: an upper
    estimate of the true threshold), vs the bound derived in implementations.bfgs.stability:
    δ < max[(1 − ‖I − S‖₂)/(√κ(A)‖S‖₂), (1 − ‖I − HA‖₂)/‖HA‖₂], S = A^{1/2}HA^{1/2} (derived).
    Tightness kind 'lower' (the bound claims threshold ≥ bound); rtol = 2× the bisection tolerance
    relative to the threshold. H: A⁻¹ (threshold 1, D4), A⁻¹ perturbed by ε, and BFGS iterates H_k.
    Sweep: the bound's promise ρ(I − PHA) < 1 for every ‖P − I‖_∞ < bound (spectral_margins, the bound batched as
    verify.margins.bfgs.spectral_bounds, which must agree with the implementation's on the cases above to 1e-9)
    on 10⁴ (quick) / 10⁶ (full) random instances in batches (d = 2, 4, 8; κ(A) ≤ 10³; H = A^{−1/2}(I + εE)A^{−1/2},
    ε ∈ [10⁻⁶, 0.9]; δ = t·bound, t ∈ [0, 1); P inside the box or at its vertices), the worst of each dimension
    re-checked in float64 on the CPU with the implementation's bound. A violation would refute the
    derived bound: the record is then refuted (against this claim's 'measure'), with the instance."""
    gen = ctx.torch_generator()
    dim = ctx.scale("dim")
    tol = ctx.scale("rho_tolerance")
    starts, steps = ctx.scale("starts"), ctx.scale("steps")
    rows, table, bound_pairs = [], [], []
    for cond in ctx.scale("conditions"):
        A = random_spd(dim, cond, gen, **ctx.like)
        A_inv = spd_inverse(A)
        E = ctx.randn(dim, dim, generator=gen)
        E = (E + E.T) / 2
        E = E / torch.linalg.matrix_norm(E, 2)
        root_inv = torch.linalg.cholesky(A_inv)
        candidates = {"A^-1": A_inv}
        for eps in (0.1, 0.3):
            candidates[f"A^-1 perturbed eps={eps}"] = root_inv @ (torch.eye(dim, **ctx.like) + eps * E) @ root_inv.T
        from implementations.problems.quadratic import Quadratic

        problem = Quadratic.create(A, ctx.randn(dim, generator=gen))
        trace = cwss_bfgs(problem, torch.zeros(dim, **ctx.like), FixedSteps(ctx.tensor(1.0)), 2, cond_every=0)
        candidates["BFGS H_2"] = trace.H[0]
        for name, H in candidates.items():
            H = (H + H.T) / 2
            bound = spectral_stability_bound(H, A)
            bound_pairs.append((H, A))
            found, witness = spectral_stability_threshold(H, A, tol=tol, starts=starts, steps=steps, generator=gen)
            record = Tightness(f"largest δ with ρ(I−PHA)<1, κ(A)={cond:g}, H={name}", bound=bound["bound"],
                               worst=found, kind="lower", rtol=2 * tol / max(found, tol),
                               method="bisection + Adam ascent of ρ", evaluations=starts * steps)
            rows.append(record.as_row())
            table.append(dict(kappa_A=cond, H=name, found_threshold=found, bound=bound["bound"],
                              a_norm_bound=bound["a_norm"], two_norm_bound=bound["two_norm"],
                              rho_at_P_I=bound["rho_unperturbed"], witness_P=witness.tolist(),
                              interval_0_2_sufficient=found >= 1 - tol))
    violated = sum(row["label"] == "violated" for row in rows)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_spectral_sweep(ctx))
    batched = spectral_bounds(torch.stack([H for H, _ in bound_pairs]), torch.stack([A for _, A in bound_pairs]))
    agreement = max(abs(float(b) - t["bound"]) for b, t in zip(batched, table))  # bounds lie in [0, 1]
    agrees = agreement <= 1e-9
    holds = None if sweep_violations == 0 and agrees else False
    counterexample = sweep_counterexample if sweep_violations else None if agrees else dict(
        batched_bound_difference=agreement, margin=agreement)
    return Evidence(holds=holds, counterexample=counterexample, tables={"tightness": rows, "thresholds": table,
                                                                        "sweep": sweep_table}, numbers=dict(
        dim=dim, cases=len(rows), bound_violations=violated, **sweep_numbers,
        batched_bound_max_difference=agreement,
        cases_where_interval_0_2_is_not_enough=sum(not t["interval_0_2_sufficient"] for t in table),
        min_found_threshold=min(t["found_threshold"] for t in table)),
        notes="a found threshold below 1 means some P ∈ (0,2)^d makes I − PHA unstable for that H ≠ A⁻¹")
