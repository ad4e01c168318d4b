"""Quantities of the NTK-style analysis (THEORY.md §3.1; reconstructed, see theory/mathl2o_derivation.md).

- α₀ = σ_{N·d}(G_{L−1,T}): G_{L−1,T} is the (N·d)×H matrix of the (L−1)-th layer's outputs for the inputs of the
  LAST model evaluation, z_T = (∇F(X_{T−1}), X_{T−1}), one row per coordinate of every instance. Step T, not
  step 1: at X₀ = 0 the step-1 inputs (g_j, 0) lie on two rays, so their feature rows are pairwise
  proportional and σ_min would vanish for any width. α₀ = 0 when N·d > H.
- The residual r(θ) = 𝐌X_T − Y ∈ R^{N·b} (so 𝓕 = ½‖r‖²), its Jacobian J w.r.t. all weights or the last
  layer only, and the empirical NTK J Jᵀ (torch.func).
"""

from __future__ import annotations

import torch
from torch.func import functional_call, jacrev

from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import STEP_SCALE, rollout

WHICH = ("all", "last")


def step_features(model: MathL2O, qp: QP, T: int, step: int | None = None,
                  step_scale: float = STEP_SCALE) -> torch.Tensor:
    """G_{L−1,t}: the (N·d)×H feature matrix of step ``step`` (default T) along the model's own trajectory."""
    t = T if step is None else step
    if not 1 <= t <= T:
        raise ValueError(f"step must lie in [1, T={T}], got {t}")
    with torch.no_grad():
        z = rollout(model, qp, t, keep_inputs=True, step_scale=step_scale).inputs[t - 1]
        return model.features(z).reshape(-1, model.width)


def alpha0(model: MathL2O, qp: QP, T: int, step_scale: float = STEP_SCALE) -> float:
    """α₀ = the (N·d)-th singular value of G_{L−1,T} (0 when N·d > H); see the module docstring."""
    G = step_features(model, qp, T, step_scale=step_scale)
    rows, width = G.shape
    if rows > width:
        return 0.0
    return float(torch.linalg.svdvals(G)[rows - 1])


def _parameter_dict(model: MathL2O, which: str) -> dict[str, torch.Tensor]:
    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")
    named = dict(model.named_parameters())
    if which == "last":
        last = f"weights.{model.depth - 1}"
        return {last: named[last].detach()}
    return {k: v.detach() for k, v in named.items()}


def residual_function(model: MathL2O, qp: QP, T: int, which: str = "all", detach_inputs: bool = True,
                      step_scale: float = STEP_SCALE):
    """(params dict, r(params)) with r = vec(𝐌X_T − Y), the other weights held at their current values."""
    params = _parameter_dict(model, which)

    def residual(p: dict[str, torch.Tensor]) -> torch.Tensor:
        X = functional_rollout_X(model, p, qp, T, detach_inputs, step_scale)
        return qp.residual(X).reshape(-1)

    return params, residual


def functional_rollout_X(model: MathL2O, params: dict, qp: QP, T: int, detach_inputs: bool = True,
                         step_scale: float = STEP_SCALE) -> torch.Tensor:
    """X_T with the model's weights replaced by ``params`` (torch.func.functional_call)."""
    step = (step_scale / qp.beta).unsqueeze(-1)
    X = qp.zeros()
    for _ in range(T):
        g = qp.gradient(X)
        z = torch.stack((g, X), dim=-1)
        if detach_inputs:
            z = z.detach()
        X = X - step * functional_call(model, params, (z,), {"kernel": "dense"}) * g
    return X


def flatten(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """The values of a parameter dict concatenated into one vector (dict order)."""
    return torch.cat([v.reshape(-1) for v in params.values()])


def jacobian(model: MathL2O, qp: QP, T: int, which: str = "all", detach_inputs: bool = True,
             step_scale: float = STEP_SCALE) -> torch.Tensor:
    """J = ∂ vec(𝐌X_T − Y)/∂θ, shape (N·b, #params), θ = all weights or W_L only (torch.func.jacrev)."""
    params, residual = residual_function(model, qp, T, which, detach_inputs, step_scale)
    jac = jacrev(residual)(params)
    rows = qp.M.shape[0] * qp.M.shape[1]
    return torch.cat([jac[k].reshape(rows, -1) for k in params], dim=1).detach()


def empirical_ntk(model: MathL2O, qp: QP, T: int, which: str = "all", detach_inputs: bool = True,
                  step_scale: float = STEP_SCALE) -> torch.Tensor:
    """The empirical NTK K = J Jᵀ of the residual, (N·b)×(N·b); ‖∇_θ𝓕‖² = rᵀKr ≥ λ_min(K)·2𝓕."""
    J = jacobian(model, qp, T, which, detach_inputs, step_scale)
    return J @ J.T
