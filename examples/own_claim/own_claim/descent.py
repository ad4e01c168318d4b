"""What THEORY.md §2.1 says CWSS-BFGS must do with any P ∈ [0, 2]^d, measured along runs of a step-size model.

With x⁺ = x − P H g on f(x) = ½xᵀAx + bᵀx (g = Ax + b, minimiser x* = −A⁻¹b, error e = x − x*):

- D4 (exact inverse Hessian): with H = A⁻¹, e⁺ = (I − P)e, so |e⁺_i| = |1 − p_i||e_i| ≤ |e_i| for p_i ∈ [0, 2]:
  every error coordinate contracts (and one with p_i ∉ [0, 2] expands). BFGS keeps H = A⁻¹ on a quadratic
  (y = As gives H⁺ = H), so a run started from H₀ = A⁻¹ contracts at every step.
- D1 (any SPD H): with δ = max_i |p_i − 1| < 1/κ(H), gᵀPHg ≥ (λ_min(H) − δλ_max(H))‖g‖² > 0: the step is a
  descent direction.

Only the public API of l2o-verify's implementations is used (cwss_bfgs, LearnedSteps, Quadratic, random_spd).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from implementations.bfgs import LearnedSteps, StepSizeModel, cwss_bfgs
from implementations.problems import Quadratic


class RecordingSteps:
    """A cwss_bfgs step policy: the model's proposals (through LearnedSteps, not learning), recording at every
    step k the inverse Hessian H_k the solver shows it (``uses_inverse_hessian``), g_k, d_k = H_k g_k and P_k."""

    learns = False
    uses_inverse_hessian = True

    def __init__(self, model: StepSizeModel) -> None:
        self.policy = LearnedSteps(model, learning=False)
        self.steps: list[dict[str, torch.Tensor]] = []
        self._H: torch.Tensor | None = None

    def observe(self, H, rescale, safeguard):
        self._H = H.detach().clone()

    def propose(self, k, x, g, d):
        P, clipped = self.policy.propose(k, x, g, d)
        self.steps.append(dict(H=self._H, g=g.detach().clone(), d=d.detach().clone(), P=P.detach().clone()))
        return P, clipped

    def learn(self, f_next, f, g, d, P):  # pragma: no cover - never called (learns is False)
        raise NotImplementedError


@dataclass
class Margins:
    """The worst margins of one run: contraction (D4) and descent (D1); ≤ 0 where the theory holds."""

    steps: int = 0
    contraction: float = -math.inf  # max_k,i (|e⁺_i| − min(|1 − p_i|, 1)|e_i| − tol_k) / tol_k
    descent_applicable: int = 0  # steps with δ < 1/κ(H_k)
    descent: float = -math.inf  # max over those of (bound − gᵀPHg − tol) / tol, bound = (λ_min − δλ_max)‖g‖²
    nonpositive_descent: int = 0  # applicable steps with gᵀPHg ≤ 0 although the bound exceeds tol
    below_roundoff: int = 0  # applicable steps whose bound is ≤ tol (a converged run: the sign is round-off)
    p_low: float = math.inf
    p_high: float = -math.inf


def _tolerance(dim: int, dtype: torch.dtype, scale: torch.Tensor) -> torch.Tensor:
    """64·d·eps·scale: the round-off allowance of a d-term product (γ_d ≈ d·eps, with a factor 64 of headroom)."""
    return 64 * dim * torch.finfo(dtype).eps * scale


def contraction_margins(model: StepSizeModel, problem: Quadratic, x0: torch.Tensor, iterations: int) -> Margins:
    """D4 along a run from H₀ = A⁻¹: the worst (|e⁺_i| − min(|1 − p_i|, 1)|e_i| − tol) / tol over steps and
    coordinates (≤ 0: the coordinate contracts at the rate |1 − p_i| and does not expand, which needs
    p_i ∈ [0, 2]), with tol = 64·d·eps·κ(A)·(‖x_k‖_∞ + ‖x*‖_∞) (the round-off of A⁻¹(Ax + b) relative to e)."""
    A = problem.A
    inverse = torch.linalg.inv(A)
    inverse = (inverse + inverse.T) / 2
    x_star = problem.minimiser()
    eigenvalues = torch.linalg.eigvalsh(A)
    kappa = eigenvalues[-1] / eigenvalues[0]
    policy = RecordingSteps(model)
    trace = cwss_bfgs(problem, x0.unsqueeze(0), policy, iterations, H0=inverse, cond_every=0,
                      keep_iterates=True)
    margins = Margins()
    iterates = trace.iterates[:, 0]
    for k, step in enumerate(policy.steps):
        P = step["P"][0]
        error, following = iterates[k] - x_star, iterates[k + 1] - x_star
        tol = _tolerance(A.shape[0], A.dtype, kappa * (iterates[k].abs().max() + x_star.abs().max()))
        rate = (1 - P).abs().clamp_max(1.0)
        margin = (following.abs() - rate * error.abs() - tol) / tol
        margins.contraction = max(margins.contraction, float(margin.max()))
        margins.p_low, margins.p_high = min(margins.p_low, float(P.min())), max(margins.p_high, float(P.max()))
        margins.steps += 1
    return margins


def descent_margins(model: StepSizeModel, problem: Quadratic, x0: torch.Tensor, iterations: int) -> Margins:
    """D1 along a run from the solver's default H₀: at every step with δ = max|p_i − 1| < λ_min(H_k)/λ_max(H_k),
    the worst (bound − gᵀPHg − tol) / tol with bound = (λ_min − δλ_max)‖g‖² and
    tol = 64·d·eps·(Σ_i |g_i p_i (Hg)_i| + λ_max‖g‖²); the count of such steps with gᵀPHg ≤ 0 where bound > tol
    (where bound ≤ tol, near the minimiser, D1's positive margin is below round-off: counted apart)."""
    policy = RecordingSteps(model)
    cwss_bfgs(problem, x0.unsqueeze(0), policy, iterations, cond_every=0)
    margins = Margins()
    for step in policy.steps:
        H, g, d, P = step["H"][0], step["g"][0], step["d"][0], step["P"][0]
        eigenvalues = torch.linalg.eigvalsh(H)
        low, high = eigenvalues[0], eigenvalues[-1]
        delta = (P - 1).abs().max()
        margins.p_low, margins.p_high = min(margins.p_low, float(P.min())), max(margins.p_high, float(P.max()))
        margins.steps += 1
        if not bool(delta * high < low):
            continue
        product = (g * P * d).sum()
        bound = (low - delta * high) * (g * g).sum()
        tol = _tolerance(g.shape[0], g.dtype, (g * P * d).abs().sum() + high * (g * g).sum())
        margins.descent_applicable += 1
        margins.descent = max(margins.descent, float((bound - product - tol) / tol))
        resolved = bool(bound > tol)
        margins.below_roundoff += int(not resolved)
        margins.nonpositive_descent += int(resolved and bool(product <= 0))
    return margins

