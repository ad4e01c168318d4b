"""The extended (chained) Rosenbrock function, a standard smooth non-convex test objective, batched.

f(x) = Σ_{i=1}^{d−1} [a (x_{i+1} − x_i²)² + (1 − x_i)²],  a > 0 (a = 100 is the classical choice; Rosenbrock
1960, in the chained form of e.g. Nocedal & Wright, Numerical Optimization, Exercise 9.1 / Moré, Garbow,
Hillstrom 1981). Global minimiser x* = (1, …, 1) with f* = 0; for d ≥ 4 there is a second local minimiser
near x_1 ≈ −1 (f ≈ 3.99), and the Hessian is indefinite on much of the space (in 2-D exactly where
x_2 > x_1² + 1/(2a): det ∇²f = 8a²(x_1² − x_2) + 4a, derived), so BFGS without a line search can meet yᵀs ≤ 0.

∇f_i = −4a x_i (x_{i+1} − x_i²) − 2(1 − x_i) [i < d] + 2a (x_i − x_{i−1}²) [i > 1];
∇²f is tridiagonal: ∂²f/∂x_i² = (12a x_i² − 4a x_{i+1} + 2)[i < d] + 2a [i > 1], ∂²f/∂x_i∂x_{i+1} = −4a x_i.
``value``/``gradient``/``hessian`` accept x of shape (..., d) (batched over leading dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.validation import as_tensor, check_finite, check_positive, check_positive_int


@dataclass(frozen=True)
class Rosenbrock:
    """Chained Rosenbrock objective in ``dim`` ≥ 2 variables with coupling ``a`` (default 100)."""

    dim: int
    a: float = 100.0

    def __post_init__(self) -> None:
        check_positive_int("dim", self.dim, minimum=2)
        check_positive("a", self.a)

    def _check(self, x) -> torch.Tensor:
        x = as_tensor("x", x)
        if x.dim() < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., {self.dim}), got {tuple(x.shape)}")
        return x

    def value(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check(x)
        head, tail = x[..., :-1], x[..., 1:]
        return (self.a * (tail - head * head) ** 2 + (1 - head) ** 2).sum(-1)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check(x)
        head, tail = x[..., :-1], x[..., 1:]
        residual = tail - head * head
        grad = torch.zeros_like(x)
        grad[..., :-1] = -4 * self.a * head * residual - 2 * (1 - head)
        grad[..., 1:] = grad[..., 1:] + 2 * self.a * residual
        return grad

    def hessian(self, x: torch.Tensor) -> torch.Tensor:
        """(..., d, d) tridiagonal Hessian."""
        x = self._check(x)
        head, tail = x[..., :-1], x[..., 1:]
        diagonal = torch.zeros_like(x)
        diagonal[..., :-1] = 12 * self.a * head * head - 4 * self.a * tail + 2
        diagonal[..., 1:] = diagonal[..., 1:] + 2 * self.a
        off = -4 * self.a * head
        return torch.diag_embed(diagonal) + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)

    def minimiser(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        return torch.ones(self.dim, dtype=dtype)

    def standard_start(self, batch: int | None = None, spread: float = 0.0,
                       generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The classical start x_i = −1.2 (odd i), 1 (even i) (Moré–Garbow–Hillstrom), of shape (d,) or
        (batch, d), plus ``spread``·N(0, 1) per entry (drawn with ``generator``) to make distinct instances."""
        if not (isinstance(spread, (int, float)) and spread >= 0):
            raise ValueError(f"spread must be >= 0, got {spread!r}")
        base = torch.where(torch.arange(self.dim) % 2 == 0, -1.2, 1.0).to(dtype)
        if batch is None:
            return check_finite("x0", base + spread * torch.randn(self.dim, generator=generator, dtype=dtype))
        check_positive_int("batch", batch)
        return base + spread * torch.randn(batch, self.dim, generator=generator, dtype=dtype)
