"""bfgs.cwss.interval-not-sufficient: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from verify.margins.bfgs import EPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import spd_matrices, vectors

SPEC = ClaimSpec("bfgs.cwss.interval-not-sufficient",
                 "'every p_i ∈ (0,2) ⇒ gᵀPHg > 0' for a general SPD H (D0: false; a counterexample must be found)",
                 "derived", "property", "fails", "THEORY.md §2.1 D0", devices=("cpu",),
                 scales={"sweep_instances": (10000, 100000)})


@st.composite
def _descent_instance(draw):
    H = draw(spd_matrices(2, cond_max=1e3, scale_low=1.0, scale_high=1.0))
    p = np.array([draw(st.floats(0.0, 2.0, exclude_min=True, exclude_max=True)) for _ in range(2)])
    g = draw(vectors(2, 10.0))
    return H, p, g


def _non_descent_margin(instance) -> float:
    """−gᵀPHg/(‖g‖²‖H‖) − 8·eps: positive ⇔ −PHg is not a descent direction beyond round-off."""
    H, p, g = instance
    gg = float(g @ g)
    if gg == 0:
        return -1.0
    return -float(g @ (p * (H @ g))) / (gg * float(np.linalg.norm(H, 2))) - 8 * EPS


@check(SPEC.id)
def interval_not_sufficient(ctx: Context) -> Evidence:
    """D0 (derived): "every p_i ∈ (0, 2) ⇒ gᵀPHg > 0" is FALSE for a general SPD H. Hypothesis searches
    2-D instances (H with λ_min = 1, κ ≤ 10³; p ∈ (0, 2)²; g) for gᵀPHg < 0 and shrinks the one it finds;
    the counterexample is re-checked in plain numpy. Also checked (sweeps of 10⁴ instances): the versions
    that do hold — a scalar P = pI, p ∈ (0, 2), and a diagonal H always give descent."""
    result = ctx.search(_descent_instance(), _non_descent_margin, max_examples=2000)
    gen = ctx.rng
    n = ctx.scale("sweep_instances")
    d = 4
    g = gen.standard_normal((n, d))
    q, _ = np.linalg.qr(gen.standard_normal((n, d, d)))
    lam = np.exp(gen.uniform(-4, 4, (n, d)))
    H = np.einsum("nij,nj,nkj->nik", q, lam, q)
    p_scalar = gen.uniform(1e-3, 2 - 1e-3, (n, 1))
    scalar_margin = np.einsum("ni,nij,nj->n", g, H, g) * p_scalar[:, 0]
    p_diag = gen.uniform(1e-3, 2 - 1e-3, (n, d))
    diagonal_margin = np.einsum("ni,ni,ni,ni->n", g, p_diag, lam, g)
    versions = [
        dict(version="p_i ∈ (0,2), general SPD H ⇒ descent", verdict="refuted" if result.found else "not refuted",
             where="this claim (hypothesis counterexample)"),
        dict(version="scalar P = pI, p ∈ (0,2) ⇒ descent", verdict="holds" if scalar_margin.min() > 0 else "refuted",
             where=f"sweep of {n}: min pgᵀHg = {scalar_margin.min():.3g}"),
        dict(version="diagonal H, p_i ∈ (0,2) ⇒ descent", verdict="holds" if diagonal_margin.min() > 0 else "refuted",
             where=f"sweep of {n}: min Σ p_i h_i g_i² = {diagonal_margin.min():.3g}"),
        dict(version="δ < 1/κ(H) ⇒ descent (D1)", verdict="see bfgs.cwss.descent-condition", where="vertex search"),
        dict(version="δ < 2√κ/(κ+1) (≥ 1/√κ) ⇒ descent (derived here, sharp)",
             verdict="see bfgs.cwss.descent-condition", where="vertex search"),
        dict(version="H = A⁻¹ on a quadratic, p_i ∈ (0,2) ⇒ every error coordinate contracts (D4)",
             verdict="see bfgs.cwss.exact-hessian-contraction", where="sympy + property"),
        dict(version="H ≠ A⁻¹, p_i ∈ (0,2) ⇒ ρ(I − PHA) < 1", verdict="see bfgs.cwss.spectral-stability",
             where="largest safe δ < 1 found"),
    ]
    if not result.found:
        return Evidence(inconclusive=True, numbers=dict(examples=result.examples_tried,
                                                        worst_margin=result.worst_margin_seen),
                        tables={"versions": versions}, notes="no counterexample found within the search budget")
    H0, p0, g0 = result.counterexample
    value = float(g0 @ (p0 * (H0 @ g0)))
    eig = np.linalg.eigvalsh(H0)
    counterexample = dict(H=H0.tolist(), p=p0.tolist(), g=g0.tolist(), gT_P_H_g=value,
                          eigenvalues_H=eig.tolist(), margin=result.margin,
                          recheck="numpy: g @ (p * (H @ g)) < 0 with p in (0,2) and H SPD")
    return Evidence(holds=False, counterexample=counterexample, tables={"versions": versions},
                    numbers=dict(examples_tried=result.examples_tried, gT_P_H_g=value,
                                 kappa_H=float(eig[-1] / eig[0]), delta=float(np.abs(p0 - 1).max())),
                    notes="D0 confirmed: p ∈ (0,2) alone does not make −PHg a descent direction")
