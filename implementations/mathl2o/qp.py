"""The stacked least-squares family of Math-L2O (THEORY.md §3.1; paper §3 and the authors' `optimizees/qp.py`).

N instances f_i(x) = ½‖M_i x − y_i‖², M_i ∈ R^{b×d} with unit-norm columns and full row rank (b ≤ d),
stacked into F(X) = Σ_i f_i(x_i) = ½‖𝐌X − Y‖² (the code sums over instances, "align with paper").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.validation import (
    as_tensor,
    check_device,
    check_dtype,
    check_finite,
    check_positive_int,
    check_real_tensor,
    check_seed,
)

#: Smallest singular value of M_i (relative to its largest) below which M_i counts as rank deficient.
RANK_RTOL = 1e-10


def _check_beta(M: torch.Tensor, beta: torch.Tensor) -> None:
    """max_j ‖M_i e_j‖² <= β_i <= ‖M_i‖_F² per instance (σ_max² lies there), to a relative 1e3·eps."""
    squared = M * M
    low, high = squared.sum(1).amax(-1), squared.sum((1, 2))
    slack = 1e3 * torch.finfo(M.dtype).eps
    bad = ~((beta >= low * (1 - slack)) & (beta <= high * (1 + slack)))
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise ValueError(f"beta must hold λ_max(M_iᵀM_i) per instance, which lies in [max column norm², "
                         f"‖M_i‖_F²] = [{low[i].item():.6g}, {high[i].item():.6g}] for instance {i}; got "
                         f"{beta[i].item()!r}")


@dataclass(frozen=True)
class QP:
    """N stacked instances: ``M`` (N, b, d), ``Y`` (N, b); ``beta`` (N,) = λ_max(M_iᵀM_i) per instance.

    ∇F(X)_i = M_iᵀ(M_i x_i − y_i); F* = 0 whenever Y lies in the range of 𝐌 (always for full row rank).
    """

    M: torch.Tensor
    Y: torch.Tensor
    beta: torch.Tensor

    def __post_init__(self) -> None:
        """Checks that need no factorisation (the rank check is QP.create's): M (N, b, d) with b <= d, Y (N, b) and
        beta (N,) finite real floating tensors of one dtype and device, and each β_i between the largest squared
        column norm of M_i and its squared Frobenius norm, the range σ_max² always lies in (to round-off)."""
        check_real_tensor("M", self.M, dim=3)
        n, b, d = self.M.shape
        if b > d:
            raise ValueError(f"each M_i must have b <= d rows (full row rank), got b={b}, d={d}")
        for name, value, shape in (("Y", self.Y, (n, b)), ("beta", self.beta, (n,))):
            check_real_tensor(name, value)
            if value.shape != shape or value.dtype != self.M.dtype or value.device != self.M.device:
                raise ValueError(f"{name} must have shape {shape}, M's dtype {self.M.dtype} and device "
                                 f"{self.M.device}, got {tuple(value.shape)}, {value.dtype}, {value.device}")
        _check_beta(self.M, self.beta)

    @classmethod
    def create(cls, M, Y) -> "QP":
        """Validate shapes, finiteness, b ≤ d and full row rank of every M_i; compute β_i = ‖M_i‖₂²."""
        M = check_finite("M", as_tensor("M", M))
        Y = check_finite("Y", as_tensor("Y", Y, like=M))
        if M.dim() != 3 or M.numel() == 0:
            raise ValueError(f"M must have shape (N, b, d) with N, b, d >= 1, got {tuple(M.shape)}")
        n, b, d = M.shape
        if b > d:
            raise ValueError(f"each M_i must have b <= d rows (full row rank), got b={b}, d={d}")
        if Y.shape != (n, b):
            raise ValueError(f"Y must have shape (N, b) = {(n, b)}, got {tuple(Y.shape)}")
        singular = torch.linalg.svdvals(M)
        if bool((singular[:, -1] <= RANK_RTOL * singular[:, 0]).any()):
            worst = int(torch.argmin(singular[:, -1] / singular[:, 0]))
            raise ValueError(f"M must have full row rank b={b}; instance {worst} has σ_min/σ_max = "
                             f"{(singular[worst, -1] / singular[worst, 0]).item():.3g} <= {RANK_RTOL}")
        return cls(M, Y, singular[:, 0] ** 2)

    @classmethod
    def random(cls, N: int, d: int, b: int, seed: int = 0, dtype: torch.dtype = torch.float64,
               device: str | torch.device = "cpu") -> "QP":
        """The code's generator: M Gaussian with unit-norm columns, x_gt ~ N(0, I), y = M x_gt, X₀ = 0."""
        check_positive_int("N", N)
        check_positive_int("d", d)
        check_positive_int("b", b)
        check_seed("seed", seed)
        check_dtype("dtype", dtype)
        check_device("device", device)
        if b > d:
            raise ValueError(f"b must satisfy 1 <= b <= d for full row rank, got b={b}, d={d}")
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        M = torch.randn(N, b, d, generator=gen, dtype=torch.float64, device=gen.device)  # drawn on the host
        M = M / M.norm(dim=1, keepdim=True)
        x_gt = torch.randn(N, d, generator=gen, dtype=torch.float64, device=gen.device)
        Y = (M @ x_gt.unsqueeze(-1)).squeeze(-1)
        return cls.create(M.to(device=device, dtype=dtype), Y.to(device=device, dtype=dtype))

    @property
    def shape(self) -> tuple[int, int, int]:
        """(N, b, d)."""
        return tuple(self.M.shape)

    def to(self, dtype: torch.dtype | None = None, device=None) -> "QP":
        return QP(self.M.to(dtype=dtype, device=device), self.Y.to(dtype=dtype, device=device),
                  self.beta.to(dtype=dtype, device=device))

    def zeros(self) -> torch.Tensor:
        """X₀ = 0, shape (N, d)."""
        return self.M.new_zeros(self.M.shape[0], self.M.shape[2])

    # matvec and rmatvec multiply a row vector into the matrix: on the CPU the batched matrix-vector product
    # (M @ x.unsqueeze(-1)) runs 2.5–8× slower than this equivalent matrix-matrix form (measured at the paper's
    # Fig. 2 scale: benchmarks/mathl2o_qp_products.md), and these two products are most of an unrolled step.

    def matvec(self, X: torch.Tensor) -> torch.Tensor:
        """𝐌X: M_i x_i per instance, X (N, d) → (N, b)."""
        return (X.unsqueeze(-2) @ self.M.transpose(-1, -2)).squeeze(-2)

    def rmatvec(self, R: torch.Tensor) -> torch.Tensor:
        """𝐌ᵀR: M_iᵀ r_i per instance, R (N, b) → (N, d)."""
        return (R.unsqueeze(-2) @ self.M).squeeze(-2)

    def residual(self, X: torch.Tensor) -> torch.Tensor:
        """𝐌X − Y, shape (N, b)."""
        return self.matvec(X) - self.Y

    def values(self, X: torch.Tensor) -> torch.Tensor:
        """f_i(x_i) per instance, shape (N,)."""
        r = self.residual(X)
        return 0.5 * (r * r).sum(-1)

    def value(self, X: torch.Tensor) -> torch.Tensor:
        """F(X) = Σ_i f_i(x_i) (a 0-d tensor)."""
        return self.values(X).sum()

    def gradient(self, X: torch.Tensor) -> torch.Tensor:
        """∇F(X) = 𝐌ᵀ(𝐌X − Y), shape (N, d)."""
        return self.rmatvec(self.residual(X))

    def minimum_norm_solution(self) -> torch.Tensor:
        """X* = 𝐌⁺Y: the minimiser closest to X₀ = 0 (GD from 0 converges to it), shape (N, d)."""
        return (torch.linalg.pinv(self.M) @ self.Y.unsqueeze(-1)).squeeze(-1)
