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
from implementations.mathl2o.unroll import STEP_SCALE, check_unroll_args, descent_steps, rollout
from implementations.validation import check_bool, check_choice, check_instance, check_positive_int

WHICH = ("all", "last")


def check_analysis_args(model, qp, T, step_scale, which: str = "all", detach_inputs: bool = True) -> None:
    """A MathL2O (the analysis needs weights; None is rejected), a QP of its dtype and device, T >= 1, a positive
    finite step_scale, ``which`` in WHICH and a bool ``detach_inputs``."""
    check_instance("model", model, MathL2O)
    check_unroll_args(model, qp, T, step_scale)
    check_choice("which", which, WHICH)
    check_bool("detach_inputs", detach_inputs)


def _diverged(model: MathL2O, qp: QP, T: int, step_scale: float, what: str) -> ValueError:
    """The error for an analysis of a run whose iterates overflowed (it has no features or Jacobian)."""
    with torch.no_grad():
        at = rollout(model, qp, T, step_scale=step_scale).diverged_at
    where = f"F(X_t) is non-finite from t = {at}" if at is not None else "its Jacobian overflows"
    return ValueError(f"the unrolled solver diverges for this model, qp, T={T} and step_scale={step_scale!r} "
                      f"({where}): {what} of a diverged run is undefined")


def step_features(model: MathL2O, qp: QP, T: int, step: int | None = None,
                  step_scale: float = STEP_SCALE) -> torch.Tensor:
    """G_{L−1,t}: the (N·d)×H feature matrix of step ``step`` (default T) along the model's own trajectory.

    Raises ValueError (naming step_scale) when that trajectory diverges by step t (a non-finite F(X_s), s <= t, or
    non-finite features): the analysis of a diverged run is undefined."""
    check_analysis_args(model, qp, T, step_scale)
    t = T if step is None else check_positive_int("step", step, maximum=T)
    with torch.no_grad():
        run = rollout(model, qp, t, keep_inputs=True, step_scale=step_scale)
        features = model.features(run.inputs[t - 1]).reshape(-1, model.width)
    if run.diverged_at is not None or not bool(torch.isfinite(features).all()):
        raise _diverged(model, qp, t, step_scale, f"the step-{t} feature matrix")
    return features


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
    check_analysis_args(model, qp, T, step_scale, which, detach_inputs)
    params = _parameter_dict(model, which)

    def residual(p: dict[str, torch.Tensor]) -> torch.Tensor:
        X = functional_rollout_X(model, p, qp, T, detach_inputs, step_scale)
        return qp.residual(X).reshape(-1)

    return params, residual


def functional_rollout_X(model: MathL2O, params: dict, qp: QP, T: int, detach_inputs: bool = True,
                         step_scale: float = STEP_SCALE) -> torch.Tensor:
    """X_T with the model's weights replaced by ``params`` (torch.func.functional_call)."""
    def step_sizes(t: int, g: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        z = torch.stack((g, X), dim=-1)
        return functional_call(model, params, (z.detach() if detach_inputs else z,), {"kernel": "dense"})

    return descent_steps(qp, T, step_sizes, step_scale)[1]


def flatten(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """The values of a parameter dict concatenated into one vector (dict order)."""
    return torch.cat([v.reshape(-1) for v in params.values()])


def jacobian(model: MathL2O, qp: QP, T: int, which: str = "all", detach_inputs: bool = True,
             step_scale: float = STEP_SCALE) -> torch.Tensor:
    """J = ∂ vec(𝐌X_T − Y)/∂θ, shape (N·b, #params), θ = all weights or W_L only (torch.func.jacrev)."""
    params, residual = residual_function(model, qp, T, which, detach_inputs, step_scale)
    jac = jacrev(residual)(params)
    rows = qp.M.shape[0] * qp.M.shape[1]
    J = torch.cat([jac[k].reshape(rows, -1) for k in params], dim=1).detach()
    if not bool(torch.isfinite(J).all()):
        raise _diverged(model, qp, T, step_scale, "the residual's Jacobian (and the empirical NTK)")
    return J


def empirical_ntk(model: MathL2O, qp: QP, T: int, which: str = "all", detach_inputs: bool = True,
                  step_scale: float = STEP_SCALE) -> torch.Tensor:
    """The empirical NTK K = J Jᵀ of the residual, (N·b)×(N·b); ‖∇_θ𝓕‖² = rᵀKr ≥ λ_min(K)·2𝓕.

    Arguments are checked (:func:`check_analysis_args`); a run whose Jacobian overflows (the unrolled solver
    diverges, e.g. for a huge step_scale) raises ValueError instead of returning a non-finite kernel."""
    J = jacobian(model, qp, T, which, detach_inputs, step_scale)
    return J @ J.T
