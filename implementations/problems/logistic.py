"""ℓ₂-regularised logistic regression, optionally batched over instances (A: (..., m, d), labels: (..., m)).

f(x) = (1/m) Σ_i log(1 + exp(−y_i a_iᵀx)) + (μ/2)‖x‖²,  y_i ∈ {−1, +1}, μ > 0 (standard; the BFGS paper's
logistic-regression task, THEORY.md §2). ∇f = −(1/m) Aᵀ(y ⊙ σ(−y ⊙ Ax)) + μx;
∇²f = (1/m) Aᵀ diag(σ(z)(1 − σ(z))) A + μI, z = y ⊙ Ax; μ-strongly convex and L-smooth with
L = λ_max(AᵀA)/(4m) + μ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from implementations.problems.summary import TensorSummaryRepr
from implementations.validation import (
    as_tensor,
    check_batch_shape,
    check_data_pair,
    check_device,
    check_finite,
    check_nonnegative,
    check_positive,
    check_positive_int,
    draw_options,
)


@dataclass(frozen=True, repr=False)
class LogisticRegression(TensorSummaryRepr):
    A: torch.Tensor
    labels: torch.Tensor
    reg: float

    def __post_init__(self) -> None:
        """A (…, m, d) and labels (…, m) in {−1, +1}: finite real floating tensors of one dtype and device; reg a
        positive finite number."""
        check_data_pair("A", self.A, "labels", self.labels)
        if not bool(((self.labels == 1) | (self.labels == -1)).all()):
            raise ValueError("labels must be −1 or +1")
        check_positive("reg", self.reg)

    @classmethod
    def create(cls, A, labels, reg: float) -> "LogisticRegression":
        A = check_finite("A", as_tensor("A", A))
        labels = check_finite("labels", as_tensor("labels", labels, like=A))
        check_positive("reg", reg)
        if A.dim() < 2 or labels.shape != A.shape[:-1]:
            raise ValueError(f"A (…, m, d) and labels (…, m) do not match: A {tuple(A.shape)}, "
                             f"labels {tuple(labels.shape)}")
        if not bool(((labels == 1) | (labels == -1)).all()):
            raise ValueError("labels must be −1 or +1")
        return cls(A, labels, float(reg))

    @classmethod
    def random(cls, d: int, m: int, reg: float = 1e-2, batch: tuple[int, ...] = (),
               generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
               noise: float = 0.5, device: torch.device | str = "cpu") -> "LogisticRegression":
        """A_ij ~ N(0, 1/d), x_true ~ N(0, I), labels = sign(Ax_true + noise·N(0, 1)) (a synthetic task); drawn in
        ``dtype`` on the generator's device (the CPU without one), then moved to ``device``."""
        check_positive_int("d", d)
        check_positive_int("m", m)
        check_batch_shape("batch", batch)
        draw = draw_options(generator, dtype)
        check_nonnegative("noise", noise)
        device = check_device("device", device)
        A = torch.randn(*batch, m, d, **draw) / d ** 0.5
        x_true = torch.randn(*batch, d, 1, **draw)
        scores = (A @ x_true).squeeze(-1) + noise * torch.randn(*batch, m, **draw)
        labels = torch.where(scores >= 0, 1.0, -1.0).to(dtype)
        return cls.create(A.to(device), labels.to(device), reg)

    @property
    def dim(self) -> int:
        return self.A.shape[-1]

    def _margins(self, x: torch.Tensor) -> torch.Tensor:
        return self.labels * (self.A @ x.unsqueeze(-1)).squeeze(-1)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(-self._margins(x)).mean(-1) + 0.5 * self.reg * (x * x).sum(-1)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        weights = -self.labels * torch.sigmoid(-self._margins(x)) / self.A.shape[-2]
        return (self.A.transpose(-1, -2) @ weights.unsqueeze(-1)).squeeze(-1) + self.reg * x

    def hessian(self, x: torch.Tensor) -> torch.Tensor:
        z = self._margins(x)
        curvature = torch.sigmoid(z) * torch.sigmoid(-z) / self.A.shape[-2]
        eye = torch.eye(self.dim, dtype=self.A.dtype, device=self.A.device)
        return self.A.transpose(-1, -2) @ (curvature.unsqueeze(-1) * self.A) + self.reg * eye

    def smoothness(self) -> torch.Tensor:
        """L = λ_max(AᵀA)/(4m) + μ."""
        gram = self.A.transpose(-1, -2) @ self.A
        return torch.linalg.eigvalsh(gram)[..., -1] / (4 * self.A.shape[-2]) + self.reg

    def strong_convexity(self) -> float:
        """μ = reg."""
        return self.reg
