"""Adapter: the plain numbers of the reconstructed analysis (theory/mathl2o.py), computed from a model and a QP.

Everything is for the residual r(θ) = vec(𝐌X_T − Y) (𝓕 = ½‖r‖²) and the Jacobians J = ∂r/∂θ (all weights)
and J_L = ∂r/∂W_L. Γ and Λ are suprema over the ball B(θ₀, R); they are ESTIMATED by sampling points of the
ball (rays in sampled directions, read at geometric distances, :func:`sample_distances`, and maximised
between them, :func:`ray_maximum`), so they are lower estimates of the suprema: the lemma chain
(mathl2o.lemma.chain) then checks them on the iterates of real training runs.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import asdict, dataclass

import torch

from implementations.mathl2o.analysis import alpha0, jacobian, step_features
from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import STEP_SCALE, rollout
from theory.mathl2o import ball_radius


@dataclass(frozen=True)
class NTKConstants:
    """loss0 = 𝓕(θ₀); mu0 = λ_min(J_L J_Lᵀ)(θ₀); gamma0 = ‖J(θ₀)‖₂; gamma, lipschitz: sampled sup of ‖J‖₂ and
    of ‖J(θ) − J(θ₀)‖₂/‖θ − θ₀‖ on B(θ₀, sampled_radius); radius = 4Γ√(2𝓕₀)/μ₀ (∞ when μ₀ = 0);
    sampled_radius = radius, or SAMPLING_REACH typical SGD step lengths when the radius is infinite;
    alpha0 (analysis.alpha0); sigma_last = σ_min(K_T), tail = Σ_{t<T}‖K_t‖₂‖G_t‖₂ (the α₀ form of Eq. 13;
    only at W_L = 0)."""

    loss0: float
    mu0: float
    gamma0: float
    gamma: float
    lipschitz: float
    radius: float
    sampled_radius: float
    alpha0: float
    sigma_last: float
    tail: float

    def as_dict(self) -> dict:
        return asdict(self)


def shifted(model: MathL2O, delta: torch.Tensor) -> MathL2O:
    """A copy of ``model`` with its flattened weights moved by ``delta``."""
    moved = copy.deepcopy(model)
    offset = 0
    with torch.no_grad():
        for p in moved.parameters():
            p.add_(delta[offset: offset + p.numel()].view_as(p))
            offset += p.numel()
    return moved


def flat_parameters(model: MathL2O) -> torch.Tensor:
    """All weights of ``model`` as one detached vector (parameter order)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def last_layer_terms(model: MathL2O, qp: QP, T: int, step_scale: float = STEP_SCALE) -> list[torch.Tensor]:
    """K_t (N·b × N·d) with J_L(θ₀) = Σ_t K_t G_t at W_L = 0 (P ≡ 1, 2σ'(0) = ½; derivation §3).

    K_t = −𝐌 Φ_{T,t} S diag(g_{t−1}) / 2, Φ_{T,t} = (I − S𝐌ᵀ𝐌)^{T−t}, S = diag(step_scale/β_i), all block
    diagonal over instances; g_{t−1} = ∇F(X_{t−1}) along gradient descent.
    """
    if bool((model.last != 0).any()):
        raise ValueError("last_layer_terms needs the deterministic initialisation (W_L = 0)")
    n, b, d = qp.shape
    step = (step_scale / qp.beta).view(n, 1, 1)
    eye = torch.eye(d, dtype=qp.M.dtype, device=qp.M.device)
    contraction = eye - step * (qp.M.transpose(-1, -2) @ qp.M)
    X = qp.zeros()
    gradients = []
    for _ in range(T):
        g = qp.gradient(X)
        gradients.append(g)
        X = X - step.squeeze(-1) * g
    terms = []
    for t in range(1, T + 1):
        phi = torch.linalg.matrix_power(contraction, T - t)
        blocks = -qp.M @ phi @ (step * torch.diag_embed(gradients[t - 1])) / 2
        terms.append(torch.block_diag(*blocks))
    return terms


def probe_directions(model: MathL2O, qp: QP, T: int, count: int, gen: torch.Generator,
                     step_scale: float = STEP_SCALE) -> list[torch.Tensor]:
    """Unit directions in weight space at which Γ and Λ are sampled: −∇𝓕(θ₀) (the first SGD step), ``count``
    random directions in all weights and ``count`` random directions in W_L only (random directions in all
    weights barely move W_L, along which J changes fastest)."""
    params = list(model.parameters())
    loss = rollout(model, qp, T, step_scale=step_scale).values[-1]
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])
    n_params, n_last = grad.numel(), model.last.numel()
    out = [-grad / grad.norm()] if float(grad.norm()) > 0 else []
    for i in range(2 * count):
        u = torch.randn(n_params, generator=gen, dtype=torch.float64, device=gen.device).to(grad)
        if i >= count:
            u[: n_params - n_last] = 0
        out.append(u / u.norm())
    return out


def sample_distances(radius: float, step_scale_distance: float, count: int = 10) -> list[float]:
    """Distances from θ₀ at which Γ and Λ are sampled: geometric from the ball radius R down to 10⁻³ times
    the length √(2𝓕₀)/Γ₀ of a typical SGD step at η = 1/Γ₀² (Λ is largest at short range, Γ at long range)."""
    low = min(radius, 1e-3 * step_scale_distance)
    if not (math.isfinite(radius) and radius > 0 and low > 0):
        return []
    ratio = (radius / low) ** (1.0 / max(count - 1, 1))
    return [low * ratio ** i for i in range(count)]


def ray_maximum(f, distances: list[float], refinements: int = 12) -> float:
    """The largest f(s) found along one ray: f at every grid distance, then a golden-section search in log s
    between the two grid neighbours of the best one (``refinements`` more evaluations). A suprema estimate
    must maximise along a sampled ray, not only read it at a coarse grid: at seed 2 of mathl2o.lemma.chain
    the Lipschitz ratio along −∇𝓕(θ₀) peaks at 1130 between grid distances that give 1121, and the first
    SGD step, which lies on that ray, exceeded the grid value. Still a lower estimate of the supremum."""
    values = [f(s) for s in distances]
    i = max(range(len(values)), key=values.__getitem__)
    best = values[i]
    lo, hi = math.log(distances[max(i - 1, 0)]), math.log(distances[min(i + 1, len(distances) - 1)])
    if hi <= lo:
        return best
    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - inv_phi * (hi - lo), lo + inv_phi * (hi - lo)
    fa, fb = f(math.exp(a)), f(math.exp(b))
    for _ in range(refinements - 2):
        best = max(best, fa, fb)
        if fa >= fb:
            hi, b, fb = b, a, fa
            a = hi - inv_phi * (hi - lo)
            fa = f(math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + inv_phi * (hi - lo)
            fb = f(math.exp(b))
    return max(best, fa, fb)


#: How far Γ and Λ are sampled when μ₀ = 0 makes the ball radius infinite: this many typical SGD step
#: lengths √(2𝓕₀)/Γ₀ (an SGD run of a few hundred steps at η ≤ 1/Γ₀² moves less).
SAMPLING_REACH = 1e3


def ntk_constants(model: MathL2O, qp: QP, T: int, directions: int = 4, rounds: int = 2, seed: int = 0,
                  step_scale: float = STEP_SCALE) -> NTKConstants:
    """Compute :class:`NTKConstants` at the model's current weights θ₀ (see the module docstring).

    The radius depends on Γ and Γ on the radius: start from Γ = ‖J(θ₀)‖ and re-sample ``rounds`` times.
    With μ₀ = 0 (R = ∞) Γ and Λ are sampled on B(θ₀, SAMPLING_REACH·√(2𝓕₀)/Γ₀) instead; before, they were
    left at Γ₀ and 0, which are not estimates of anything, and the lemma chain flagged every step that moved J.
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    loss0 = float(rollout(model, qp, T, step_scale=step_scale).values[-1].detach())
    J0 = jacobian(model, qp, T, "all", step_scale=step_scale)
    JL0 = jacobian(model, qp, T, "last", step_scale=step_scale)
    mu0 = float(torch.linalg.eigvalsh(JL0 @ JL0.T)[0].clamp_min(0.0))
    gamma0 = float(torch.linalg.matrix_norm(J0, ord=2))
    gamma, lipschitz = gamma0, 0.0

    def radius_for(gamma_estimate: float) -> float:
        return ball_radius(gamma_estimate, loss0, mu0) if mu0 > 0 else math.inf

    radius = radius_for(gamma)
    sample_directions = probe_directions(model, qp, T, directions, gen, step_scale)
    step_length = math.sqrt(2.0 * loss0) / max(gamma0, 1e-300)
    sampled_radius = radius

    def along(u: torch.Tensor, distance: float) -> tuple[float, float]:
        J = jacobian(shifted(model, distance * u), qp, T, "all", step_scale=step_scale)
        return float(torch.linalg.matrix_norm(J, ord=2)), float(torch.linalg.matrix_norm(J - J0, ord=2)) / distance

    for _ in range(rounds):
        sampled_radius = radius if math.isfinite(radius) else SAMPLING_REACH * step_length
        distances = sample_distances(sampled_radius, step_length)
        for u in sample_directions if distances else []:
            on_ray = functools.lru_cache(maxsize=None)(functools.partial(along, u))  # the grid is shared
            gamma = max(gamma, ray_maximum(lambda distance, on_ray=on_ray: on_ray(distance)[0], distances))
            lipschitz = max(lipschitz, ray_maximum(lambda distance, on_ray=on_ray: on_ray(distance)[1], distances))
        radius = radius_for(gamma)
    sigma_last, tail = math.nan, math.nan
    if not bool((model.last != 0).any()):
        terms = last_layer_terms(model, qp, T, step_scale)
        rows = terms[-1].shape[0]
        sigma_last = float(torch.linalg.svdvals(terms[-1])[rows - 1])
        tail = sum(float(torch.linalg.matrix_norm(K, ord=2))
                   * float(torch.linalg.matrix_norm(step_features(model, qp, T, step=t, step_scale=step_scale), ord=2))
                   for t, K in enumerate(terms[:-1], start=1))
    return NTKConstants(loss0, mu0, gamma0, gamma, lipschitz, radius, sampled_radius,
                        alpha0(model, qp, T, step_scale), sigma_last, tail)
