"""mathl2o.gd.sublinear-bound: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.mathl2o import QP, unroll
from implementations.mathl2o.unroll import STEP_SCALE
from theory import mathl2o as theory
from verify.claims.mathl2o._shared import EPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import full_row_rank_gaussian, vectors
from verify.tightness import Tightness

SPEC = ClaimSpec("mathl2o.gd.sublinear-bound",
                 "GD with step 1/β: F(X_T) − F* ≤ β‖X₀ − X*‖²/(2T)",
                 "standard", "property+tightness", "holds", "paper Eqs. 9–10; Nesterov (2004) Thm 2.1.14",
                 scales={"sweep_instances": (2000, 20000)},
                 tightness={"F(X_T)/(β‖X₀−X*‖²/(2cT)), T=20": ("upper", 0.001),
                            "worst ratio vs exact quadratic sup, T=20": ("tight", 0.01)})


def _gd_ratio_worst_direction(M: np.ndarray, T: int, step_scale: float = STEP_SCALE) -> tuple[float, np.ndarray]:
    """max over x₀ − x* ∈ range(Mᵀ) of (f(x_T) − f*)/(β‖x₀ − x*‖²/(2cT)) for GD from x₀ = 0: along the
    eigenvector v_k of MᵀM (λ_k > 0) the ratio is cT·(λ_k/β)(1 − cλ_k/β)^{2T}; returns it and x_gt = v_k."""
    lam, vec = np.linalg.eigh(M.T @ M)
    beta = lam[-1]
    keep = lam > 1e-12 * beta
    u = lam[keep] / beta
    ratios = step_scale * T * u * (1 - step_scale * u) ** (2 * T)
    k = int(np.argmax(ratios))
    return float(ratios[k]), vec[:, keep][:, k]


def _gd_ratio(M: np.ndarray, x_gt: np.ndarray, T: int, like: dict) -> float:
    """(F(X_T) − F*)/(β‖X₀ − X*‖²/(2cT)) for the instance (M, y = M x_gt), X* = M⁺y, measured by unrolling
    with the ``dtype=`` and ``device=`` of ``like``."""
    qp = QP.create(torch.as_tensor(M, **like)[None], torch.as_tensor(M @ x_gt, **like)[None])
    with torch.no_grad():
        value = float(unroll(None, qp, T)[-1])
    dist_sq = float((qp.minimum_norm_solution() ** 2).sum())
    if dist_sq == 0:
        return 0.0
    return value / theory.gd_sublinear_bound(float(qp.beta[0]), dist_sq, T, STEP_SCALE)


@check(SPEC.id)
def gd_sublinear_bound(ctx: Context) -> Evidence:
    """GD with step c/β (c = 0.9999): F(X_T) − F* ≤ β‖X₀ − X*‖²/(2cT) (standard; Nesterov Thm 2.1.14; paper
    Eqs. 9–10), X* = 𝐌⁺Y the minimiser GD converges to from X₀ = 0. Search: hypothesis over M (b ≤ d ≤ 6,
    unit-norm columns), x_gt and T ≤ 60, each instance evaluated at its own x_gt and at its worst eigen-
    direction; margin = ratio − 1 − 100·T·eps (round-off of the unrolled value). Sweep: 2000 (quick) random
    M. Tightness: the worst ratio vs 1 (kind upper) and vs the exact sup over quadratics
    T(2T)^{2T}/(2T+1)^{2T+1} (derived with sympy in theory.mathl2o), which shows the bound is loose by ≈ 2e."""
    T_sweep = 20

    @st.composite
    def instances(draw):
        d = draw(st.integers(1, 6))
        b = draw(st.integers(1, d))
        return draw(full_row_rank_gaussian(b, d)), draw(vectors(d, 3.0)), draw(st.integers(1, 60))

    def margin(inst) -> float:
        M, x_gt, T = inst
        worst, _ = _gd_ratio_worst_direction(M, T)
        return max(_gd_ratio(M, x_gt, T, ctx.like), worst) - 1 - 100 * T * EPS

    result = ctx.search(instances(), margin, max_examples=60)
    n_sweep = ctx.scale("sweep_instances")
    worst_sweep, worst_instance = 0.0, None
    for _ in range(n_sweep):
        d = int(ctx.rng.integers(2, 9))
        b = int(ctx.rng.integers(1, d + 1))
        M = ctx.rng.standard_normal((b, d))
        M /= np.linalg.norm(M, axis=0)
        ratio, direction = _gd_ratio_worst_direction(M, T_sweep)
        if ratio > worst_sweep:
            worst_sweep, worst_instance = ratio, (M, direction)
    measured = _gd_ratio(worst_instance[0], worst_instance[1], T_sweep, ctx.like)
    exact = theory.gd_quadratic_worst_ratio(T_sweep)
    rows = [Tightness("F(X_T)/(β‖X₀−X*‖²/(2cT)), T=20", 1.0, measured, "upper", 1e-3, "sweep+eigen-direction",
                      n_sweep).as_row(),
            Tightness("worst ratio vs exact quadratic sup, T=20", exact, measured, "upper", 1e-2,
                      "sweep+eigen-direction", n_sweep).as_row()]
    holds = not result.found and measured <= 1 + 100 * T_sweep * EPS
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "worst_margin_search": result.worst_margin_seen,
                 "worst_ratio_sweep_T20": measured, "exact_quadratic_sup_T20": exact,
                 "limit_1_over_2e": 1 / (2 * math.e)},
        counterexample=None if holds else {"instance": [a.tolist() if hasattr(a, "tolist") else a
                                                        for a in (result.counterexample or worst_instance)],
                                           "margin": result.margin if result.found else measured - 1},
        tables={"tightness": rows},
        notes="the bound holds with ratio ≤ T(2T)^{2T}/(2T+1)^{2T+1} ≈ 1/(2e) on quadratics: loose by ≈ 5.4×.")
