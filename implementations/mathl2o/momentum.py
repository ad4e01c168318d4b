"""Math-L2O's learned coordinate-wise step sizes inside a heavy-ball or Nesterov (NAG) update (an extension,
THEORY.md §3.3 open questions; not in the paper).

With the model's step sizes P_t = model((g, Y) per coordinate) ∈ (0, 2)^{N×d}, per-instance scale s_i, momentum
m ∈ [0, 1) and X_{−1} = X₀:
  heavy ball:  Y = X_{t−1},                        g = ∇F(Y),  X_t = Y − s⊙P_t⊙g + m(X_{t−1} − X_{t−2});
  Nesterov:    Y = X_{t−1} + m(X_{t−1} − X_{t−2}),  g = ∇F(Y),  X_t = Y − s⊙P_t⊙g.
m = 0 is the plain Math-L2O rollout (implementations.mathl2o.unroll.rollout) for both. The objective is any
object with ``value(X)`` (per instance or summed) and ``gradient(X)`` of shape (N, d): the stacked QP, or a
batched implementations.problems.LogisticRegression, so the same model can be rolled out on a non-quadratic
objective (its inputs, a gradient and an iterate coordinate, are defined for any differentiable F).
"""

from __future__ import annotations

import math

import torch

from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import STEP_SCALE, Rollout, TrainHistory, sgd_update
from implementations.validation import check_positive, check_positive_int


def qp_step(qp: QP, step_scale: float = STEP_SCALE) -> torch.Tensor:
    """s_i = step_scale/β_i per instance, shape (N,) (the plain rollout's step)."""
    check_positive("step_scale", step_scale)
    return step_scale / qp.beta


def logistic_smoothness(A: torch.Tensor, reg: float) -> torch.Tensor:
    """β_i = λ_max(A_iᵀA_i)/(4m) + reg: the gradient-Lipschitz constant of the mean logistic loss plus
    (reg/2)‖x‖² (σ' ≤ 1/4; standard). A has shape (N, m, d); returns (N,)."""
    check_positive("reg", reg)
    if A.dim() != 3:
        raise ValueError(f"A must have shape (N, m, d), got {tuple(A.shape)}")
    return torch.linalg.matrix_norm(A, ord=2) ** 2 / (4 * A.shape[-2]) + reg


def _check_momentum(momentum: float) -> float:
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    return float(momentum)


def momentum_rollout(model: MathL2O | None, objective, T: int, step: torch.Tensor, momentum: float = 0.0,
                     nesterov: bool = False, detach_inputs: bool = True, x0: torch.Tensor | None = None,
                     keep_inputs: bool = False) -> Rollout:
    """T heavy-ball (``nesterov=False``) or NAG steps with learned step sizes (module docstring).

    ``step``: s_i, shape (N,); ``model=None`` uses P ≡ 1; ``x0`` defaults to zeros of the gradient's shape.
    Returns Rollout(values = Σ_i f_i at X_0..X_T (graph kept), X_T, inputs = the model inputs z_t = (g, Y) of
    shape (N, d, 2), t = 1..T, when ``keep_inputs``).
    """
    check_positive_int("T", T)
    momentum = _check_momentum(momentum)
    if model is not None and not isinstance(model, MathL2O):
        raise TypeError(f"model must be a MathL2O, got {type(model).__name__}")
    if not isinstance(step, torch.Tensor) or step.dim() != 1 or not bool((step > 0).all()):
        raise ValueError("step must be a 1-D tensor of positive per-instance step sizes")
    X = x0 if x0 is not None else step.new_zeros(step.shape[0], _dimension(objective))
    if X.shape[0] != step.shape[0]:
        raise ValueError(f"step has {step.shape[0]} instances but the iterate has {X.shape[0]}")
    s = step.unsqueeze(-1)
    previous = X
    values, inputs = [objective.value(X).sum()], []
    for _ in range(T):
        velocity = X - previous
        Y = X + momentum * velocity if nesterov else X
        g = objective.gradient(Y)
        if model is None:
            P = torch.ones_like(g)
        else:
            z = torch.stack((g, Y), dim=-1)
            if keep_inputs:
                inputs.append(z.detach())
            P = model(z.detach() if detach_inputs else z)
        X, previous = Y - s * P * g + (0.0 if nesterov else momentum) * velocity, X
        values.append(objective.value(X).sum())
    return Rollout(torch.stack(values), X, inputs)


def _dimension(objective) -> int:
    if isinstance(objective, QP):
        return objective.M.shape[-1]
    if hasattr(objective, "dim"):
        return int(objective.dim)
    raise TypeError("objective needs a QP or a .dim attribute (or pass x0)")


def train_momentum(model: MathL2O, objective, T: int, step: torch.Tensor, lr: float, iters: int,
                   momentum: float = 0.0, nesterov: bool = False, detach_inputs: bool = True) -> TrainHistory:
    """``iters`` SGD steps W ← W − η∇𝓕(W) on 𝓕 = F(X_T) of :func:`momentum_rollout` (the plain training of
    implementations.mathl2o.unroll.train with the momentum backbone); divergence is recorded, never raised."""
    check_positive("lr", lr)
    check_positive_int("iters", iters, minimum=0)
    params = list(model.parameters())
    losses, grad_norms = [], []
    for k in range(iters + 1):
        loss = momentum_rollout(model, objective, T, step, momentum, nesterov, detach_inputs).values[-1]
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            return TrainHistory(losses, grad_norms, diverged_at=k)
        if k == iters:
            break
        grads = torch.autograd.grad(loss, params)
        norm = float(torch.sqrt(sum((g * g).sum() for g in grads)))
        grad_norms.append(norm)
        if not math.isfinite(norm):
            return TrainHistory(losses, grad_norms, diverged_at=k)
        sgd_update(params, grads, lr)
    return TrainHistory(losses, grad_norms)
