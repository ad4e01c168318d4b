"""Rigorous upper bounds of Γ and Λ for one unrolled step (T = 1) of the depth-2 model at its deterministic
initialisation, so that the reconstructed Eq. 13 can be CERTIFIED to hold (derived here; theory/mathl2o_derivation.md
§7). The sampled constants of implementations.mathl2o.constants are lower estimates of the suprema: they can only
show that Eq. 13 fails.

Set-up (layers 2 → H → 1, W₁ = e·Q, W₂ = 0, X₀ = 0, T = 1). The step-1 inputs are z_j = (g_j, 0) with
g = ∇F(0) = −𝐌ᵀY, so only the first row w of W₁ matters: A(w) = [ReLU(g_j w_k)]_{jk} (N·d × H), o = A W₂,
P = 2σ(o), X₁ = S (P ⊙ c) with c = 𝐌ᵀY, and r = D P − Y with D = blockdiag_i(M_i S_i diag(c_i)). In the ball
B(θ₀, R) with R below the kink distance min_k |w_k| the sign pattern of A is fixed, A is linear in w, and with
‖A‖ ≤ a₀ + ‖g‖R (a₀ = ‖A(w₀)‖₂), ‖W₂‖ ≤ R, 2σ' ≤ ½, |2σ''(o)| ≤ min(1/(3√3), |o|/4):
  Γ̄(R) = ½‖D‖ (a₀ + 2‖g‖R) ≥ sup_B ‖J‖₂,
  Λ̄(R) = ‖D‖ (min(1/(3√3), (a₀ + ‖g‖R)R/4)·(a₀ + 2‖g‖R)² + ‖g‖) ≥ sup_B ‖∇²r‖ (the Lipschitz constant of J),
and R solves R = 4Γ̄(R)‖r₀‖/μ₀ (the theorem's radius with Γ = Γ̄): R = 2‖D‖a₀‖r₀‖/(μ₀ − 4‖D‖‖g‖‖r₀‖).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import STEP_SCALE
from implementations.validation import check_instance, check_positive
from theory.mathl2o import ONE_MINUS_INV_SQRT2, SIGMOID_D2_MAX, SIGMOID_D3_MAX


@dataclass(frozen=True)
class CertifiedConstants:
    """loss0 = 𝓕(θ₀); mu0 = λ_min(J_L J_Lᵀ)(θ₀) (exact); gamma, lipschitz: the upper bounds Γ̄, Λ̄ on B(θ₀, radius);
    radius: the fixed point R (inf when none exists); kink_distance: min_k |w_k| (the bounds need radius below it);
    certified: radius < kink_distance and μ₀ > 0; margin: (1 − 1/√2)√μ₀ − Λ̄R (≥ 0 with ``certified``: Eq. 13
    holds); lr_bound: 1/(Γ̄² + Λ̄√(2𝓕₀)) (Eq. 14's η); relative_loss0: 𝓕₀/(½‖Y‖²)."""

    loss0: float
    mu0: float
    gamma: float
    lipschitz: float
    radius: float
    kink_distance: float
    certified: bool
    margin: float
    lr_bound: float
    relative_loss0: float

    def as_dict(self) -> dict:
        return asdict(self)


def one_step_pieces(model: MathL2O, qp: QP, step_scale: float = STEP_SCALE) -> dict[str, torch.Tensor]:
    """The module docstring's D (N·b × N·d), A₀ (N·d × H), g (N·d) and r₀ (N·b) at θ₀ (W₂ = 0)."""
    check_instance("model", model, MathL2O)
    check_instance("qp", qp, QP)
    check_positive("step_scale", step_scale)
    if model.depth != 2 or bool((model.last != 0).any()):
        raise ValueError("model must be the depth-2 MathL2O at its deterministic initialisation (W₂ = 0), got "
                         f"depth {model.depth}" + ("" if model.depth != 2 else " with W₂ ≠ 0"))
    w_first = model.weights[0].detach()
    if w_first.dtype != qp.M.dtype or w_first.device != qp.M.device:
        raise TypeError(f"model ({w_first.dtype}, {w_first.device}) and qp ({qp.M.dtype}, {qp.M.device}) must share "
                        "dtype and device")
    n, b, d = qp.shape
    c = (qp.M.transpose(-1, -2) @ qp.Y.unsqueeze(-1)).squeeze(-1)  # 𝐌ᵀY, (N, d)
    S = (step_scale / qp.beta).view(n, 1, 1)
    D = torch.block_diag(*(S * qp.M * c.unsqueeze(1)))  # M_i S_i diag(c_i)
    g = -c.reshape(-1)
    A0 = torch.relu(g.unsqueeze(-1) * w_first[0].unsqueeze(0))
    r0 = D @ torch.ones(n * d, dtype=qp.M.dtype, device=qp.M.device) - qp.Y.reshape(-1)
    return {"D": D, "A0": A0, "g": g, "r0": r0}


def certified_constants_t1(model: MathL2O, qp: QP, step_scale: float = STEP_SCALE) -> CertifiedConstants:
    """The module docstring's bounds for the depth-2 model at θ₀ on ``qp`` with T = 1."""
    pieces = one_step_pieces(model, qp, step_scale)
    D, A0, g, r0 = pieces["D"], pieces["A0"], pieces["g"], pieces["r0"]
    norm_D = float(torch.linalg.matrix_norm(D, ord=2))
    a0 = float(torch.linalg.matrix_norm(A0, ord=2))
    norm_g, norm_r = float(g.norm()), float(r0.norm())
    JL = 0.5 * D @ A0
    mu0 = float(torch.linalg.eigvalsh(JL @ JL.T)[0].clamp_min(0.0))
    loss0 = 0.5 * norm_r ** 2
    kink = float(model.weights[0].detach()[0].abs().min())
    denominator = mu0 - 4 * norm_D * norm_g * norm_r
    radius = 2 * norm_D * a0 * norm_r / denominator if mu0 > 0 and denominator > 0 else math.inf
    if math.isfinite(radius):
        gamma = 0.5 * norm_D * (a0 + 2 * norm_g * radius)
        curvature = min(SIGMOID_D2_MAX * 2, (a0 + norm_g * radius) * radius * 2 * SIGMOID_D3_MAX)
        lipschitz = norm_D * (curvature * (a0 + 2 * norm_g * radius) ** 2 + norm_g)
        margin = ONE_MINUS_INV_SQRT2 * math.sqrt(mu0) - lipschitz * radius
        lr_bound = 1.0 / (gamma ** 2 + lipschitz * norm_r)
    else:
        gamma = lipschitz = lr_bound = math.nan
        margin = -math.inf
    y_sq = float((qp.Y * qp.Y).sum())
    return CertifiedConstants(loss0, mu0, gamma, lipschitz, radius, kink, bool(radius < kink and mu0 > 0), margin,
                              lr_bound, loss0 / (0.5 * y_sq) if y_sq > 0 else math.nan)
