"""bfgs.cwss.spectral-stability: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch

from implementations.bfgs import FixedSteps, cwss_bfgs
from implementations.bfgs.stability import spectral_stability_bound, spectral_stability_threshold
from implementations.problems.quadratic import random_spd
from verify.margins.bfgs import spd_inverse
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.tightness import Tightness

SPEC = ClaimSpec("bfgs.cwss.spectral-stability",
                 "for a quadratic and H ≠ A⁻¹, the largest δ keeping ρ(I − PHA) < 1 for all ‖P−I‖ ≤ δ, vs a derived "
                 "bound",
                 "derived", "tightness", "measure", "THEORY.md §2.2",
                 scales={"dim": (4, 6), "rho_tolerance": (0.002, 0.0005), "starts": (32, 128), "steps": (40, 100),
                         "conditions": ((10.0, 100.0), (10.0, 100.0, 1000.0))},
                 tightness={"largest δ with ρ(I−PHA)<1, κ(A)=*, H=A^-1": ("tight", 0.01),
                            "largest δ with ρ(I−PHA)<1, κ(A)=*, H=A^-1 perturbed *": ("lower", 0.01),
                            "largest δ with ρ(I−PHA)<1, κ(A)=*, H=BFGS H_2": (("lower", "tight"), None)})


@check(SPEC.id)
def spectral_stability(ctx: Context) -> Evidence:
    """Quadratic with Hessian A and H ≠ A⁻¹: the largest δ with ρ(I − PHA) < 1 for all ‖P − I‖_∞ ≤ δ,
    found by search (bisection on δ, ascent of ρ over the box from vertices and random starts: an upper
    estimate of the true threshold), vs the bound derived in implementations.bfgs.stability:
    δ < max[(1 − ‖I − S‖₂)/(√κ(A)‖S‖₂), (1 − ‖I − HA‖₂)/‖HA‖₂], S = A^{1/2}HA^{1/2} (derived).
    Tightness kind 'lower' (the bound claims threshold ≥ bound); rtol = 2× the bisection tolerance
    relative to the threshold. H: A⁻¹ (threshold 1, D4), A⁻¹ perturbed by ε, and BFGS iterates H_k."""
    gen = ctx.torch_generator()
    dim = ctx.scale("dim")
    tol = ctx.scale("rho_tolerance")
    starts, steps = ctx.scale("starts"), ctx.scale("steps")
    rows, table = [], []
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
    return Evidence(holds=None, tables={"tightness": rows, "thresholds": table}, numbers=dict(
        dim=dim, cases=len(rows), bound_violations=violated,
        cases_where_interval_0_2_is_not_enough=sum(not t["interval_0_2_sufficient"] for t in table),
        min_found_threshold=min(t["found_threshold"] for t in table)),
        notes="a found threshold below 1 means some P ∈ (0,2)^d makes I − PHA unstable for that H ≠ A⁻¹")
