"""The unrolled Math-L2O solver and its training (THEORY.md §3.1; code `main_train_anlys.py`).

Step t = 1..T:  g = ∇F(X_{t−1}),  P_t = model((g, X_{t−1}) per coordinate),  X_t = X_{t−1} − s ⊙ P_t ⊙ g,
with s_i = step_scale/β_i per instance (the code: 0.9999/λ_max(M_iᵀM_i)) and X₀ = 0. The training loss is
𝓕(W) = F(X_T) (last step only, summed over instances), minimised by plain SGD with a constant rate η on the
fixed instance set. The code detaches the model inputs (``detach_inputs=True``).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.checkpoint import checkpoint

from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.solvers import UnrolledSolver
from implementations.progress import track
from implementations.storage import atomic_torch_save, load_plain, locked
from implementations.validation import check_bool, check_callable, check_path, check_positive, check_positive_int

STEP_SCALE = 0.9999


@dataclass
class Rollout:
    """values: F(X_t) for t = 0..T (graph kept); X: X_T; inputs: the model inputs z_t (N, d, 2), t = 1..T;
    diverged_at: the first t at which F(X_t) is non-finite (the iterates overflowed), None if never — the
    convention of TrainHistory. From that step on the values are non-finite (inf or NaN)."""

    values: torch.Tensor
    X: torch.Tensor
    inputs: list[torch.Tensor] = field(default_factory=list)
    diverged_at: int | None = None


def check_unroll_args(model: MathL2O | UnrolledSolver | None, qp: QP, T: int, step_scale: float) -> None:
    """T an int >= 1, step_scale positive and finite, qp a QP, model None, a MathL2O or an UnrolledSolver (the LSTM
    Math-L2O, LISTA-CPSS) of qp's dtype and device."""
    check_positive_int("T", T)
    check_positive("step_scale", step_scale)
    if not isinstance(qp, QP):
        raise TypeError(f"qp must be an implementations.mathl2o.QP, got {type(qp).__name__}")
    if model is not None and not isinstance(model, (MathL2O, UnrolledSolver)):
        raise TypeError(f"model must be a MathL2O or an UnrolledSolver (LSTMMathL2O, LISTACPSS), got "
                        f"{type(model).__name__}")
    if model is not None:
        weight = model.last if isinstance(model, MathL2O) else model.reference
        if weight.dtype != qp.M.dtype or weight.device != qp.M.device:
            raise TypeError(f"model ({weight.dtype}, {weight.device}) and qp ({qp.M.dtype}, {qp.M.device}) must "
                            "share dtype and device; build the model with dtype=/device= or use qp.to(...)")


def descent_steps(qp: QP, T: int, step_sizes: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
                  step_scale: float = STEP_SCALE) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """The T steps of the module docstring from X₀ = 0 with P_{t+1} = step_sizes(t, g, X_t) for t = 0..T−1
    (g = ∇F(X_t)): ([F(X_t) for t = 0..T] as 0-d tensors, X_T, the residual 𝐌X_T − Y). No argument checks: the
    callers' (rollout, oracle.schedule_values, stacked.stacked_losses, analysis.functional_rollout_X)."""
    step = (step_scale / qp.beta).unsqueeze(-1)
    X = qp.zeros()
    r = qp.residual(X)
    values = [0.5 * (r * r).sum()]
    for t in range(T):
        g = qp.rmatvec(r)
        X = X - step * step_sizes(t, g, X) * g
        r = qp.residual(X)
        values.append(0.5 * (r * r).sum())
    return values, X, r


def rollout(model: MathL2O | UnrolledSolver | None, qp: QP, T: int, detach_inputs: bool = True,
            step_scale: float = STEP_SCALE, keep_inputs: bool = False, checkpoint_steps: bool = False) -> Rollout:
    """Run T steps; ``model=None`` gives gradient descent (P ≡ 1). Vectorised over instances and coordinates.

    ``checkpoint_steps`` recomputes each step's MLP in the backward pass instead of storing its N·d×H
    activations (for the Fig. 4a scale, where they would take T·N·d·H floats); MathL2O only.
    An UnrolledSolver (LSTMMathL2O, LISTACPSS) runs its own ``trajectory``.
    """
    check_unroll_args(model, qp, T, step_scale)
    for name, flag in (("detach_inputs", detach_inputs), ("keep_inputs", keep_inputs),
                       ("checkpoint_steps", checkpoint_steps)):
        check_bool(name, flag)
    if isinstance(model, UnrolledSolver):
        if checkpoint_steps:
            raise ValueError("checkpoint_steps applies to MathL2O only (it recomputes the MLP's activations)")
        values, X, inputs = model.trajectory(qp, T, detach_inputs, step_scale, keep_inputs)
        finite = torch.isfinite(values.detach())
        return Rollout(values, X, inputs, None if bool(finite.all()) else int((~finite).nonzero()[0]))
    inputs = []

    def step_sizes(t: int, g: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        if model is None:
            return torch.ones_like(g)
        z = torch.stack((g, X), dim=-1)
        if detach_inputs:
            z = z.detach()
        if keep_inputs:
            inputs.append(z.detach())
        return checkpoint(model, z, use_reentrant=False) if checkpoint_steps else model(z)

    values, X, _ = descent_steps(qp, T, step_sizes, step_scale)
    values = torch.stack(values)
    finite = torch.isfinite(values.detach())
    diverged_at = None if bool(finite.all()) else int((~finite).nonzero()[0])
    return Rollout(values, X, inputs, diverged_at)


def unroll(model: MathL2O | UnrolledSolver | None, qp: QP, T: int, detach_inputs: bool = True,
           step_scale: float = STEP_SCALE) -> torch.Tensor:
    """F(X_t) for t = 0..T, shape (T+1,), differentiable w.r.t. the model's weights.

    A run whose iterates overflow (e.g. a step_scale far above 2) is not an error: its values are non-finite
    from the step it diverged at, which ``rollout(...).diverged_at`` records (as TrainHistory.diverged_at does
    for training)."""
    return rollout(model, qp, T, detach_inputs, step_scale).values


@dataclass
class TrainHistory:
    """losses[k] = 𝓕(W^k) for k = 0..K (K SGD steps done); grad_norms[k] = ‖∇𝓕(W^k)‖;
    diverged_at: the first k at which 𝓕(W^k) or its gradient was non-finite (None if never)."""

    losses: list[float]
    grad_norms: list[float]
    diverged_at: int | None = None

    @property
    def gd_loss(self) -> float:
        """𝓕(W⁰): F(X_T) of gradient descent when the model starts at the deterministic initialisation."""
        return self.losses[0]

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    def gain(self) -> float:
        """(F_GD − F_L2O)/F_GD as in the paper's Fig. 5 (−inf after divergence)."""
        if self.diverged_at is not None:
            return -math.inf
        return (self.losses[0] - self.losses[-1]) / self.losses[0]


def train(model: MathL2O | UnrolledSolver, qp: QP, T: int, lr: float, iters: int, detach_inputs: bool = True,
          step_scale: float = STEP_SCALE, checkpoint_steps: bool = False, callback=None,
          checkpoint_path: str | None = None, checkpoint_every: int = 50) -> TrainHistory:
    """``iters`` SGD steps W ← W − η∇𝓕(W) on 𝓕 = F(X_T); divergence is recorded, never raised.

    ``callback(k, model, loss, grads)`` is called before each update (for analyses of the iterates).

    checkpoint_path: if given, the weights and the history so far are written there (atomically) every
    ``checkpoint_every`` SGD steps and at the end, and a checkpoint already there is resumed from, so an
    interrupted training loses at most ``checkpoint_every`` steps; a finished one is loaded. SGD with a
    constant η has no other state, so a resumed training follows the uninterrupted one exactly (tested), and a
    checkpoint of a shorter training is continued to ``iters``. The checkpoint is bound to the same initial
    weights, instances, T, η, input detaching and step scale (a mismatch is a ValueError). A second process
    given the same path waits (implementations.storage.locked) and then loads the first one's result.
    """
    check_positive("lr", lr)
    check_positive_int("iters", iters, minimum=0)
    check_positive_int("checkpoint_every", checkpoint_every)
    if not isinstance(model, (MathL2O, UnrolledSolver)):
        raise TypeError(f"model must be a MathL2O or an UnrolledSolver (train has no weights to train for gradient "
                        f"descent), got {type(model).__name__}")
    check_unroll_args(model, qp, T, step_scale)
    check_bool("detach_inputs", detach_inputs)
    check_bool("checkpoint_steps", checkpoint_steps)
    if callback is not None:
        check_callable("callback", callback)
    if checkpoint_path is not None:
        check_path("checkpoint_path", checkpoint_path)
    if checkpoint_path is None:
        return _train(model, qp, T, lr, iters, detach_inputs, step_scale, checkpoint_steps, callback, None, 1)
    if callback is not None:
        raise ValueError("callback cannot be combined with checkpoint_path: a resumed training would skip the "
                         "calls for the steps done before the interruption")
    with locked(checkpoint_path):
        return _train(model, qp, T, lr, iters, detach_inputs, step_scale, checkpoint_steps, None,
                      checkpoint_path, checkpoint_every)


def training_signature(model: MathL2O | UnrolledSolver, qp: QP, T: int, lr: float, detach_inputs: bool,
                       step_scale: float) -> dict:
    """What a checkpoint must match to be resumed: the settings and a digest of the initial weights and
    instances (for an UnrolledSolver also its class and the settings that are not weights, e.g. the LSTM's
    state seed)."""
    digest = hashlib.sha256()
    for tensor in [*model.state_dict().values(), qp.M, qp.Y]:
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    signature = {"T": T, "lr": lr, "detach_inputs": detach_inputs, "step_scale": step_scale,
                 "initial_state": digest.hexdigest()}
    if isinstance(model, UnrolledSolver):
        signature["solver"] = repr((type(model).__name__, getattr(model, "state_init", None),
                                    getattr(model, "state_seed", None), getattr(model, "biases", None)))
    return signature


def _train(model: MathL2O, qp: QP, T: int, lr: float, iters: int, detach_inputs: bool, step_scale: float,
           checkpoint_steps: bool, callback, checkpoint_path: str | None, checkpoint_every: int) -> TrainHistory:
    params = list(model.parameters())
    losses, grad_norms, done, diverged_at = [], [], 0, None
    if checkpoint_path is not None:
        signature = training_signature(model, qp, T, lr, detach_inputs, step_scale)
        if os.path.exists(checkpoint_path):
            saved = load_plain(checkpoint_path, map_location=next(model.parameters()).device)
            if saved["signature"] != signature:
                raise ValueError(f"checkpoint_path {checkpoint_path!r} holds a training of other weights, instances "
                                 f"or settings ({saved['signature']} vs {signature})")
            if saved["steps_done"] > iters:
                raise ValueError(f"checkpoint_path {checkpoint_path!r} holds {saved['steps_done']} SGD steps, more "
                                 f"than iters={iters}")
            losses, grad_norms, done = saved["losses"], saved["grad_norms"], saved["steps_done"]
            model.load_state_dict(saved["state"])
            if saved["diverged_at"] is not None or (saved["finished"] and done == iters):
                return TrainHistory(losses, grad_norms, saved["diverged_at"])
            losses = losses[:done]  # a finished shorter training: its final 𝓕 is recomputed as step `done`'s

        def save(steps_done: int, finished: bool) -> None:
            save_training(checkpoint_path, signature, model, TrainHistory(losses, grad_norms, diverged_at), steps_done,
                          finished)

    progress = track(f"Math-L2O training (T={T}, lr={lr:.3g}): SGD steps", iters)
    progress.update(done)
    for k in range(done, iters + 1):
        if k == iters:
            with torch.no_grad():
                losses.append(float(rollout(model, qp, T, detach_inputs, step_scale).values[-1]))
            if not math.isfinite(losses[-1]):
                diverged_at = k
            break
        loss, grads = loss_and_gradients(model, qp, T, detach_inputs, step_scale, checkpoint_steps)
        losses.append(float(loss))
        if not math.isfinite(losses[-1]):
            diverged_at = k
            break
        norm = float(torch.sqrt(sum((g * g).sum() for g in grads)))
        grad_norms.append(norm)
        if not math.isfinite(norm):
            diverged_at = k
            break
        if callback is not None:
            callback(k, model, loss, grads)
        sgd_update(params, grads, lr)
        progress.advance()
        if checkpoint_path is not None and (k + 1) % checkpoint_every == 0 and k + 1 < iters:
            save(k + 1, finished=False)
    if checkpoint_path is not None:
        save(k if diverged_at is not None else iters, finished=True)
    return TrainHistory(losses, grad_norms, diverged_at)


def save_training(path: str, signature: dict, model: MathL2O | UnrolledSolver, history: TrainHistory, steps_done: int,
                  finished: bool) -> None:
    """Write ``train``'s checkpoint (atomically): the signature, the model's weights and the history after
    ``steps_done`` SGD steps; ``finished`` once the training ended (all steps done, or diverged)."""
    atomic_torch_save({"signature": signature, "state": model.state_dict(), "losses": history.losses,
                       "grad_norms": history.grad_norms, "steps_done": steps_done,
                       "diverged_at": history.diverged_at, "finished": finished}, path)


def loss_and_gradients(model: MathL2O, qp: QP, T: int, detach_inputs: bool = True,
                       step_scale: float = STEP_SCALE, checkpoint_steps: bool = False):
    """(𝓕(W) detached, ∇_W 𝓕 as a tuple aligned with model.parameters()); one forward and one backward."""
    loss = rollout(model, qp, T, detach_inputs, step_scale, checkpoint_steps=checkpoint_steps).values[-1]
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return loss.detach(), grads


def sgd_update(params, grads, lr: float) -> None:
    """W ← W − η·g in place."""
    with torch.no_grad():
        torch._foreach_add_(list(params), list(grads), alpha=-lr)


def training_step(model: MathL2O, qp: QP, T: int, lr: float, detach_inputs: bool = True,
                  step_scale: float = STEP_SCALE, checkpoint_steps: bool = False) -> float:
    """One SGD iteration (forward, backward, update); returns 𝓕 before the update. No update if non-finite."""
    loss, grads = loss_and_gradients(model, qp, T, detach_inputs, step_scale, checkpoint_steps)
    if math.isfinite(float(loss)) and all(bool(torch.isfinite(g).all()) for g in grads):
        sgd_update(list(model.parameters()), grads, lr)
    return float(loss)
