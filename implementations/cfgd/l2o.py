"""L2O-CFGD (THEORY.md §1.4; paper §3, the authors' fl2o/l2o.py) and the black-box LSTM optimizer baseline.

A coordinate-wise network shared across coordinates: two stacked LSTM cells (hidden 40), a linear head.
Inputs per coordinate (detached): the gradient with Andrychowicz et al. (2016) preprocessing (p = 10) and the
time encoding t/T. L2O-CFGD heads: α = sigmoid(o₀) (clamped into [α_min, 1 − α_min] so the Gauss–Jacobi rule
exists), β = o₁, c = o₂ (an absolute terminal). The step x ← x − η D f(x; α, β, c) uses the scaled Caputo
gradient; η comes from a step-size rule (not learned). The black-box baseline outputs the update itself:
x ← x + scale · o₀.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from implementations.cfgd.caputo import HESSIAN_MODES, authors_caputo_direction, caputo_gradient
from implementations.cfgd.gauss_jacobi import MAX_NODES, order_gap
from implementations.cfgd.optimizers import gradient_of
from implementations.validation import check_bool, check_choice, check_number, check_positive, check_positive_int

LSTMState = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
#: The direction of the step: the scaled Caputo gradient of §1.2, or the authors' code variant of it.
DIRECTIONS = ("caputo", "authors")
#: The range of the preprocessing constant p: e^p must be finite (p <= 709) and log|g|/p bounded.
PREPROCESSING_RANGE = (1e-6, 700.0)


def preprocess_gradient(gradient: torch.Tensor, p: float = 10.0) -> torch.Tensor:
    """Andrychowicz et al. (2016), App. A: (log|g|/p, sign g) if |g| ≥ e^(−p), else (−1, e^p g); shape (d, 2)."""
    if p <= 0:
        raise ValueError(f"p must be positive, got {p}")
    large = gradient.abs() >= math.exp(-p)
    magnitude = torch.where(large, torch.log(gradient.abs().clamp_min(1e-300)) / p, -torch.ones_like(gradient))
    direction = torch.where(large, torch.sign(gradient), math.exp(p) * gradient)
    return torch.stack([magnitude, direction], dim=-1)


def order_floor(nodes: int, dtype: torch.dtype) -> float:
    """The least 1 − α the ``nodes``-node rule takes in ``dtype``: eps (so that α < 1) for one node, √eps
    (gauss_jacobi.order_gap) for more."""
    return torch.finfo(dtype).eps if nodes == 1 else order_gap(dtype)


class CoordinateLSTM(nn.Module):
    """Two stacked LSTMCells (in_dim → hidden → hidden) and a linear head (hidden → out_dim), applied to the
    d coordinates as a batch. Head: Xavier-uniform weight, zero bias (as in the code). ``dtype``, ``device``:
    of the parameters, as for torch.nn modules (None: torch's defaults)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None):
        super().__init__()
        self.hidden = hidden
        factory = dict(dtype=dtype, device=device)
        self.cell1 = nn.LSTMCell(in_dim, hidden, **factory)
        self.cell2 = nn.LSTMCell(hidden, hidden, **factory)
        self.head = nn.Linear(hidden, out_dim, **factory)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def initial_state(self, d: int, like: torch.Tensor) -> LSTMState:
        weight = self.head.weight
        zeros = torch.zeros(d, self.hidden, dtype=weight.dtype, device=weight.device)
        return (zeros, zeros.clone(), zeros.clone(), zeros.clone())

    def forward(self, inputs: torch.Tensor, state: LSTMState) -> tuple[torch.Tensor, LSTMState]:
        h1, c1 = self.cell1(inputs, (state[0], state[1]))
        h2, c2 = self.cell2(h1, (state[2], state[3]))
        return self.head(h2), (h1, c1, h2, c2)


def detach_state(state: LSTMState) -> LSTMState:
    return tuple(s.detach() for s in state)  # type: ignore[return-value]


@dataclass
class StepRecord:
    """What one optimizer step produced (per coordinate, detached): the hyperparameters (None for the
    black-box baseline), the step size (a float; per coordinate, a tensor, for LayerwiseLookahead)."""

    alpha: torch.Tensor | None
    beta: torch.Tensor | None
    c: torch.Tensor | None
    eta: float


def _features(f, x: torch.Tensor, t: int, horizon: int, p: float, dtype) -> torch.Tensor:
    gradient = gradient_of(f, x.detach())
    time_code = torch.full_like(gradient, t / horizon)
    return torch.cat([preprocess_gradient(gradient, p), time_code.unsqueeze(-1)], dim=-1).to(dtype)


class L2OCFGD(nn.Module):
    """The learned CFGD optimizer: per coordinate and step, (α, β, c) = heads(LSTM(features)).

    fixed_beta, fixed_c: when given (finite numbers), β resp. c is held at that constant for every coordinate
    and step instead of being read from the head; with both set this is the α-only meta-optimizer of
    THEORY.md §1.5. The head keeps its three outputs either way (same parameters and checkpoints); an
    output that is overridden gets no meta-gradient.

    Two switches reproduce the authors' code, to measure what each difference does ("code"):
    direction="authors": the direction of their general CFGD (fl2o/optimizer.py, class CFGD;
    caputo.authors_caputo_direction: nodes and β-term placed with |x − c|, curvature |·|), which differs from
    §1.2 for x_j < c_j; beta_scaling=True: the direction divided by 1 + |β_j| per coordinate, as their
    least-squares optimizer CFGD_ClosedForm_v2 does (with the exact line search a common factor cancels, a
    per-coordinate one does not: it acts as a learned diagonal preconditioner).
    ``dtype``, ``device``: of the network's parameters, as for torch.nn modules (None: torch's defaults).
    """

    def __init__(self, hidden: int = 40, preprocessing: float = 10.0, alpha_min: float = 1e-4, nodes: int = 1,
                 hessian: str = "exact", probes: int = 3, fixed_beta: float | None = None,
                 fixed_c: float | None = None, direction: str = "caputo", beta_scaling: bool = False,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None):
        super().__init__()
        check_choice("direction", direction, DIRECTIONS)
        check_bool("beta_scaling", beta_scaling)
        self.direction, self.beta_scaling = direction, beta_scaling
        check_positive_int("hidden", hidden)
        check_number("preprocessing", preprocessing, *PREPROCESSING_RANGE)
        check_positive_int("nodes", nodes, maximum=MAX_NODES)
        check_choice("hessian", hessian, HESSIAN_MODES)
        check_positive_int("probes", probes)
        # the clamp's top 1 − alpha_min must stay where the Gauss–Jacobi rule exists (and is accurate) in float64
        check_number("alpha_min", alpha_min, order_floor(nodes, torch.float64), 0.5, high_open=True)
        for name, value in (("fixed_beta", fixed_beta), ("fixed_c", fixed_c)):
            if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                          and math.isfinite(value)):
                raise ValueError(f"{name} must be None or a finite number, got {value!r}")
        self.net = CoordinateLSTM(3, hidden, 3, dtype=dtype, device=device)
        self.preprocessing = preprocessing
        self.alpha_min = alpha_min
        self.nodes, self.hessian, self.probes = nodes, hessian, probes
        self.fixed_beta, self.fixed_c = fixed_beta, fixed_c

    def heads(self, outputs: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """α = sigmoid(o₀) clamped to [α_min, 1 − α_min], β = o₁ (or fixed_beta), c = o₂ (or fixed_c), in x's
        dtype."""
        outputs = outputs.to(like.dtype)
        # below float64, 1 − alpha_min can lie beyond the rule's range in that dtype (see order_floor)
        gap = max(self.alpha_min, order_floor(self.nodes, like.dtype))
        alpha = torch.sigmoid(outputs[:, 0]).clamp(self.alpha_min, 1 - gap)
        beta = outputs[:, 1] if self.fixed_beta is None else torch.full_like(alpha, self.fixed_beta)
        c = outputs[:, 2] if self.fixed_c is None else torch.full_like(alpha, self.fixed_c)
        return alpha, beta, c

    def step(self, f: Callable, x: torch.Tensor, t: int, horizon: int, state: LSTMState, step_size,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, LSTMState, StepRecord]:
        """x⁺ = x − η D f(x; α, β, c); differentiable in the network's parameters through α, β, c."""
        features = _features(f, x, t, horizon, self.preprocessing, self.net.head.weight.dtype)
        outputs, state = self.net(features, state)
        alpha, beta, c = self.heads(outputs, x)
        compute = caputo_gradient if self.direction == "caputo" else authors_caputo_direction
        direction = compute(f, x, alpha, beta, c, nodes=self.nodes, hessian=self.hessian, probes=self.probes,
                            generator=generator)
        if self.beta_scaling:
            direction = direction / (1 + beta.abs())
        eta = step_size(f, x, direction).detach()
        record = StepRecord(alpha.detach(), beta.detach(), c.detach(), float(eta) if eta.numel() == 1 else eta)
        return x - eta * direction, state, record


class LSTMOptimizer(nn.Module):
    """Black-box L2O baseline (Andrychowicz et al. 2016): the update is the network's output, x⁺ = x + scale·o₀."""

    def __init__(self, hidden: int = 40, preprocessing: float = 10.0, scale: float = 0.1):
        super().__init__()
        check_positive_int("hidden", hidden)
        check_number("preprocessing", preprocessing, *PREPROCESSING_RANGE)
        check_positive("scale", scale)
        self.net = CoordinateLSTM(3, hidden, 1)
        self.preprocessing = preprocessing
        self.scale = scale

    def step(self, f: Callable, x: torch.Tensor, t: int, horizon: int, state: LSTMState, step_size=None,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, LSTMState, StepRecord]:
        features = _features(f, x, t, horizon, self.preprocessing, self.net.head.weight.dtype)
        outputs, state = self.net(features, state)
        return x + self.scale * outputs[:, 0].to(x.dtype), state, StepRecord(None, None, None, self.scale)
