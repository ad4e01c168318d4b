"""Margins of the CWSS conditions (THEORY.md §2) on one instance; positive means violated by that much."""

from __future__ import annotations

import numpy as np
import torch

from implementations.bfgs import cwss_step

EPS = float(np.finfo(np.float64).eps)


def instance_tensor(array, like: dict | None = None) -> torch.Tensor:
    """A hypothesis instance's array as a tensor with the ``dtype=`` and ``device=`` of ``like`` (a run's
    Context.like; default float64 on the CPU, named explicitly: a sweep's re-check runs there whatever the run's
    device)."""
    return torch.as_tensor(np.asarray(array), **({"dtype": torch.float64, "device": "cpu"} if like is None else like))


def spd_inverse(A: torch.Tensor) -> torch.Tensor:
    """A⁻¹ of an SPD A, symmetrised: torch.linalg.inv is symmetric only to about κ(A)·eps, which the solvers'
    SPD validation (100·eps) rejects for κ(A) ≳ 100 (the full budget's search hit κ ≈ 1e3 in 5-D)."""
    inverse = torch.linalg.inv(A)
    return (inverse + inverse.mT) / 2


def contraction_margins(A: torch.Tensor, x: torch.Tensor, x_star: torch.Tensor, p: torch.Tensor,
                        step=cwss_step) -> torch.Tensor:
    """:func:`contraction_margin` of a batch of instances (A (..., d, d) SPD, x, x*, p (..., d)), one margin per
    instance, in float64's eps whatever the dtype (the bound of the float64 claim)."""
    e = x - x_star
    g = (A @ e.unsqueeze(-1)).squeeze(-1)
    x_next = step(x, g, spd_inverse(A), p, interval=None)  # p ∈ [−1, 3]: both sides of [0, 2]
    e_next = x_next - x_star
    dim = p.shape[-1]
    kappa = torch.linalg.cond(A)
    tol = 8 * dim * kappa * EPS * (1 + p.abs().amax(-1)) * dim ** 0.5 * e.abs().amax(-1) + 1e-300
    exact = (e_next - (1 - p) * e).abs().amax(-1) - tol
    inside = (p >= 0) & (p <= 2)
    grows = e_next.abs() - e.abs()
    tol = tol.unsqueeze(-1)
    iff = torch.where(inside, grows - tol, -grows - tol + torch.where(e.abs() > 2 * tol, 0.0, -1.0))
    return torch.maximum(exact, iff.amax(-1))


def contraction_margin(instance, like: dict | None = None, step=cwss_step) -> float:
    """Max violation of e⁺ = (I − P)e and of |e⁺_i| ≤ |e_i| ⇔ p_i ∈ [0, 2]; tol = 8d·κ(A)·eps·(1+max|p|)‖e‖
    (forming A⁻¹ costs κ(A)·eps relative accuracy, the products d·eps). ‖e‖ is bounded by √d·max|e_i|: torch's
    2-norm squares the entries and underflows to 0 for |e_i| below ~1e-154, which zeroed the tolerance.
    ``like``: as in :func:`instance_tensor`; ``step(x, g, H, P, interval)``: the step under test (default
    implementations.bfgs.cwss_step)."""
    A, x, x_star, p = (instance_tensor(v, like) for v in instance)
    return float(contraction_margins(A, x, x_star, p, step))
