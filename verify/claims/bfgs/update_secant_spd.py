"""bfgs.update.secant-spd: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from implementations.bfgs import inverse_bfgs_update
from theory import bfgs as theory
from verify.margins.bfgs import draw_secant_spd, secant_spd_margin, secant_spd_margins
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import spd_matrices, vectors
from verify.sweep import DRAW_LIKE, summarize, sweep_dimensions

SPEC = ClaimSpec("bfgs.update.secant-spd",
                 "the inverse BFGS update satisfies H⁺y = s and stays SPD iff yᵀs > 0",
                 "derived", "symbolic+property+sweep", "holds", "THEORY.md §2.2",
                 scales={"sweep_instances": (10000, 1000000)})

DIMS = (2, 5, 8)  # the sweep's dimensions, a third of the instances each


@st.composite
def _spd_with_vectors(draw, dims=(2, 5), cond_max=1e4, count=2, bound=10.0):
    dim = draw(st.integers(*dims))
    H = draw(spd_matrices(dim, cond_max=cond_max))
    return (H,) + tuple(draw(vectors(dim, bound)) for _ in range(count))


def _secant_sweep(ctx: Context) -> dict:
    """secant_spd_margins on ctx.scale("sweep_instances") instances, a third each at d = 2, 5, 8, the worst of each
    re-checked by secant_spd_margin in float64 on the CPU."""
    return sweep_dimensions(ctx, "secant", DIMS, lambda dim: draw_secant_spd(dim, DRAW_LIKE),
                            lambda b: secant_spd_margins(b["H"], b["s"], b["y"]),
                            recheck=lambda i: secant_spd_margin((i["H"], i["s"], i["y"])))


def _safeguards(ctx: Context) -> dict:
    """The safeguards on ctx.scale("sweep_instances") // 3 instances of draw_secant_spd at d = 5 (their own stream):
    'skip' fires exactly when yᵀs ≤ 10⁻¹⁰‖s‖‖y‖ (its default curvature_eps) and 'damp' returns an SPD H⁺."""
    batch = draw_secant_spd(5, DRAW_LIKE)(ctx.scale("sweep_instances") // 3, ctx.torch_generator("secant-safeguards"))
    H, s, y = (batch[k].to(**ctx.like) for k in ("H", "s", "y"))
    ys = (s * y).sum(-1)
    _, fired_skip = inverse_bfgs_update(H, s, y, "skip")
    skip_exact = bool((fired_skip == (ys <= 1e-10 * s.norm(dim=-1) * y.norm(dim=-1))).all())
    H_damped, fired_damp = inverse_bfgs_update(H, s, y, "damp")
    return dict(safeguard_instances=len(ys), negative_curvature_instances=int((ys < 0).sum()),
                skip_fires_exactly_when_ys_nonpositive=skip_exact, damp_fired=int(fired_damp.sum()),
                damped_updates_all_spd=bool((torch.linalg.eigvalsh(H_damped)[:, 0] > 0).all()))


@check(SPEC.id)
def secant_spd(ctx: Context) -> Evidence:
    """Inverse BFGS update H⁺ = (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ: H⁺y = s, and H⁺ ≻ 0 iff yᵀs > 0 (derived;
    N&W Eq. 6.17). Symbolic: sympy reduces H⁺y − s and yᵀH⁺y − yᵀs to 0 for generic symmetric H (so
    yᵀs ≤ 0 ⇒ y witnesses non-definiteness). Property: hypothesis over SPD H (κ ≤ 10⁴, d ≤ 5) and s, y.
    Sweep: the same margin (secant_spd_margins: the secant residual and λ_min(H⁺) against the sign of yᵀs,
    tolerance 16·d·eps times the update's scale) on 10⁴ (quick) / 10⁶ (full) random instances in batches (d = 2,
    5, 8, κ(H) ≤ 10⁴, s and y of random scales in [10⁻², 10²], yᵀs of either sign), the worst of each dimension
    re-checked in float64 on the CPU. The safeguards, on a third as many instances at d = 5: 'skip' fires
    exactly when yᵀs ≤ 10⁻¹⁰‖s‖‖y‖ and 'damp' always returns an SPD H⁺."""
    secant_symbolic = theory.inverse_bfgs_secant_residual(3)
    curvature_symbolic = theory.inverse_bfgs_curvature_along_y(2)
    symbolic_ok = all(v == 0 for v in secant_symbolic) and curvature_symbolic == 0
    result = ctx.search(_spd_with_vectors(), lambda inst: secant_spd_margin(inst, like=ctx.like), max_examples=200)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_secant_sweep(ctx))
    safeguards = _safeguards(ctx)
    holds = (symbolic_ok and not result.found and sweep_violations == 0
             and safeguards["skip_fires_exactly_when_ys_nonpositive"] and safeguards["damped_updates_all_spd"])
    numbers = dict(symbolic_zero=symbolic_ok, property_examples=result.examples_tried,
                   property_worst_margin=result.worst_margin_seen, **sweep_numbers, **safeguards)
    counterexample = None
    if sweep_violations:
        counterexample = sweep_counterexample
    elif result.found:
        H0, s0, y0 = result.counterexample
        counterexample = dict(H=H0.tolist(), s=s0.tolist(), y=y0.tolist(), margin=result.margin)
    elif not holds:
        counterexample = dict(safeguards, margin=1.0)
    return Evidence(holds=holds, numbers=numbers, counterexample=counterexample, tables={"sweep": sweep_table},
                    notes="margins ≤ 0 mean the secant equation and the SPD-iff-yᵀs>0 statement held within round-off "
                          "(relative to the update's scale S_H)")
