"""Several MathL2O trainings (unroll.train) run as one tensor program.

k models of one architecture (width, depth, first layer, kernel), each with its own instance set, rate η and
initial weights, are trained in lockstep: their weights are stacked along a leading axis, their instance sets
along the instance axis of one QP (so 𝐌X and 𝐌ᵀR serve all of them in one product), and their unrolled losses
summed, whose gradient is each model's own gradient because no tensor is shared between the models. The layers
are applied per model by batched products and the batched planar kernel (implementations.mathl2o.kernels);
hand-written rather than torch.func.vmap because the planar kernel is an autograd.Function without a vmap rule,
and the dense layers would materialise N·d×H activations per model. Small trainings (the Fig. 5 (e, η) grid,
the η scans of the step-size edges) are bound by per-operation overhead, which the stacking shares.

Each model's TrainHistory is train's to round-off (tested: the products and sums run in other shapes); a model
whose loss or gradient goes non-finite stops there, as in train, while the others go on.
"""

from __future__ import annotations

import math

import torch

from implementations.mathl2o.kernels import planar_relu_layer
from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import (
    STEP_SCALE,
    TrainHistory,
    check_unroll_args,
    descent_steps,
    save_training,
    train,
    training_signature,
)
from implementations.progress import track
from implementations.storage import check_checkpoint_paths, fresh_groups
from implementations.validation import check_instance, check_positive, check_positive_int


def _architecture(model: MathL2O) -> tuple:
    return (model.width, model.depth, model.first_width, model.kernel, model.last.dtype, model.last.device)


def stacked_step_sizes(model: MathL2O, weights: list[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """P = 2σ(g_W(z)) of k models of ``model``'s architecture with stacked ``weights`` (W_l of model i is
    weights[l][i]) on their inputs z (k, ..., 2) → (k, ...): MathL2O.forward per model."""
    k = z.shape[0]
    broadcast = [k] + [1] * (z.dim() - 3)  # W_l (k, fan_in, fan_out) against h (k, …, fan_in)
    h = z
    if model.kernel == "planar":
        h = torch.relu(h @ weights[0].reshape(*broadcast, *weights[0].shape[1:]))
        return 2.0 * torch.sigmoid(planar_relu_layer(h, weights[1], weights[2]))
    for w in weights[:-1]:
        h = torch.relu(h @ w.reshape(*broadcast, *w.shape[1:]))
    last = weights[-1]
    return 2.0 * torch.sigmoid((h @ last.reshape(*broadcast, *last.shape[1:])).squeeze(-1))


def stacked_losses(model: MathL2O, weights: list[torch.Tensor], qp: QP, k: int, T: int,
                   step_scale: float = STEP_SCALE) -> torch.Tensor:
    """𝓕 = F(X_T) of each of k models (shape (k,)) unrolled on its block of N = qp's N / k instances, with the
    model inputs detached (unroll.rollout with detach_inputs=True, per model)."""
    n, _, d = qp.shape

    def step_sizes(t: int, g: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        z = torch.stack((g, X), dim=-1).detach().reshape(k, n // k, d, 2)
        return stacked_step_sizes(model, weights, z).reshape(n, d)

    r = descent_steps(qp, T, step_sizes, step_scale)[2]
    return 0.5 * (r * r).reshape(k, -1).sum(dim=1)


def train_many(models: list[MathL2O], qps: list[QP], T: int, lrs: list[float], iters: int,
               checkpoint_paths: list[str | None] | None = None, checkpoint_every: int = 50,
               step_scale: float = STEP_SCALE) -> list[TrainHistory]:
    """[train(m, qp, T, lr, iters, checkpoint_path=p, checkpoint_every=…) for each model, instance set, rate and
    path], the models that are MathL2O of one architecture and have no checkpoint yet trained as one stacked
    program (the module docstring); the others through train one by one. Like train, each model ends with its
    trained weights, a training checkpoints every ``checkpoint_every`` SGD steps and at its end in train's format
    (so train resumes or loads it), and the checkpoints a stacked group is about to write are locked first."""
    check_instance("models", models, (list, tuple), "list of MathL2O")
    check_instance("qps", qps, (list, tuple), "list of QP")
    check_instance("lrs", lrs, (list, tuple), "list of learning rates")
    paths = check_checkpoint_paths(checkpoint_paths, len(models), "training")
    if not len(models) == len(qps) == len(lrs):
        raise ValueError(f"models, qps and lrs must have one entry per training, got {len(models)}, {len(qps)} and "
                         f"{len(lrs)}")
    check_positive_int("iters", iters, minimum=0)
    check_positive_int("checkpoint_every", checkpoint_every)
    for lr in lrs:
        check_positive("lrs entry", lr)
    for model, qp in zip(models, qps):
        check_unroll_args(model, qp, T, step_scale)
    histories: list[TrainHistory | None] = [None] * len(models)
    keys = [(_architecture(model), qp.shape, qp.M.dtype, qp.M.device) if isinstance(model, MathL2O) else None
            for model, qp in zip(models, qps)]
    for members in fresh_groups(keys, paths):
        for i, history in zip(members, _train_stacked([models[i] for i in members], [qps[i] for i in members], T,
                                                      [lrs[i] for i in members], iters, [paths[i] for i in members],
                                                      checkpoint_every, step_scale)):
            histories[i] = history
    for i, history in enumerate(histories):
        if history is None:
            histories[i] = train(models[i], qps[i], T, lrs[i], iters, step_scale=step_scale,
                                 checkpoint_path=paths[i], checkpoint_every=checkpoint_every)
    return histories


def _train_stacked(models: list[MathL2O], qps: list[QP], T: int, lrs: list[float], iters: int,
                   paths: list[str | None], checkpoint_every: int, step_scale: float) -> list[TrainHistory]:
    k = len(models)
    signatures = [training_signature(m, qp, T, lr, True, step_scale) if p is not None else None
                  for m, qp, lr, p in zip(models, qps, lrs, paths)]
    stacked = QP(torch.cat([qp.M for qp in qps]), torch.cat([qp.Y for qp in qps]), torch.cat([qp.beta for qp in qps]))
    like = dict(dtype=stacked.M.dtype, device=stacked.M.device)
    weights = [torch.stack([m.weights[layer].detach() for m in models]).requires_grad_()
               for layer in range(models[0].depth)]
    rates = torch.tensor(lrs, **like)
    histories = [TrainHistory([], []) for _ in models]
    active = list(range(k))

    def write(i: int, steps_done: int, finished: bool) -> None:
        with torch.no_grad():
            for layer, w in enumerate(weights):
                models[i].weights[layer].copy_(w[i])
        if paths[i] is not None:
            save_training(paths[i], signatures[i], models[i], histories[i], steps_done, finished)

    def stop(i: int, step: int) -> None:
        histories[i].diverged_at = step
        active.remove(i)
        write(i, step, finished=True)

    progress = track(f"Math-L2O trainings, {k} stacked (T={T}): SGD steps", iters)
    for step in range(iters + 1):
        if step == iters:
            with torch.no_grad():
                final = stacked_losses(models[0], weights, stacked, k, T, step_scale).tolist()
            for i in list(active):
                histories[i].losses.append(final[i])
                if not math.isfinite(final[i]):
                    stop(i, step)
            break
        losses = stacked_losses(models[0], weights, stacked, k, T, step_scale)
        grads = torch.autograd.grad(losses.sum(), weights)
        norms = torch.stack([(g * g).reshape(k, -1).sum(dim=1) for g in grads]).sum(dim=0).sqrt().tolist()
        values = losses.detach().tolist()
        for i in list(active):
            histories[i].losses.append(values[i])
            if not math.isfinite(values[i]):
                stop(i, step)
                continue
            histories[i].grad_norms.append(norms[i])
            if not math.isfinite(norms[i]):
                stop(i, step)
        if not active:
            break
        moving = torch.zeros(k, dtype=torch.bool, device=rates.device)
        moving[active] = True
        with torch.no_grad():
            for w, g in zip(weights, grads):
                shape = (k,) + (1,) * (w.dim() - 1)
                w.copy_(torch.where(moving.reshape(shape), w - rates.reshape(shape) * g, w))
        progress.advance()
        if (step + 1) % checkpoint_every == 0 and step + 1 < iters:
            for i in active:
                write(i, step + 1, finished=False)
    for i in active:
        write(i, iters, finished=True)
    return histories
