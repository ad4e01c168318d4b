"""cfgd.na.fixed-point: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch

from implementations.cfgd.quadratic import na_cfgd, shift_matrix_diagonal, tikhonov_point
from verify.claims.cfgd._theory import draw_na_instances, na_distance_bound, random_na_instances
from verify.margins.cfgd import precision
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, summarize

SPEC = ClaimSpec("cfgd.na.fixed-point",
                 "NA-CFGD converges to the Tikhonov point (A+G)x* = Gc − b, G = diag(γ⊙r), not to argmin f "
                 "unless γ = 0 or c = argmin f",
                 "derived", "property+sweep", "holds", "THEORY.md §1.3; Shin et al.", dtypes=("float32", "float64"),
                 scales={"batch": (2000, 20000), "sweep_instances": (10000, 100000)})

#: The sweep's dimension and horizon (enough for q^T ≤ 2e-5 at the sweep's worst κ(A + G) ≈ 180; the margins'
#: bound holds at every T)
SWEEP_DIM, SWEEP_STEPS = 5, 1000


def fixed_point_margins(A, b, x0, alpha, beta, c, steps: int) -> dict:
    """Run NA-CFGD with η = 2/(λ_min + λ_max) of A + G per instance and return the margins (derived):
    convergence: ‖x_T − x*‖ − :func:`na_distance_bound`;
    offset: the identity (A+G)(x* − x_min) = G(c − x_min) gives ‖x_T − x_min‖ = ‖(A+G)⁻¹G(c − x_min)‖ up to
    ‖x_T − x*‖ plus the solves' forward errors 4d eps (κ(A)‖x_min‖(1 + ‖G‖/λ_min(A+G)) + κ(A+G)‖offset‖).
    Batched over the leading dimension."""
    g = shift_matrix_diagonal(A, alpha, beta)
    shifted = A + torch.diag_embed(g)
    eigenvalues = torch.linalg.eigvalsh(shifted)
    lmin, lmax = eigenvalues[..., 0], eigenvalues[..., -1]
    lr = 2 / (lmin + lmax)
    run = na_cfgd(A, b, x0, alpha, beta, c, lr, steps, keep_trajectory=False)
    star = tikhonov_point(A, b, alpha, beta, c)
    bound = na_distance_bound(A, b, x0, g, c, star, lr, steps)
    distance = (run.final - star).norm(dim=-1)
    minimiser = -torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)
    offset_formula = torch.linalg.solve(shifted, (g * (c - minimiser)).unsqueeze(-1)).squeeze(-1).norm(dim=-1)
    offset_measured = (run.final - minimiser).norm(dim=-1)
    a_eigenvalues = torch.linalg.eigvalsh(A)
    kappa_a = a_eigenvalues[..., -1] / a_eigenvalues[..., 0]
    d = A.shape[-1]
    solve_errors = 4 * d * precision(A)[0] * (kappa_a * minimiser.norm(dim=-1) * (1 + g.abs().amax(-1) / lmin)
                                  + (lmax / lmin) * offset_formula)
    return dict(convergence_margin=distance - bound, distance=distance, bound=bound,
                offset_measured=offset_measured, offset_formula=offset_formula, diverged=run.diverged,
                offset_margin=(offset_measured - offset_formula).abs() - bound - solve_errors,
                offset_tolerance=bound + solve_errors)


def _sweep_margins(batch: dict) -> torch.Tensor:
    """The convergence and offset conditions of :func:`fixed_point_margins` (SWEEP_STEPS steps) relative to their
    bounds, per instance: max(‖x_T − x*‖/bound, |‖x_T − x_min‖ − offset formula|/tolerance) − 1, +inf where the run
    diverged."""
    margins = fixed_point_margins(*(batch[k] for k in ("A", "b", "x0", "alpha", "beta", "c")), SWEEP_STEPS)
    offset_error = (margins["offset_measured"] - margins["offset_formula"]).abs()
    worst = torch.maximum(margins["distance"] / margins["bound"], offset_error / margins["offset_tolerance"]) - 1
    return torch.where(margins["diverged"], torch.full_like(worst, torch.inf), worst)


def _fixed_point_sweep(ctx: Context) -> dict:
    """:func:`_sweep_margins` on ctx.scale("sweep_instances") random instances with A + G ≻ 0 (draw_na_instances:
    d = 5, A's eigenvalues in [1, 10], β ∈ [−0.3, 0.8] raised where needed), in ctx.dtype on ctx.device; the worst
    re-checked on its own in float64 on the CPU."""
    host = {"dtype": torch.float64, "device": "cpu"}
    return {f"d={SWEEP_DIM}": batched_sweep(
        ctx, ctx.scale("sweep_instances"), draw_na_instances(SWEEP_DIM, (1.0, 10.0), (-0.3, 0.8), DRAW_LIKE),
        _sweep_margins, stream="fixed-point-sweep",
        recheck=lambda i: float(_sweep_margins({k: torch.tensor([v], **host) for k, v in i.items()})))}


@check(SPEC.id)
def na_fixed_point(ctx: Context) -> Evidence:
    """NA-CFGD x ← x − η[(A+G)x + b − Gc] converges to the Tikhonov point (A+G)x* = Gc − b, G = diag(γ⊙r),
    and x* = argmin f iff G(c − argmin f) = 0, e.g. γ = 0 or c = argmin f (derived; Shin et al. state
    Tikhonov convergence).

    Sweep: batched random instances (d = 5, A eigenvalues in [1, 10], α ∈ [0.05, 0.95], β ∈ [−0.3, 0.8],
    c, b, x0 ~ N(0, I)), kept if A + G ≻ 0 (λ_min ≥ 0.05); η = 2/(λ_min + λ_max), T = 4000 steps. Margins of
    :func:`fixed_point_margins` must be ≤ 0: the contraction bound plus accumulated round-off. Special cases:
    β = (1−α)/(2−α) (γ = 0) and c = argmin f must land on argmin f; generic ones must not (offset > bound).
    Sweep: the convergence and offset margins on 10⁴ (quick) / 10⁵ (full) further random instances (d = 5, A's
    eigenvalues in [1, 10], β ∈ [−0.3, 0.8] raised where needed so that A + G ⪰ 0.1 λ_min(A), T = 1000 steps), in
    batches in ctx.dtype; the worst re-checked in float64 on the CPU.
    """
    gen = ctx.torch_generator()
    batch, d, steps = ctx.scale("batch"), 5, 4000
    A, b, c, x0, alpha, beta = random_na_instances(batch, d, (1.0, 10.0), (-0.3, 0.8), gen, ctx.like)
    shifted_min = torch.linalg.eigvalsh(A + torch.diag_embed(shift_matrix_diagonal(A, alpha, beta)))[..., 0]
    keep = shifted_min >= 0.05
    A, b, c, x0, alpha, beta = (t[keep] for t in (A, b, c, x0, alpha, beta))
    generic = fixed_point_margins(A, b, x0, alpha, beta, c, steps)
    gamma_zero = fixed_point_margins(A, b, x0, alpha, (1 - alpha) / (2 - alpha), c, steps)
    minimiser = -torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)
    c_at_minimiser = fixed_point_margins(A, b, x0, alpha, beta, minimiser, steps)
    worst = {
        "generic_convergence_margin": float(generic["convergence_margin"].max()),
        "generic_offset_margin": float(generic["offset_margin"].max()),
        "gamma_zero_distance_to_argmin_margin":
            float((gamma_zero["offset_measured"] - gamma_zero["offset_tolerance"]).max()),
        "c_at_argmin_distance_to_argmin_margin":
            float((c_at_minimiser["offset_measured"] - c_at_minimiser["offset_tolerance"]).max()),
    }
    generic_not_argmin = generic["offset_measured"] > generic["offset_tolerance"]
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_fixed_point_sweep(ctx))
    holds = (all(v <= 0 for v in worst.values()) and bool(generic_not_argmin.all())
             and not bool(generic["diverged"].any()) and sweep_violations == 0)
    worst_index = int(generic["convergence_margin"].argmax())
    counterexample = sweep_counterexample
    if counterexample is None and not holds:
        counterexample = {"A": A[worst_index].tolist(), "b": b[worst_index].tolist(), "c": c[worst_index].tolist(),
                          "x0": x0[worst_index].tolist(), "alpha": alpha[worst_index].tolist(),
                          "beta": beta[worst_index].tolist(), "steps": steps,
                          "margin": max(max(worst.values()), 0.0)}
    return Evidence(holds=holds, counterexample=counterexample,
                    numbers=worst | {"instances": int(keep.sum()), "rejected_not_pd": int((~keep).sum()),
                                     "steps": steps,
                                     "min_generic_offset": float(generic["offset_measured"].min()),
                                     "worst_distance_over_bound": float((generic["distance"] / generic["bound"]).max()),
                                     "max_distance_to_tikhonov": float(generic["distance"].max()),
                                     **sweep_numbers},
                    tables={"sweep": sweep_table},
                    notes="generic instances converge to the Tikhonov point, which differs from argmin f")
