"""bfgs.cwss.interval-not-sufficient: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from verify.margins.bfgs import draw_non_descent, non_descent_margin, non_descent_margins
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import spd_matrices, vectors
from verify.sweep import DRAW_LIKE, summarize, sweep_dimensions

SPEC = ClaimSpec("bfgs.cwss.interval-not-sufficient",
                 "'every p_i ∈ (0,2) ⇒ gᵀPHg > 0' for a general SPD H (D0: false; a counterexample must be found)",
                 "derived", "property+sweep", "fails", "THEORY.md §2.1 D0", devices=("cpu",),
                 scales={"sweep_instances": (10000, 1000000)})

DIMS = (2, 4, 8)  # the D0 sweep's dimensions, a third of the instances each


@st.composite
def _descent_instance(draw):
    H = draw(spd_matrices(2, cond_max=1e3, scale_low=1.0, scale_high=1.0))
    p = np.array([draw(st.floats(0.0, 2.0, exclude_min=True, exclude_max=True)) for _ in range(2)])
    g = draw(vectors(2, 10.0))
    return H, p, g


def _d0_sweep(ctx: Context) -> dict:
    """non_descent_margins (−PHg by cwss_step) on ctx.scale("sweep_instances") instances, a third each at
    d = 2, 4, 8, the worst of each re-checked by non_descent_margin in float64 on the CPU."""
    return sweep_dimensions(ctx, "d0", DIMS, lambda dim: draw_non_descent(dim, DRAW_LIKE),
                            lambda b: non_descent_margins(b["H"], b["p"], b["g"]),
                            recheck=lambda i: non_descent_margin((i["H"], i["p"], i["g"])))


def _held_versions(ctx: Context) -> tuple[int, float, float]:
    """(n, min pgᵀHg, min Σ p_i h_i g_i²) over ctx.scale("sweep_instances") numpy draws at d = 4: the versions of
    D0 that do hold (a scalar P = pI, p ∈ (0, 2), and a diagonal H = diag(h))."""
    gen = ctx.rng
    n, d = ctx.scale("sweep_instances"), 4
    g = gen.standard_normal((n, d))
    q, _ = np.linalg.qr(gen.standard_normal((n, d, d)))
    lam = np.exp(gen.uniform(-4, 4, (n, d)))
    H = np.einsum("nij,nj,nkj->nik", q, lam, q)
    p_scalar = gen.uniform(1e-3, 2 - 1e-3, (n, 1))
    scalar_margin = np.einsum("ni,nij,nj->n", g, H, g) * p_scalar[:, 0]
    p_diag = gen.uniform(1e-3, 2 - 1e-3, (n, d))
    diagonal_margin = np.einsum("ni,ni,ni,ni->n", g, p_diag, lam, g)
    return n, float(scalar_margin.min()), float(diagonal_margin.min())


def _plain_counterexample(H, p, g, margin: float, **extra) -> dict:
    """A counterexample (H, p, g) as plain lists, with gᵀPHg, H's eigenvalues and a plain-numpy re-check."""
    H, p, g = np.asarray(H), np.asarray(p), np.asarray(g)
    value = float(g @ (p * (H @ g)))
    return dict(H=H.tolist(), p=p.tolist(), g=g.tolist(), gT_P_H_g=value,
                eigenvalues_H=np.linalg.eigvalsh(H).tolist(), margin=margin,
                recheck="numpy: g @ (p * (H @ g)) < 0 with p in (0,2) and H SPD", **extra)


@check(SPEC.id)
def interval_not_sufficient(ctx: Context) -> Evidence:
    """D0 (derived): "every p_i ∈ (0, 2) ⇒ gᵀPHg > 0" is FALSE for a general SPD H. Hypothesis searches
    2-D instances (H with λ_min = 1, κ ≤ 10³; p ∈ (0, 2)²; g) for gᵀPHg < 0 and shrinks the one it finds.
    Sweep: D0's violation (non_descent_margins: gᵀv/(‖g‖²‖H‖₂) − 4d·eps, v = −PHg from cwss_step) on 10⁴ (quick)
    / 10⁶ (full) random instances in batches (d = 2, 4, 8; H with λ log-uniform on [1, 10³]; p uniform on
    (0, 2)^d; g ~ N(0, I)), counting how often p ∈ (0, 2)^d gives a non-descent direction; the worst instance,
    re-checked in float64 on the CPU and in plain numpy, is the counterexample (the hypothesis one, shrunk, is kept
    beside it). Refuted when the sweep or the search finds one. Also checked (numpy draws, as many instances as
    the sweep): the versions that do hold — a scalar P = pI, p ∈ (0, 2), and a diagonal H always give descent."""
    result = ctx.search(_descent_instance(), non_descent_margin, max_examples=2000)
    sweeps = _d0_sweep(ctx)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(sweeps)
    for row, sweep in zip(sweep_table, sweeps.values()):
        row["non_descent_fraction"] = sweep.violations / sweep.count
    n, scalar_min, diagonal_min = _held_versions(ctx)
    refuted = result.found or sweep_violations > 0
    versions = [
        dict(version="p_i ∈ (0,2), general SPD H ⇒ descent", verdict="refuted" if refuted else "not refuted",
             where=f"this claim: {sweep_violations} of {sweep_numbers['sweep_instances']} swept instances, and the "
                   "hypothesis search"),
        dict(version="scalar P = pI, p ∈ (0,2) ⇒ descent", verdict="holds" if scalar_min > 0 else "refuted",
             where=f"sweep of {n}: min pgᵀHg = {scalar_min:.3g}"),
        dict(version="diagonal H, p_i ∈ (0,2) ⇒ descent", verdict="holds" if diagonal_min > 0 else "refuted",
             where=f"sweep of {n}: min Σ p_i h_i g_i² = {diagonal_min:.3g}"),
        dict(version="δ < 1/κ(H) ⇒ descent (D1)", verdict="see bfgs.cwss.descent-condition", where="vertex search"),
        dict(version="δ < 2√κ/(κ+1) (≥ 1/√κ) ⇒ descent (derived here, sharp)",
             verdict="see bfgs.cwss.descent-condition", where="vertex search"),
        dict(version="H = A⁻¹ on a quadratic, p_i ∈ (0,2) ⇒ every error coordinate contracts (D4)",
             verdict="see bfgs.cwss.exact-hessian-contraction", where="sympy + property"),
        dict(version="H ≠ A⁻¹, p_i ∈ (0,2) ⇒ ρ(I − PHA) < 1", verdict="see bfgs.cwss.spectral-stability",
             where="largest safe δ < 1 found"),
    ]
    numbers = dict(examples_tried=result.examples_tried, property_worst_margin=result.worst_margin_seen,
                   **sweep_numbers, sweep_non_descent_fraction=sweep_violations / sweep_numbers["sweep_instances"])
    tables = {"versions": versions, "sweep": sweep_table}
    if not refuted:
        return Evidence(inconclusive=True, numbers=numbers, tables=tables,
                        notes="no counterexample found by the sweep or within the search budget")
    shrunk = None
    if result.found:
        H0, p0, g0 = result.counterexample
        shrunk = _plain_counterexample(H0, p0, g0, result.margin)
    if sweep_violations:
        worst = sweep_counterexample
        counterexample = _plain_counterexample(worst["H"], worst["p"], worst["g"], worst["margin"],
                                               sweep=worst["sweep"], float64_cpu_margin=worst["float64_cpu_margin"],
                                               hypothesis_shrunk=shrunk)
    else:
        counterexample = shrunk
    eig = counterexample["eigenvalues_H"]
    numbers.update(gT_P_H_g=counterexample["gT_P_H_g"], kappa_H=eig[-1] / eig[0],
                   delta=float(np.abs(np.asarray(counterexample["p"]) - 1).max()))
    return Evidence(holds=False, counterexample=counterexample, tables=tables, numbers=numbers,
                    notes="D0 confirmed: p ∈ (0,2) alone does not make −PHg a descent direction; "
                          "sweep_non_descent_fraction is how often it fails for random H, p, g")
