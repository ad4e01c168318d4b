"""Least squares f(x) = ½‖A x − y‖², optionally batched over instances (A: (..., m, d), y: (..., m))."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.problems.summary import TensorSummaryRepr
from implementations.validation import (
    as_tensor,
    check_data_pair,
    check_device,
    check_finite,
    check_positive_int,
    draw_options,
)


@dataclass(frozen=True, repr=False)
class LeastSquares(TensorSummaryRepr):
    """f(x) = ½‖Ax − y‖²; ∇f = Aᵀ(Ax − y); ∇²f = AᵀA; L = λ_max(AᵀA)."""

    A: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        """A (…, m, d) and y (…, m): finite, non-empty real floating tensors of one dtype and device."""
        check_data_pair("A", self.A, "y", self.y)

    @classmethod
    def create(cls, A, y) -> "LeastSquares":
        A = check_finite("A", as_tensor("A", A))
        y = check_finite("y", as_tensor("y", y, like=A))
        if A.dim() < 2 or y.shape != A.shape[:-1]:
            raise ValueError(f"A (…, m, d) and y (…, m) do not match: A {tuple(A.shape)}, y {tuple(y.shape)}")
        return cls(A, y)

    @classmethod
    def random_cfgd(cls, d: int = 100, m: int = 100, generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> "LeastSquares":
        """The L2O-CFGD task (THEORY.md §1.4): f = ½‖Wᵀx − y‖², W_ij ~ N(0,1)/m, y ~ N(0, I); drawn in ``dtype``
        on the generator's device (the CPU without one), then moved to ``device``."""
        check_positive_int("d", d)
        check_positive_int("m", m)
        draw = draw_options(generator, dtype)
        device = check_device("device", device)
        W = torch.randn(d, m, **draw) / m
        y = torch.randn(m, **draw)
        return cls(W.T.contiguous().to(device), y.to(device))

    @property
    def dim(self) -> int:
        return self.A.shape[-1]

    def value(self, x: torch.Tensor) -> torch.Tensor:
        residual = (self.A @ x.unsqueeze(-1)).squeeze(-1) - self.y
        return 0.5 * (residual * residual).sum(-1)

    __call__ = value

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        residual = (self.A @ x.unsqueeze(-1)).squeeze(-1) - self.y
        return (self.A.transpose(-1, -2) @ residual.unsqueeze(-1)).squeeze(-1)

    def hessian_vector_product(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """∇²f(x) v = Aᵀ(A v) (independent of x)."""
        return (self.A.transpose(-1, -2) @ (self.A @ v.unsqueeze(-1))).squeeze(-1)

    def hessian(self) -> torch.Tensor:
        return self.A.transpose(-1, -2) @ self.A

    def smoothness(self) -> torch.Tensor:
        """L = λ_max(AᵀA) per instance."""
        return torch.linalg.eigvalsh(self.hessian())[..., -1]

    @property
    def has_coordinate_structure(self) -> bool:
        """True for a single instance (A of shape (m, d)), where coordinate_partials applies."""
        return self.A.dim() == 2

    def coordinate_partials(self, x: torch.Tensor, index: torch.Tensor, t: torch.Tensor,
                            probe_vectors: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Closed-form derivatives of φ_j(t) = f(x + t e_j), j = index[i], at the points x + t_i e_j (derived:
        f is quadratic with Hessian Q = AᵀA): φ_j'(t) = ∇f(x)_j + t Q_jj and φ_j''(t) = Q_jj; with
        probe_vectors V (K, d), (φ_j'(t_i), M) with M[i, k] = (Q v_k)_j, the same at every point. The
        interface of FlatMLPObjective.coordinate_partials (used by implementations.cfgd.caputo)."""
        if not self.has_coordinate_structure:
            raise ValueError("coordinate_partials needs a single instance, A of shape (m, d); "
                             f"got {tuple(self.A.shape)}")
        curvature = (self.A * self.A).sum(0)[index]
        first = self.gradient(x)[index] + t * curvature
        if probe_vectors is None:
            return first, curvature
        return first, (self.A.T @ (self.A @ probe_vectors.T))[index]
