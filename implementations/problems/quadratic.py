"""Quadratic objectives f(x) = ½ xᵀ A x + bᵀ x with A symmetric (SPD for a minimiser to exist)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.problems.summary import TensorSummaryRepr
from implementations.validation import as_tensor, check_finite, check_shape, check_spd


@dataclass(frozen=True, repr=False)
class Quadratic(TensorSummaryRepr):
    """f(x) = ½ xᵀAx + bᵀx; ∇f = Ax + b; ∇²f = A; argmin = −A⁻¹b when A ≻ 0."""

    A: torch.Tensor
    b: torch.Tensor

    @classmethod
    def create(cls, A, b, require_spd: bool = True) -> "Quadratic":
        A = check_finite("A", as_tensor("A", A))
        b = check_finite("b", as_tensor("b", b, like=A))
        if A.dim() != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
        check_shape("b", b, (A.shape[0],))
        if require_spd:
            check_spd("A", A)
        return cls(A, b)

    @property
    def dim(self) -> int:
        return self.A.shape[0]

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x * (x @ self.A)).sum(-1) + x @ self.b

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.A + self.b

    def minimiser(self) -> torch.Tensor:
        return -torch.linalg.solve(self.A, self.b)


def random_spd(dim: int, cond: float, generator: torch.Generator | None = None,
               dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu",
               smallest: float = 1.0) -> torch.Tensor:
    """Q diag(λ) Qᵀ with Q Haar-orthogonal and λ log-spaced from ``smallest`` to ``smallest·cond``."""
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    if not cond >= 1:
        raise ValueError(f"cond must be >= 1, got {cond}")
    gauss = torch.randn(dim, dim, generator=generator, dtype=dtype)
    q, r = torch.linalg.qr(gauss)
    q = q * torch.sign(torch.diagonal(r))
    lam = smallest * torch.logspace(0, torch.log10(torch.tensor(float(cond))).item(), dim, dtype=dtype)
    matrix = (q * lam) @ q.T
    return ((matrix + matrix.T) / 2).to(device)
