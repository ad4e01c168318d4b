"""mathl2o.init.equals-gd: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
import torch

from implementations.mathl2o import QP, unroll
from implementations.mathl2o.unroll import STEP_SCALE
from verify.claims.mathl2o._shared import EPS, _build, _configs
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.init.equals-gd",
                 "with W_L = 0 the unrolled trajectory equals GD with step 1/β (to round-off)",
                 "paper", "property", "holds", "paper §5")


def _numpy_gd_values(qp: QP, T: int, step_scale: float = STEP_SCALE) -> np.ndarray:
    """F(X_t), t = 0..T, of GD x ← x − (c/β_i)M_iᵀ(M_i x − y_i) in numpy (independent of the torch code)."""
    M, Y = qp.M.cpu().numpy(), qp.Y.cpu().numpy()
    beta = np.array([np.linalg.norm(m, 2) ** 2 for m in M])
    X = np.zeros((M.shape[0], M.shape[2]))
    values = []
    for _ in range(T + 1):
        r = np.einsum("nbd,nd->nb", M, X) - Y
        values.append(0.5 * float((r * r).sum()))
        X = X - (step_scale / beta)[:, None] * np.einsum("nbd,nb->nd", M, r)
    return np.array(values)


@check(SPEC.id)
def init_equals_gd(ctx: Context) -> Evidence:
    """With W_L = 0, P ≡ 2σ(0) = 1, so the unrolled model IS gradient descent with step 0.9999/β_i (paper §5).

    Property (hypothesis over N ≤ 3, d ≤ 6, b ≤ d, width ≤ 12, T ≤ 8, e ∈ [1, 100], depth 2–4, signed or
    non-negative inner layers): |F_model(X_t) − F_GD(X_t)| ≤ tol·F(X₀) for every t, against an independent
    numpy GD. Tolerance: both compute the same T steps of d- and b-term dot products, so the relative gap is
    ≤ γ_{b+d} per step, compounded over T steps: tol = 4·T·(b+d)·eps (β from two SVD codes adds ≤ 10·eps).
    Plus one instance at the Fig. 5 scale (N = d = 32, b = 25, T = 20, width 1024, e = 100)."""

    def margin(cfg) -> float:
        model, qp = _build(cfg, ctx.like)
        with torch.no_grad():
            ours = unroll(model, qp, cfg["T"]).cpu().numpy()
        reference = _numpy_gd_values(qp, cfg["T"])
        tol = (4 * cfg["T"] * (cfg["b"] + cfg["d"]) + 10) * EPS
        return float(np.max(np.abs(ours - reference)) / max(reference[0], 1e-300) - tol)

    result = ctx.search(_configs(), margin, max_examples=40)
    fig5 = dict(N=32, d=32, b=25, width=1024, T=20, e=100.0, depth=3, nonnegative=False, seed=ctx.instance_seed(5))
    fig5_margin = margin(fig5)
    holds = not result.found and fig5_margin <= 0
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "worst_margin_minus_tol": result.worst_margin_seen,
                 "fig5_scale_margin_minus_tol": fig5_margin},
        counterexample=None if holds else {"config": result.counterexample or fig5,
                                           "margin": result.margin if result.found else fig5_margin},
        notes="margins are (max_t |F_model − F_GD|/F₀) − tol; ≤ 0 means equal to round-off.")
