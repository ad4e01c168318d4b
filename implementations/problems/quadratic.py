"""Quadratic objectives f(x) = ½ xᵀ A x + bᵀ x with A symmetric (SPD for a minimiser to exist)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.problems.summary import TensorSummaryRepr
from implementations.validation import (
    as_tensor,
    check_bool,
    check_device,
    check_dtype,
    check_finite,
    check_generator,
    check_number,
    check_positive_int,
    check_real_tensor,
    check_shape,
    check_spd,
    check_symmetric,
)


@dataclass(frozen=True, repr=False)
class Quadratic(TensorSummaryRepr):
    """f(x) = ½ xᵀAx + bᵀx; ∇f = Ax + b; ∇²f = A; argmin = −A⁻¹b when A ≻ 0."""

    A: torch.Tensor
    b: torch.Tensor

    def __post_init__(self) -> None:
        """A a finite, non-empty, square, symmetric real floating tensor (d, d) and b a finite tensor (d,) of A's
        dtype and device; definiteness is :meth:`create`'s option (``require_spd``)."""
        check_real_tensor("A", self.A, dim=2)
        if self.A.shape[0] != self.A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {tuple(self.A.shape)}")
        check_symmetric("A", self.A)
        check_shape("b", check_real_tensor("b", self.b), (self.A.shape[0],))
        if self.b.dtype != self.A.dtype or self.b.device != self.A.device:
            raise ValueError(f"b must have A's dtype {self.A.dtype} and device {self.A.device}, got {self.b.dtype}, "
                             f"{self.b.device}")

    @classmethod
    def create(cls, A, b, require_spd: bool = True) -> "Quadratic":
        """From array-likes (b converted to A's dtype); also checks A ≻ 0 unless ``require_spd`` is False."""
        check_bool("require_spd", require_spd)
        A = check_finite("A", as_tensor("A", A))
        b = check_finite("b", as_tensor("b", b, like=A))
        if A.dim() != 2 or A.shape[0] != A.shape[1] or A.numel() == 0:
            raise ValueError(f"A must be a non-empty square matrix, got shape {tuple(A.shape)}")
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
    """Q diag(λ) Qᵀ with Q Haar-orthogonal and λ log-spaced from ``smallest`` to ``smallest·cond``.

    Checked: dim >= 1; cond in [1, 1/eps) of ``dtype`` (beyond it the round-off of forming QΛQᵀ, about
    eps·λ_max, exceeds λ_min and the result need not be positive definite); smallest a normal positive
    number with smallest·cond·dim finite; generator, dtype (floating) and device.
    """
    check_positive_int("dim", dim)
    check_dtype("dtype", dtype)
    info = torch.finfo(dtype)
    check_number("cond", cond, 1.0, 1 / info.eps, high_open=True)
    check_number("smallest", smallest, info.tiny, info.max / (cond * dim))
    check_generator("generator", generator)
    check_device("device", device)
    host = generator.device if generator is not None else torch.device("cpu")  # drawn there, then moved
    gauss = torch.randn(dim, dim, generator=generator, dtype=dtype, device=host)
    q, r = torch.linalg.qr(gauss)
    q = q * torch.sign(torch.diagonal(r))
    top = torch.log10(torch.tensor(float(cond), dtype=torch.float64, device="cpu")).item()
    lam = smallest * torch.logspace(0, top, dim, dtype=dtype, device=host)
    matrix = (q * lam) @ q.T
    return ((matrix + matrix.T) / 2).to(device)
