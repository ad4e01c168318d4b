"""The learned step-size model: a coordinate-wise LSTM proposing P_k for CWSS-BFGS (THEORY.md §2).

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

from implementations.validation import as_tensor, check_finite, check_positive, check_positive_int

PREPROCESS_P = 10.0


def preprocess(v: torch.Tensor, p: float = PREPROCESS_P) -> torch.Tensor:
    """(…) → (…, 2): Andrychowicz et al. (2016) log-magnitude/sign preprocessing, bounded for finite v."""
    magnitude = v.abs()
    big = magnitude >= math.exp(-p)
    log_part = torch.where(big, torch.log(magnitude.clamp_min(math.exp(-p))) / p, torch.full_like(v, -1.0))
    sign_part = torch.where(big, torch.sign(v), v * math.exp(p))
    return torch.stack([log_part, sign_part], dim=-1)


class StepSizeLSTM(nn.Module):
    """P = clip(2σ(o), low, high) from a coordinate-wise LSTM over preprocessed (x, g, Hg)."""

    def __init__(self, hidden: int = 20, interval: tuple[float, float] = (0.1, 1.9),
                 coordinatewise: bool = True) -> None:
        super().__init__()
        check_positive_int("hidden", hidden)
        low, high = interval
        if not 0 <= low < 1 < high <= 2:
            raise ValueError(f"interval must satisfy 0 <= low < 1 < high <= 2, got {interval}")
        self.interval = (float(low), float(high))
        self.coordinatewise = coordinatewise
        self.hidden = hidden
        self.cell = nn.LSTMCell(6, hidden)
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(x.numel(), self.hidden, dtype=x.dtype, device=x.device)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, g: torch.Tensor, d: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """(P, clipped fraction per instance, new state) for x, g, d = Hg of shape (B, d) or (d,)."""
        x = check_finite("x", as_tensor("x", x))
        g = check_finite("g", as_tensor("g", g, like=x))
        d = check_finite("d", as_tensor("d", d, like=x))
        if g.shape != x.shape or d.shape != x.shape:
            raise ValueError(f"x, g, d must share one shape, got {tuple(x.shape)}, {tuple(g.shape)}, {tuple(d.shape)}")
        features = torch.cat([preprocess(x), preprocess(g), preprocess(d)], dim=-1).reshape(-1, 6)
        features = features.to(self.head.weight.dtype)
        if state is None or state[0].shape[0] != features.shape[0]:
            state = self.initial_state(x)
        h, c = self.cell(features, state)
        raw = self.head(h).reshape(x.shape)
        if not self.coordinatewise:
            raw = raw.mean(-1, keepdim=True).expand_as(raw)
        unclipped = 2 * torch.sigmoid(raw)
        low, high = self.interval
        P = unclipped.clamp(low, high)
        clipped = ((unclipped < low) | (unclipped > high)).to(x.dtype).mean(-1)
        return P.to(x.dtype), clipped, (h, c)


class LearnedSteps:
    """A ``cwss_bfgs`` step policy driven by a :class:`StepSizeLSTM`, updated online after every iteration
    (Adam with learning rate ``lr``) when ``learning`` is True; states are detached every step."""

    def __init__(self, model: StepSizeLSTM, lr: float = 1e-3, reg: float = 1e-2, learning: bool = True) -> None:
        check_positive("lr", lr)
        if not (isinstance(reg, (int, float)) and reg >= 0):
            raise ValueError(f"reg must be >= 0, got {reg!r}")
        self.model, self.reg, self.learns = model, reg, learning
        self.optimiser = torch.optim.Adam(model.parameters(), lr=lr) if learning else None
        self.state = None
        self.losses: list[float] = []

    def propose(self, k, x, g, d):
        with torch.set_grad_enabled(self.learns):
            P, clipped, state = self.model(x, g, d, self.state)
        self.state = (state[0].detach(), state[1].detach())
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
        self.optimiser.step()
        self.losses.append(float(loss.detach()))


def meta_train(model: StepSizeLSTM, instances, iterations: int, lr: float = 1e-3, reg: float = 1e-2,
               epochs: int = 1) -> list[float]:
    """Meta-train ``model`` in place: for each (objective, x0) in ``instances`` (``epochs`` passes), run
    ``iterations`` CWSS-BFGS steps with online updates; returns the mean online loss of each run."""
    from implementations.bfgs.solver import cwss_bfgs

    check_positive_int("iterations", iterations)
    check_positive_int("epochs", epochs)
    policy = LearnedSteps(model, lr=lr, reg=reg)
    history = []
    for _ in range(epochs):
        for objective, x0 in instances:
            policy.state, start = None, len(policy.losses)
            cwss_bfgs(objective, x0, policy, iterations, cond_every=0)
            run_losses = [v for v in policy.losses[start:] if v == v]
            history.append(sum(run_losses) / max(len(run_losses), 1))
    return history
