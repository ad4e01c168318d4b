"""Exact O((n + H) log(n + H)) evaluation of o = ReLU(h R) w for 2-dimensional rows h (derived here).

The code's model has a 2-unit first layer, so the H-wide layer sees points h_j ∈ R². With r_k = R[:, k],
h·r_k > 0 iff the angle of h lies in the open half-circle (φ_k − π/2, φ_k + π/2) around the angle φ_k of
r_k, hence o_j = Σ_k ReLU(h_j·r_k) w_k = h_j · V(θ_j) with V(θ) = Σ_{k: half-circle of k ∋ θ} w_k r_k.
V is a circular prefix sum over sorted half-circle ends (:func:`arc_sums`). The gradients have the same
form with the roles swapped: ∂o_j/∂h_j = V(θ_j); ∂L/∂w_k = r_k·U(φ_k), ∂L/∂r_k = w_k U(φ_k) with
U(φ) = Σ_{j: half-circle of j ∋ φ} δ_j h_j. Instead of the N·d×H activations of the dense product, only
angles and sums are stored. Values on a half-circle's boundary (h·r_k = 0) contribute 0 to o either way;
their gradient follows torch's ReLU'(0) = 0 for zero rows h_j = 0 (frequent: the first ReLU layer
produces them) and can differ from it only on other exact ties.
"""

from __future__ import annotations

import math

import torch


def arc_sums(centers: torch.Tensor, values: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """S(q) = Σ_{i: cos(q − centers_i) > 0} values_i for every query angle q; centers (m,), values (m, c),
    queries (n,) → (n, c), or the same with a leading batch dimension k on all three (k independent problems,
    e.g. stacked models). A query exactly on an arc end may count that arc (it then multiplies a zero)."""
    if centers.dim() == 1:
        return arc_sums(centers.unsqueeze(0), values.unsqueeze(0), queries.unsqueeze(0)).squeeze(0)
    two_pi = 2 * math.pi
    starts = torch.remainder(centers - math.pi / 2, two_pi)
    ends = torch.remainder(starts + math.pi, two_pi)
    q = torch.remainder(queries, two_pi).contiguous()
    zero = values.new_zeros(values.shape[0], 1, values.shape[2])
    rows = torch.arange(values.shape[0], device=values.device).unsqueeze(1)

    def prefix_below(points: torch.Tensor) -> torch.Tensor:
        order = torch.argsort(points, dim=1)
        sums = torch.cat([zero, torch.cumsum(values[rows, order], dim=1)], dim=1)
        return sums[rows, torch.searchsorted(torch.gather(points, 1, order).contiguous(), q, side="left")]

    wrapped = (values * (ends < starts).unsqueeze(2)).sum(dim=1, keepdim=True)
    return prefix_below(starts) - prefix_below(ends) + wrapped


class PlanarReLULayer(torch.autograd.Function):
    """o = ReLU(h R) w for h (k, n, 2), R (k, 2, H), w (k, H) → o (k, n): k independent layers, exact, without
    the (n, H) activations."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, R: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        theta = torch.atan2(h[..., 1], h[..., 0])
        phi = torch.atan2(R[:, 1], R[:, 0])
        V = arc_sums(phi, (R * w.unsqueeze(1)).transpose(1, 2), theta)  # (k, n, 2) = ∂o_j/∂h_j, kept for backward
        V = V * (h != 0).any(dim=2, keepdim=True)  # h_j = 0: every h_j·r_k = 0 and ReLU'(0) = 0 (torch)
        ctx.save_for_backward(h, R, w, theta, phi, V)
        return (h * V).sum(dim=2)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        h, R, w, theta, phi, V = ctx.saved_tensors
        grad_h = grad_r = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_h = grad_out.unsqueeze(2) * V
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            U = arc_sums(theta, h * grad_out.unsqueeze(2), phi)  # (k, H, 2)
            grad_r = (U * w.unsqueeze(2)).transpose(1, 2) if ctx.needs_input_grad[1] else None
            grad_w = (U * R.transpose(1, 2)).sum(dim=2) if ctx.needs_input_grad[2] else None
        return grad_h, grad_r, grad_w


def planar_relu_layer(h: torch.Tensor, R: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """ReLU(h R) w for h (..., 2), R (2, H), w (H, 1) → (...,) via :class:`PlanarReLULayer`; with stacked layers
    R (k, 2, H), w (k, H, 1) and h (k, ..., 2), layer i applied to h[i] → (k, ...)."""
    if R.dim() == 2:
        return planar_relu_layer(h.unsqueeze(0), R.unsqueeze(0), w.unsqueeze(0)).squeeze(0)
    k, shape = R.shape[0], h.shape[1:-1]
    return PlanarReLULayer.apply(h.reshape(k, -1, 2), R, w.reshape(k, -1)).reshape(k, *shape)
