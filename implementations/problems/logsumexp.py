"""Smoothed max (log-sum-exp), optionally batched over instances (A: (..., m, d), b: (..., m)).

f(x) = ρ log Σ_i exp((a_iᵀx − b_i)/ρ) + (μ/2)‖x‖², ρ > 0, μ ≥ 0 (Nesterov's smooth max; the BFGS paper's
log-sum-exp task, THEORY.md §2). ∇f = Aᵀπ + μx with π = softmax((Ax − b)/ρ);
∇²f = (1/ρ) Aᵀ(diag(π) − ππᵀ)A + μI; L ≤ ‖A‖₂²/ρ + μ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.problems.summary import TensorSummaryRepr
from implementations.validation import (
    as_tensor,
    check_batch_shape,
    check_data_pair,
    check_dtype,
    check_finite,
    check_generator,
    check_nonnegative,
    check_positive,
    check_positive_int,
)


@dataclass(frozen=True, repr=False)
class LogSumExp(TensorSummaryRepr):
    A: torch.Tensor
    b: torch.Tensor
    rho: float
    reg: float = 0.0

    def __post_init__(self) -> None:
        """A (…, m, d) and b (…, m): finite real floating tensors of one dtype and device; rho > 0 and reg >= 0
        finite numbers."""
        check_data_pair("A", self.A, "b", self.b)
        check_positive("rho", self.rho)
        check_nonnegative("reg", self.reg)

    @classmethod
    def create(cls, A, b, rho: float, reg: float = 0.0) -> "LogSumExp":
        A = check_finite("A", as_tensor("A", A))
        b = check_finite("b", as_tensor("b", b, like=A))
        check_positive("rho", rho)
        check_nonnegative("reg", reg)
        if A.dim() < 2 or b.shape != A.shape[:-1]:
            raise ValueError(f"A (…, m, d) and b (…, m) do not match: A {tuple(A.shape)}, b {tuple(b.shape)}")
        return cls(A, b, float(rho), float(reg))

    @classmethod
    def random(cls, d: int, m: int, rho: float = 1.0, reg: float = 1e-3, batch: tuple[int, ...] = (),
               generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> "LogSumExp":
        """A_ij ~ N(0, 1/d), b_i ~ N(0, 1)."""
        check_positive_int("d", d)
        check_positive_int("m", m)
        check_batch_shape("batch", batch)
        check_generator("generator", generator)
        check_dtype("dtype", dtype)
        A = torch.randn(*batch, m, d, generator=generator, dtype=dtype) / d ** 0.5
        b = torch.randn(*batch, m, generator=generator, dtype=dtype)
        return cls.create(A, b, rho, reg)

    @property
    def dim(self) -> int:
        return self.A.shape[-1]

    def _scores(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.A @ x.unsqueeze(-1)).squeeze(-1) - self.b) / self.rho

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.rho * torch.logsumexp(self._scores(x), -1) + 0.5 * self.reg * (x * x).sum(-1)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        pi = torch.softmax(self._scores(x), -1)
        return (self.A.transpose(-1, -2) @ pi.unsqueeze(-1)).squeeze(-1) + self.reg * x

    def hessian(self, x: torch.Tensor) -> torch.Tensor:
        pi = torch.softmax(self._scores(x), -1)
        middle = torch.diag_embed(pi) - pi.unsqueeze(-1) * pi.unsqueeze(-2)
        eye = torch.eye(self.dim, dtype=self.A.dtype, device=self.A.device)
        return self.A.transpose(-1, -2) @ middle @ self.A / self.rho + self.reg * eye

    def smoothness(self) -> torch.Tensor:
        """The upper bound L = ‖A‖₂²/ρ + μ."""
        return torch.linalg.matrix_norm(self.A, ord=2) ** 2 / self.rho + self.reg
