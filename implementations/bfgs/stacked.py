"""Independent copies of the step-size LSTM run as one batch: B online learners in one tensor program.

``StackedLSTMSteps(models)`` is the ``cwss_bfgs`` policy of B separate :class:`LearnedSteps` runs, instance b of
the batch driven and updated online by its own copy of models[b] (its own weights, recurrent state and Adam
moments), computed together: the LSTM cell (nn.LSTMCell's gates i, f, g, o: gates = W_ih φ + b_ih + W_hh h + b_hh,
c⁺ = σ(f) c + σ(i) tanh(g), h⁺ = σ(o) tanh(c⁺)) and the head with batched matrix products over stacked weights
(B, …), and Adam as torch.optim.Adam computes it (defaults β = (0.9, 0.999), ε = 1e-8; the single-tensor
update with bias corrections 1 − β^t), with a step count per copy. The online loss of copy b is instance b's
term of LearnedSteps' loss (the batch of one that a separate run would see); a copy whose loss is not finite or
not informative, or whose gradient is not finite, is not updated at that step, as LearnedSteps does for its
one instance. The sum of the copies' losses is differentiated once: each copy's weights receive exactly its
own loss's gradient, since copy b's weights enter instance b's terms only. So the copies do not interact, and
the result equals B separate runs up to round-off (tests/bfgs/test_bfgs_stacked.py); it is what makes several
seeds of the BFGS L2O study affordable (implementations.bfgs.experiments).
"""

from __future__ import annotations

from typing import Sequence

import torch

from implementations.bfgs.model import StepSizeLSTM, map_steps, step_features
from implementations.progress import track
from implementations.validation import (
    check_bool,
    check_choice,
    check_instance,
    check_nonnegative,
    check_objective,
    check_pairs,
    check_positive,
    check_positive_int,
)

BETAS, EPS = (0.9, 0.999), 1e-8
_NAMES = ("cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh", "head.weight", "head.bias")


def _check_models(models) -> list[StepSizeLSTM]:
    """A non-empty sequence of StepSizeLSTMs of one hidden size, interval, output kind and dtype."""
    check_instance("models", models, (list, tuple), "list of StepSizeLSTM")
    if len(models) == 0:
        raise ValueError("models must hold at least one StepSizeLSTM")
    for model in models:
        check_instance("models' entries", model, StepSizeLSTM, "StepSizeLSTM")
    first = models[0]
    key = lambda m: (m.hidden, m.interval, m.coordinatewise, m.head.weight.dtype, m.head.weight.device)  # noqa: E731
    if any(key(model) != key(first) for model in models):
        raise ValueError("models must share hidden size, interval, coordinatewise, dtype and device")
    return list(models)


class StackedLSTMSteps:
    """B independent online-learning copies of StepSizeLSTMs (module docstring): ``models[b]`` drives instance b
    of the batch. ``lr``, ``reg``, ``learning`` as in LearnedSteps. ``losses``: per step, the (B,) online losses
    (NaN where a copy was not updated); ``skipped_updates`` (B,): updates dropped for a non-finite gradient;
    ``trained_models()``: the copies as StepSizeLSTMs with their current weights."""

    def __init__(self, models: Sequence[StepSizeLSTM], lr: float = 1e-3, reg: float = 1e-2,
                 learning: bool = True) -> None:
        models = _check_models(models)
        self.lr, self.reg = check_positive("lr", lr), check_nonnegative("reg", reg)
        self.learns = check_bool("learning", learning)
        self.template = models[0]
        self.params = {name: torch.stack([model.state_dict()[name].detach() for model in models]).clone()
                       .requires_grad_(learning) for name in _NAMES}
        self.moments = {name: (torch.zeros_like(p), torch.zeros_like(p)) for name, p in self.params.items()}
        self.steps = torch.zeros(len(models), dtype=torch.long, device=self.params["head.bias"].device)
        self.state = None
        self.losses: list[torch.Tensor] = []
        self.skipped_updates = torch.zeros(len(models), dtype=torch.long, device=self.steps.device)

    @property
    def copies(self) -> int:
        return self.steps.shape[0]

    def reset_state(self) -> None:
        """Forget the recurrent state (a new run), keeping weights and Adam moments (as meta_train does)."""
        self.state = None

    def _forward(self, features: torch.Tensor, state) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Raw outputs (B, d) and the new (h, c) (B, d, hidden) for features (B, d, 6)."""
        p = self.params
        batch, dim = features.shape[:2]
        if state is None or state[0].shape[:2] != (batch, dim):
            zeros = torch.zeros(batch, dim, self.template.hidden, dtype=features.dtype, device=features.device)
            state = (zeros, zeros.clone())
        h, c = state
        gates = (torch.baddbmm(p["cell.bias_ih"].unsqueeze(1), features, p["cell.weight_ih"].transpose(1, 2))
                 + torch.baddbmm(p["cell.bias_hh"].unsqueeze(1), h, p["cell.weight_hh"].transpose(1, 2)))
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        raw = torch.baddbmm(p["head.bias"].unsqueeze(1), h, p["head.weight"].transpose(1, 2)).squeeze(-1)
        return raw, (h, c)

    def propose(self, k, x, g, d):
        x, features = step_features(x, g, d)
        if x.dim() != 2 or x.shape[0] != self.copies:
            raise ValueError(f"x must have shape (B, d) with B = {self.copies} (one instance per copy), got "
                             f"{tuple(x.shape)}")
        with torch.set_grad_enabled(self.learns):
            raw, state = self._forward(features.to(self.params["head.bias"].dtype), self.state)
            P, clipped = map_steps(raw, self.template.interval, self.template.coordinatewise)
        self.state = tuple(part.detach() for part in state)
        return P.to(x.dtype), clipped.to(x.dtype)

    def learn(self, f_next, f, g, d, P):
        """LearnedSteps.learn per copy: [f(x_{k+1}) − f(x_k)]/|g_kᵀd_k| + reg·mean_i (p_i − 1)², one Adam step
        for each copy whose loss is finite and informative and whose gradient is finite."""
        tiny, eps = torch.finfo(f.dtype).tiny, torch.finfo(f.dtype).eps
        predicted = (g * d).sum(-1).abs()
        informative = predicted > 64 * eps * f.abs().clamp_min(tiny)
        per_instance = (f_next - f) / predicted.clamp_min(tiny) + self.reg * ((P - 1) ** 2).mean(-1)
        use = torch.isfinite(per_instance) & informative
        self.losses.append(torch.where(use, per_instance, torch.full_like(per_instance, float("nan"))).detach())
        if not bool(use.any()):
            return
        names = list(self.params)
        grads = torch.autograd.grad(per_instance[use].sum(), [self.params[n] for n in names], allow_unused=True)
        grads = {n: torch.zeros_like(self.params[n]) if gr is None else gr for n, gr in zip(names, grads)}
        finite = torch.stack([torch.isfinite(gr).flatten(1).all(1) for gr in grads.values()]).all(0)
        self.skipped_updates += (use & ~finite).long()
        self._adam(grads, use & finite)

    @torch.no_grad()
    def _adam(self, grads: dict[str, torch.Tensor], mask: torch.Tensor) -> None:
        """torch.optim.Adam's single-tensor update (lr, β, ε above, no weight decay) on the copies in ``mask``."""
        beta1, beta2 = BETAS
        self.steps += mask.long()
        step = self.steps.to(torch.float64)
        bias1 = (1 - beta1 ** step).clamp_min(torch.finfo(torch.float64).tiny)
        bias2_sqrt = (1 - beta2 ** step).clamp_min(torch.finfo(torch.float64).tiny).sqrt()
        for name, param in self.params.items():
            shape = (-1,) + (1,) * (param.dim() - 1)
            m, v = self.moments[name]
            grad, keep = grads[name], mask.reshape(shape)
            m_new = m.lerp(grad, 1 - beta1)
            v_new = (v * beta2).addcmul(grad, grad, value=1 - beta2)
            denom = (v_new.sqrt() / bias2_sqrt.to(param.dtype).reshape(shape)) + EPS
            step_size = (self.lr / bias1).to(param.dtype).reshape(shape)
            updated = param - step_size * m_new / denom
            param.copy_(torch.where(keep, updated, param))
            m.copy_(torch.where(keep, m_new, m))
            v.copy_(torch.where(keep, v_new, v))

    def trained_models(self) -> list[StepSizeLSTM]:
        """The copies as StepSizeLSTMs with their current weights (new modules; the policy keeps its own)."""
        models = []
        for b in range(self.copies):
            model = StepSizeLSTM(self.template.hidden, self.template.interval, self.template.coordinatewise)
            model = model.to(dtype=self.params["head.bias"].dtype, device=self.params["head.bias"].device)
            model.load_state_dict({name: self.params[name][b].detach().clone() for name in _NAMES})
            models.append(model)
        return models


def stacked_meta_train(models: Sequence[StepSizeLSTM], instances, iterations: int, lr: float = 1e-3,
                       reg: float = 1e-2, safeguard: str = "skip") -> list[list[float]]:
    """meta_train for B models at once, in place: ``instances`` is a list of (objective, x0) pairs whose objective
    is batched over B instances (x0 (B, d)), instance b of each pair belonging to models[b]; each pair is one
    run of ``iterations`` CWSS-BFGS steps with online updates, the runs in order, as meta_train runs one model
    over its instances (one epoch). Returns, per model, the mean online loss of each run."""
    from implementations.bfgs.solver import cwss_bfgs

    models = _check_models(models)
    for objective, _ in check_pairs("instances", instances):
        check_objective("instances' objective", objective)
    check_positive_int("iterations", iterations)
    check_choice("safeguard", safeguard, ("skip", "damp"))
    policy = StackedLSTMSteps(models, lr=lr, reg=reg)
    history: list[list[float]] = [[] for _ in models]
    progress = track(f"meta-training {len(models)} stacked StepSizeLSTMs: runs", len(instances))
    for objective, x0 in instances:
        policy.reset_state()
        start = len(policy.losses)
        cwss_bfgs(objective, x0, policy, iterations, safeguard=safeguard, cond_every=0)
        losses = torch.stack(policy.losses[start:]) if len(policy.losses) > start else \
            torch.full((1, len(models)), float("nan"))
        for b in range(len(models)):
            column = losses[:, b]
            column = column[torch.isfinite(column)]
            history[b].append(float(column.mean()) if column.numel() else 0.0)
        progress.advance()
    for model, trained in zip(models, policy.trained_models()):
        model.load_state_dict(trained.state_dict())
    return history
