"""The learned step-size model: a coordinate-wise LSTM proposing P_k for CWSS-BFGS (THEORY.md §2).

Every step-size model (this LSTM; the MLP and Transformer of ``implementations.bfgs.models_alt``) is a
:class:`StepSizeModel`: the same features (:func:`step_features`), the same zero-initialised linear head and
the same output map into the declared interval (:func:`bounded_steps`); only the encoder differs.

Inputs per coordinate i: (x_i, g_i, (H g)_i), each preprocessed as in Andrychowicz et al. (2016) with
p = 10: v ↦ (log|v|/p, sign v) if |v| ≥ e^{−p}, else (−1, e^p v) (bounded features for any finite v).
One LSTMCell shared by all coordinates (hidden state per coordinate), a linear head o, and
P = clip(2·sigmoid(o), low, high) with the declared interval [low, high] ⊂ [0, 2] (paper: "bounded into a
safe interval, sigmoid-type, and hard-clipped"; the interval itself is not stated, (0.1, 1.9) is chosen
here). The head starts at zero, so the untrained model gives P ≡ I (plain BFGS with unit steps).
``coordinatewise=False`` is the ablation the reviewers asked for: the same network, with the head's
outputs averaged over coordinates into one scalar step p_k·I.
Online loss after every BFGS iteration (paper: f(x_{k+1}) + λ‖P_k − I‖²): here
[f(x_{k+1}) − f(x_k)]/(g_kᵀH_kg_k) + λ mean_i (p_i − 1)²: the same gradient in P up to a per-instance
positive scale (f(x_k) is a constant), made scale free so one model serves instances of any scale.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from implementations.progress import track
from implementations.validation import (
    as_tensor,
    check_bool,
    check_choice,
    check_finite,
    check_instance,
    check_nonnegative,
    check_objective,
    check_pairs,
    check_positive,
    check_positive_int,
    check_real_tensor,
    check_subinterval,
)

PREPROCESS_P = 10.0


def preprocess(v: torch.Tensor, p: float = PREPROCESS_P) -> torch.Tensor:
    """(…) → (…, 2): Andrychowicz et al. (2016) log-magnitude/sign preprocessing, bounded for finite v."""
    magnitude = v.abs()
    big = magnitude >= math.exp(-p)
    log_part = torch.where(big, torch.log(magnitude.clamp_min(math.exp(-p))) / p, torch.full_like(v, -1.0))
    sign_part = torch.where(big, torch.sign(v), v * math.exp(p))
    return torch.stack([log_part, sign_part], dim=-1)


FEATURES = 6  # per coordinate: preprocessed x_i, g_i and (Hg)_i, two numbers each


def step_features(x: torch.Tensor, g: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, features): the validated x and the per-coordinate model inputs (…, d, 6) of x, g, d = Hg of shape
    (B, d) or (d,): [preprocess(x_i), preprocess(g_i), preprocess(d_i)]. Shared by every step-size model."""
    x = check_finite("x", as_tensor("x", x))
    g = check_finite("g", as_tensor("g", g, like=x))
    d = check_finite("d", as_tensor("d", d, like=x))
    if g.shape != x.shape or d.shape != x.shape:
        raise ValueError(f"x, g, d must share one shape, got {tuple(x.shape)}, {tuple(g.shape)}, {tuple(d.shape)}")
    if x.dim() not in (1, 2) or x.numel() == 0:
        raise ValueError(f"x must have shape (d,) or (B, d), non-empty, got {tuple(x.shape)}")
    return x, torch.cat([preprocess(x), preprocess(g), preprocess(d)], dim=-1)


def bounded_steps(raw: torch.Tensor, interval: tuple[float, float],
                  coordinatewise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, clipped fraction over the last axis): the output map P = clip(2σ(o), low, high) of the raw
    per-coordinate outputs o (…, d), shared by every step-size model. ``coordinatewise=False`` first
    averages o over coordinates (one scalar step p·I). Any o without NaN (±inf included) gives P ∈ [low, high].
    Checked: raw a real floating tensor (…, d), d >= 1, without NaN; interval (low, high) with
    0 <= low < high <= 2; coordinatewise a bool. The models call the unchecked :func:`map_steps`."""
    check_real_tensor("raw", raw, finite=False)
    if raw.dim() < 1:
        raise ValueError("raw must have shape (…, d), got a 0-d tensor")
    if bool(torch.isnan(raw).any()):
        raise ValueError("raw contains NaN entries")
    interval = check_subinterval("interval", interval, 0.0, 2.0)
    check_bool("coordinatewise", coordinatewise)
    return map_steps(raw, interval, coordinatewise)


def map_steps(raw: torch.Tensor, interval: tuple[float, float],
              coordinatewise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`bounded_steps` without its input checks (the models' interval is checked at construction)."""
    if not coordinatewise:
        raw = raw.mean(-1, keepdim=True).expand_as(raw)
    unclipped = 2 * torch.sigmoid(raw)
    low, high = interval
    P = unclipped.clamp(low, high)
    clipped = ((unclipped < low) | (unclipped > high)).to(raw.dtype).mean(-1)
    return P, clipped


def check_interval(interval) -> tuple[float, float]:
    """A step-size model's interval: a pair (low, high) with 0 <= low < 1 < high <= 2 (so P = 1 lies inside)."""
    low, high = check_subinterval("interval", interval, 0.0, 2.0)
    if not 0 <= low < 1 < high <= 2:
        raise ValueError(f"interval must satisfy 0 <= low < 1 < high <= 2, got {interval}")
    return float(low), float(high)


class StepSizeModel(nn.Module):
    """The skeleton every step-size model shares: validated features (:func:`step_features`) → an encoder
    (subclasses: :meth:`encode`, per-coordinate hidden vectors and a recurrent state or None) → a linear
    head o (zero-initialised, so the untrained model gives P ≡ I: plain BFGS with unit steps) → the output
    map :func:`bounded_steps` into the declared interval [low, high] ⊂ [0, 2].

    Subclasses pass their encoder's modules as keyword arguments; they are registered (in that order)
    before the head is created, so a seeded model draws its random initial weights in a fixed order.
    ``forward(x, g, d, state)`` returns (P like x, clipped fraction per instance, new state)."""

    def __init__(self, hidden: int, interval: tuple[float, float] = (0.1, 1.9), coordinatewise: bool = True,
                 **encoder: nn.Module) -> None:
        check_positive_int("hidden", hidden)
        interval = check_interval(interval)
        check_bool("coordinatewise", coordinatewise)
        for name, module in encoder.items():
            check_instance(name, module, nn.Module, "torch.nn.Module (an encoder part)")
        super().__init__()
        self.interval = interval
        self.coordinatewise = coordinatewise
        self.hidden = hidden
        for name, module in encoder.items():
            setattr(self, name, module)
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def encode(self, features: torch.Tensor, state):  # pragma: no cover - abstract
        """(hidden vectors whose head outputs reshape to features.shape[:-1], new state)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, g: torch.Tensor, d: torch.Tensor, state=None):
        """(P, clipped fraction per instance, new state) for x, g, d = Hg of shape (B, d) or (d,)."""
        x, features = step_features(x, g, d)
        hidden, state = self.encode(features.to(self.head.weight.dtype), state)
        raw = self.head(hidden).reshape(x.shape)
        P, clipped = map_steps(raw, self.interval, self.coordinatewise)
        return P.to(x.dtype), clipped.to(x.dtype), state


class StepSizeLSTM(StepSizeModel):
    """P = clip(2σ(o), low, high) from a coordinate-wise LSTM over preprocessed (x, g, Hg): one LSTMCell
    shared by all coordinates, a hidden state (h, c) per coordinate carried across iterations."""

    def __init__(self, hidden: int = 20, interval: tuple[float, float] = (0.1, 1.9),
                 coordinatewise: bool = True) -> None:
        check_positive_int("hidden", hidden)
        super().__init__(hidden, interval, coordinatewise, cell=nn.LSTMCell(FEATURES, hidden))

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero (h, c) for every coordinate of x, in the model's dtype."""
        zeros = torch.zeros(x.numel(), self.hidden, dtype=self.head.weight.dtype, device=x.device)
        return zeros, zeros.clone()

    def encode(self, features, state):
        flat = features.reshape(-1, FEATURES)
        if state is None or state[0].shape[0] != flat.shape[0]:
            state = self.initial_state(flat[:, 0])
        h, c = self.cell(flat, state)
        return h, (h, c)


def _detached(state):
    """A recurrent state (None, a tensor or a tuple of them) cut from the graph."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(_detached(part) for part in state)


class LearnedSteps:
    """A ``cwss_bfgs`` step policy driven by a :class:`StepSizeModel` (LSTM, MLP or Transformer), updated
    online after every iteration (Adam with learning rate ``lr``) when ``learning`` is True; recurrent
    states are detached every step (truncated backpropagation of one iteration). An update whose gradient
    is not finite is skipped (counted in ``skipped_updates``)."""

    def __init__(self, model: StepSizeModel, lr: float = 1e-3, reg: float = 1e-2, learning: bool = True) -> None:
        check_instance("model", model, StepSizeModel, "StepSizeModel (StepSizeLSTM, StepSizeMLP, StepSizeTransformer)")
        check_positive("lr", lr)
        check_nonnegative("reg", reg)
        check_bool("learning", learning)
        self.model, self.reg, self.learns = model, reg, learning
        self.optimiser = torch.optim.Adam(model.parameters(), lr=lr) if learning else None
        self.state = None
        self.losses: list[float] = []
        self.skipped_updates = 0  # online updates dropped because their gradient was not finite

    def propose(self, k, x, g, d):
        with torch.set_grad_enabled(self.learns):
            P, clipped, state = self.model(x, g, d, self.state)
        self.state = _detached(state)
        return P, clipped

    def learn(self, f_next, f, g, d, P):
        predicted = (g * d).sum(-1).abs()
        # below 64·eps·|f| the change f(x_{k+1}) − f(x_k) is round-off, so the normalised loss is noise
        informative = predicted > 64 * torch.finfo(f.dtype).eps * f.abs().clamp_min(torch.finfo(f.dtype).tiny)
        per_instance = (f_next - f) / predicted.clamp_min(torch.finfo(f.dtype).tiny) \
            + self.reg * ((P - 1) ** 2).mean(-1)
        finite = torch.isfinite(per_instance) & informative
        if not bool(finite.any()):
            self.losses.append(float("nan"))
            return
        loss = per_instance[finite].mean()
        self.optimiser.zero_grad()
        loss.backward()
        # an instance left out above can still put NaN into the shared gradient (0·inf in the backward pass
        # of a batched f at an overflowing point): skip such an update rather than poison the model's weights
        if any(p.grad is not None and not bool(torch.isfinite(p.grad).all()) for p in self.model.parameters()):
            self.optimiser.zero_grad()
            self.skipped_updates += 1
        else:
            self.optimiser.step()
        self.losses.append(float(loss.detach()))


def _check_instances(instances) -> None:
    """A non-empty list (or tuple) of (objective, x0) pairs, each objective with value and gradient."""
    for objective, _ in check_pairs("instances", instances):
        check_objective("instances' objective", objective)


def meta_train(model: StepSizeModel, instances, iterations: int, lr: float = 1e-3, reg: float = 1e-2,
               epochs: int = 1, safeguard: str = "skip") -> list[float]:
    """Meta-train ``model`` in place: for each (objective, x0) in ``instances`` (``epochs`` passes), run
    ``iterations`` CWSS-BFGS steps (curvature ``safeguard`` "skip" or "damp") with online updates; returns
    the mean online loss of each run."""
    from implementations.bfgs.solver import cwss_bfgs

    check_instance("model", model, StepSizeModel, "StepSizeModel (StepSizeLSTM, StepSizeMLP, StepSizeTransformer)")
    _check_instances(instances)
    check_positive_int("iterations", iterations)
    check_positive_int("epochs", epochs)
    check_choice("safeguard", safeguard, ("skip", "damp"))
    policy = LearnedSteps(model, lr=lr, reg=reg)
    history = []
    progress = track(f"meta-training {type(model).__name__}: runs", epochs * len(instances))
    for _ in range(epochs):
        for objective, x0 in instances:
            policy.state, start = None, len(policy.losses)
            cwss_bfgs(objective, x0, policy, iterations, safeguard=safeguard, cond_every=0)
            run_losses = [v for v in policy.losses[start:] if v == v]
            history.append(sum(run_losses) / max(len(run_losses), 1))
            progress.advance()
    return history
