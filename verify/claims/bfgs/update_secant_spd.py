"""bfgs.update.secant-spd: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from implementations.bfgs import inverse_bfgs_formula, inverse_bfgs_update
from theory import bfgs as theory
from verify.margins.bfgs import EPS, instance_tensor
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import spd_matrices, vectors

SPEC = ClaimSpec("bfgs.update.secant-spd",
                 "the inverse BFGS update satisfies H⁺y = s and stays SPD iff yᵀs > 0",
                 "derived", "property", "holds", "THEORY.md §2.2",
                 scales={"sweep_instances": (10000, 100000)})


@st.composite
def _spd_with_vectors(draw, dims=(2, 5), cond_max=1e4, count=2, bound=10.0):
    dim = draw(st.integers(*dims))
    H = draw(spd_matrices(dim, cond_max=cond_max))
    return (H,) + tuple(draw(vectors(dim, bound)) for _ in range(count))


def _secant_spd_margin(H, s, y, like: dict | None = None) -> float:
    """Largest violation among: secant residual, λ_min(H⁺) > 0 if yᵀs > 0, λ_min(H⁺) ≤ yᵀs/‖y‖² if yᵀs < 0.

    Tolerance: H⁺'s entries carry errors ≤ 16·d·eps·S_H with S_H = ‖H‖(1 + |ρ|‖s‖‖y‖)² + |ρ|‖s‖²
    (products of d-term sums in the three factors of the update); instances with |yᵀs| ≤ 10⁻³‖s‖‖y‖
    (ρ ill-conditioned) are excluded. ``like``: as in :func:`instance_tensor`.
    """
    H, s, y = instance_tensor(H, like), instance_tensor(s, like), instance_tensor(y, like)
    ys = float(y @ s)
    ns, ny = float(s.norm()), float(y.norm())
    if ns == 0 or ny == 0 or abs(ys) <= 1e-3 * ns * ny:
        return -1.0
    rho = 1.0 / ys
    S_H = float(torch.linalg.matrix_norm(H, 2)) * (1 + abs(rho) * ns * ny) ** 2 + abs(rho) * ns ** 2
    tol = 16 * H.shape[0] * EPS * S_H
    H_plus = inverse_bfgs_formula(H, s, y)
    secant = float((H_plus @ y - s).norm()) - tol * ny
    lam_min = float(torch.linalg.eigvalsh(H_plus)[0])
    definiteness = -lam_min - tol if ys > 0 else lam_min - ys / ny ** 2 - tol
    return max(secant / (S_H * ny), definiteness / S_H)


@check(SPEC.id)
def secant_spd(ctx: Context) -> Evidence:
    """Inverse BFGS update H⁺ = (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ: H⁺y = s, and H⁺ ≻ 0 iff yᵀs > 0 (derived;
    N&W Eq. 6.17). Symbolic: sympy reduces H⁺y − s and yᵀH⁺y − yᵀs to 0 for generic symmetric H (so
    yᵀs ≤ 0 ⇒ y witnesses non-definiteness). Property: hypothesis over SPD H (κ ≤ 10⁴, d ≤ 5) and s, y;
    sweep: 10⁴ (quick) random instances; the safeguards: 'skip' fires exactly when yᵀs ≤ 0 and 'damp'
    always returns an SPD H⁺. Tolerances in _secant_spd_margin (16·d·eps times the update's scale)."""
    secant_symbolic = theory.inverse_bfgs_secant_residual(3)
    curvature_symbolic = theory.inverse_bfgs_curvature_along_y(2)
    symbolic_ok = all(v == 0 for v in secant_symbolic) and curvature_symbolic == 0
    result = ctx.search(_spd_with_vectors(), lambda inst: _secant_spd_margin(*inst, like=ctx.like), max_examples=200)
    n, d = ctx.scale("sweep_instances"), 5
    gen = ctx.torch_generator()
    q, _ = torch.linalg.qr(ctx.randn(n, d, d, generator=gen))
    lam = torch.exp(ctx.uniform(n, d, low=-3, high=3, generator=gen))
    H = (q * lam.unsqueeze(-2)) @ q.transpose(-1, -2)
    H = (H + H.transpose(-1, -2)) / 2
    s = ctx.randn(n, d, generator=gen)
    y = ctx.randn(n, d, generator=gen)
    ys = (s * y).sum(-1)
    keep = ys.abs() > 1e-3 * s.norm(dim=-1) * y.norm(dim=-1)
    H, s, y, ys = H[keep], s[keep], y[keep], ys[keep]
    H_plus = inverse_bfgs_formula(H, s, y)
    rho = 1 / ys
    S_H = torch.linalg.matrix_norm(H, 2) * (1 + rho.abs() * s.norm(dim=-1) * y.norm(dim=-1)) ** 2 \
        + rho.abs() * s.norm(dim=-1) ** 2
    tol = 16 * d * EPS * S_H
    secant_margin = ((H_plus @ y.unsqueeze(-1)).squeeze(-1) - s).norm(dim=-1) / y.norm(dim=-1) - tol
    lam_min = torch.linalg.eigvalsh(H_plus)[:, 0]
    spd_margin = torch.where(ys > 0, -lam_min - tol, lam_min - ys / y.norm(dim=-1) ** 2 - tol)
    sweep_worst = float(torch.maximum(secant_margin / S_H, spd_margin / S_H).max())
    _, fired_skip = inverse_bfgs_update(H, s, y, "skip")
    skip_exact = bool((fired_skip == (ys <= 1e-10 * s.norm(dim=-1) * y.norm(dim=-1))).all())
    H_damped, fired_damp = inverse_bfgs_update(H, s, y, "damp")
    damped_spd = bool((torch.linalg.eigvalsh(H_damped)[:, 0] > 0).all())
    holds = symbolic_ok and not result.found and sweep_worst <= 0 and skip_exact and damped_spd
    numbers = dict(symbolic_zero=symbolic_ok, property_examples=result.examples_tried,
                   property_worst_margin=result.worst_margin_seen, sweep_instances=int(keep.sum()),
                   sweep_worst_relative_margin=sweep_worst, negative_curvature_instances=int((ys < 0).sum()),
                   skip_fires_exactly_when_ys_nonpositive=skip_exact, damp_fired=int(fired_damp.sum()),
                   damped_updates_all_spd=damped_spd)
    counterexample = None
    if result.found:
        H0, s0, y0 = result.counterexample
        counterexample = dict(H=H0.tolist(), s=s0.tolist(), y=y0.tolist(), margin=result.margin)
    return Evidence(holds=holds, numbers=numbers, counterexample=counterexample,
                    notes="margins ≤ 0 mean the secant equation and the SPD-iff-yᵀs>0 statement held within round-off")
