"""The scaled Caputo gradient on quadratics in closed form, and NA-/AT-CFGD on them (THEORY.md §1.2–1.3).

For f(x) = ½ xᵀAx + bᵀx (A symmetric) the scaled Caputo gradient with per-coordinate α, β, c is exactly
  D f(x) = Ax + b + diag(γ ⊙ r)(x − c),  γ = β − (1−α)/(2−α),  r_j = A_jj            (paper "Eq. 8"; γ, r derived)
on both sides of c. NA-CFGD (fixed α, β, c) iterates x ← x − η D f(x), an affine map with matrix I − η(A+G),
G = diag(γ ⊙ r); AT-CFGD moves the terminal with the iterate, c^(t) = x^(t−lag).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.validation import (
    as_tensor,
    broadcast_per_coordinate,
    check_bool,
    check_finite,
    check_open_interval,
    check_positive,
    check_positive_int,
    check_real_tensor,
)


@dataclass(frozen=True)
class CFGDRun:
    """A CFGD run. trajectory: (steps + 1, *x0.shape), x^(0) first (only x^(0) and x^(steps) when the run
    was asked not to keep the trajectory). diverged_at: per batch element (shape
    x0.shape[:-1]) the first step t at which ‖x^(t)‖ exceeded the blow-up threshold or became non-finite,
    −1 if it never did; a diverged element is frozen at its last finite iterate from then on."""

    trajectory: torch.Tensor
    diverged_at: torch.Tensor

    @property
    def diverged(self) -> torch.Tensor:
        return self.diverged_at >= 0

    @property
    def final(self) -> torch.Tensor:
        return self.trajectory[-1]


def _check_matrix(A) -> torch.Tensor:
    """A: (*batch, d, d), finite and symmetric to round-off (100 eps relative)."""
    A = check_finite("A", as_tensor("A", A))
    if A.dim() < 2 or A.shape[-1] != A.shape[-2] or A.numel() == 0:
        raise ValueError(f"A must be a square matrix or a batch of them, non-empty, got shape {tuple(A.shape)}")
    asym = (A - A.transpose(-1, -2)).abs().amax()
    if asym > 100 * torch.finfo(A.dtype).eps * A.abs().amax().clamp_min(1e-300):
        raise ValueError(f"A must be symmetric; max |A − Aᵀ| = {asym.item():.3g}")
    return A


def _check_quadratic(A, b) -> tuple[torch.Tensor, torch.Tensor]:
    """A: (*batch, d, d) symmetric; b: broadcastable to (*batch, d)."""
    A = _check_matrix(A)
    b = check_finite("b", as_tensor("b", b, like=A))
    if b.dim() < 1 or b.shape[-1] != A.shape[-1]:
        raise ValueError(f"b must have last dimension {A.shape[-1]} (the size of A), got shape {tuple(b.shape)}")
    return A, b


def _check_x(name: str, x, A: torch.Tensor) -> torch.Tensor:
    x = check_finite(name, as_tensor(name, x, like=A))
    if x.dim() < 1 or x.shape[-1] != A.shape[-1]:
        raise ValueError(f"{name} must have last dimension {A.shape[-1]} (the size of A), got shape {tuple(x.shape)}")
    return x


def _matvec(A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A x for batched A (*batch, d, d) and x (*batch, d) (A symmetric, so also xᵀA)."""
    return (A @ x.unsqueeze(-1)).squeeze(-1)


def _direction(A, b, x, gamma_r, c) -> torch.Tensor:
    return _matvec(A, x) + b + gamma_r * (x - c)


def gamma(alpha, beta) -> torch.Tensor:
    """γ = β − (1−α)/(2−α): the coefficient of r_j (x_j − c_j) in the quadratic closed form (derived)."""
    alpha = as_tensor("alpha", alpha)
    return as_tensor("beta", beta, like=alpha) - (1 - alpha) / (2 - alpha)


def _per_coordinate(alpha, beta, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    alpha = check_open_interval("alpha", broadcast_per_coordinate("alpha", alpha, like), 0.0, 1.0)
    beta = check_finite("beta", broadcast_per_coordinate("beta", beta, like))
    return alpha, beta


def shift_matrix_diagonal(A, alpha, beta) -> torch.Tensor:
    """diag(G) = γ ⊙ r with r_j = A_jj: NA-CFGD on f is gradient descent on f + ½(x − c)ᵀG(x − c)."""
    A = as_tensor("A", A)
    r = torch.diagonal(A, dim1=-2, dim2=-1)
    alpha, beta = _per_coordinate(alpha, beta, r)
    return gamma(alpha, beta) * r


def quadratic_direction(A, b, x, alpha, beta, c) -> torch.Tensor:
    """D f(x) = Ax + b + γ ⊙ r ⊙ (x − c) for f = ½xᵀAx + bᵀx (THEORY.md §1.3, paper "Eq. 8").

    A (*batch, d, d) symmetric, not necessarily definite; b and x broadcast against (*batch, d); alpha,
    beta, c are scalars or broadcast to x; alpha ∈ (0, 1). dtype/device from A.
    """
    A, b = _check_quadratic(A, b)
    x = _check_x("x", x, A)
    alpha, beta = _per_coordinate(alpha, beta, x)
    c = check_finite("c", broadcast_per_coordinate("c", c, x))
    return _direction(A, b, x, gamma(alpha, beta) * torch.diagonal(A, dim1=-2, dim2=-1), c)


def tikhonov_point(A, b, alpha, beta, c) -> torch.Tensor:
    """The NA-CFGD fixed point x* solving (A + G) x* = G c − b, G = diag(γ ⊙ r) (derived; c per coordinate).

    Raises ValueError if A + G is singular. A, b, c may be batched (*batch, d, d), (*batch, d).
    """
    A, b = _check_quadratic(A, b)
    c = _check_x("c", c, A)
    g = shift_matrix_diagonal(A, alpha, beta)
    try:
        return torch.linalg.solve(A + torch.diag_embed(g), (g * c - b).unsqueeze(-1)).squeeze(-1)
    except RuntimeError as exc:
        raise ValueError("A + G is singular: the NA-CFGD fixed point is not unique") from exc


def stability_threshold(A, alpha, beta) -> torch.Tensor:
    """2/λ_max(A + G): NA-CFGD converges from every start iff A + G ≻ 0 and 0 < η < this (derived).

    A may be batched (*batch, d, d); returns a tensor of shape batch, 0 where A + G is not positive
    definite (then no step size converges from every start).
    """
    A = _check_matrix(A)
    eigenvalues = torch.linalg.eigvalsh(A + torch.diag_embed(shift_matrix_diagonal(A, alpha, beta)))
    threshold = 2 / eigenvalues[..., -1]
    return torch.where(eigenvalues[..., 0] > 0, threshold, torch.zeros_like(threshold))


def _run(step, x0: torch.Tensor, steps: int, blowup: float, keep_trajectory: bool, window: int = 1) -> CFGDRun:
    """Iterate x^(t+1) = step(recent iterates, last one last); freeze an element once
    ‖x‖ > blowup·(1 + ‖x^(0)‖) or it turns non-finite. ``window``: how many recent iterates ``step`` needs."""
    limit = blowup * (1 + x0.norm(dim=-1))
    history = [x0]
    recorded = [x0]
    diverged_at = torch.full(x0.shape[:-1], -1, dtype=torch.long, device=x0.device)
    for t in range(steps):
        proposal = step(history)
        norm = proposal.norm(dim=-1)
        bad = (~torch.isfinite(norm) | (norm > limit)) & (diverged_at < 0)
        diverged_at = torch.where(bad, torch.full_like(diverged_at, t + 1), diverged_at)
        frozen = (diverged_at >= 0).unsqueeze(-1)
        history = history[-window:] + [torch.where(frozen, history[-1], proposal)]
        if keep_trajectory or t == steps - 1:
            recorded.append(history[-1])
    return CFGDRun(torch.stack(recorded), diverged_at)


def _check_run_args(A, b, x0, lr, steps, blowup, keep_trajectory):
    """Validated A, b, x0 and the step size as a tensor of shape x0.shape[:-1] + (1,)."""
    A, b = _check_quadratic(A, b)
    x0 = _check_x("x0", x0, A)
    if isinstance(lr, torch.Tensor):
        check_open_interval("lr", check_real_tensor("lr", lr, finite=False, nonempty=False), 0.0, float("inf"))
        try:
            lr = torch.broadcast_to(lr.to(device=x0.device, dtype=x0.dtype), x0.shape[:-1]).unsqueeze(-1)
        except RuntimeError as exc:
            raise ValueError(f"lr of shape {tuple(lr.shape)} does not broadcast to the batch shape "
                             f"{tuple(x0.shape[:-1])}") from exc
    else:
        check_positive("lr", lr)
    check_positive_int("steps", steps)
    check_positive("blowup", blowup)
    check_bool("keep_trajectory", keep_trajectory)
    return A, b, x0, lr


def na_cfgd(A, b, x0, alpha, beta, c, lr: float, steps: int, blowup: float = 1e10,
            keep_trajectory: bool = True) -> CFGDRun:
    """Non-adaptive CFGD: x^(t+1) = x^(t) − η D f(x^(t)) with fixed α, β, c (THEORY.md §1.3).

    On f = ½xᵀAx + bᵀx this is x^(t+1) = x^(t) − η[(A + G)x^(t) + b − Gc]. A (*batch, d, d), b and x0
    (*batch, d) may be batched; lr is a float or a tensor of per-instance step sizes (batch shape).
    Divergence (see :class:`CFGDRun`) is recorded in ``diverged_at``, never raised.
    keep_trajectory=False keeps only x^(0) and x^(steps) (for large batched sweeps).
    """
    A, b, x0, lr = _check_run_args(A, b, x0, lr, steps, blowup, keep_trajectory)
    alpha, beta = _per_coordinate(alpha, beta, x0)
    c = check_finite("c", broadcast_per_coordinate("c", c, x0))
    gamma_r = gamma(alpha, beta) * torch.diagonal(A, dim1=-2, dim2=-1)
    return _run(lambda history: history[-1] - lr * _direction(A, b, history[-1], gamma_r, c), x0, steps, blowup,
                keep_trajectory)


def at_cfgd(A, b, x0, alpha, beta, lr: float, steps: int, lag: int = 1, blowup: float = 1e10,
            keep_trajectory: bool = True) -> CFGDRun:
    """Adaptive-terminal CFGD: c^(t) = x^(t−lag) (x^(t) := x^(0) for t < 0), x^(t+1) = x^(t) − η D f(x^(t); c^(t)).

    With lag = 1 on a quadratic this is heavy-ball momentum x⁺ = x − η∇f(x) − ηG(x − x_prev) (derived).
    Divergence is recorded in ``diverged_at``, never raised.
    """
    A, b, x0, lr = _check_run_args(A, b, x0, lr, steps, blowup, keep_trajectory)
    check_positive_int("lag", lag)
    alpha, beta = _per_coordinate(alpha, beta, x0)
    gamma_r = gamma(alpha, beta) * torch.diagonal(A, dim1=-2, dim2=-1)

    def step(history):
        terminal = history[max(len(history) - 1 - lag, 0)]  # x^(t−lag), or x^(0) while t < lag
        return history[-1] - lr * _direction(A, b, history[-1], gamma_r, terminal)

    return _run(step, x0, steps, blowup, keep_trajectory, window=lag + 1)
