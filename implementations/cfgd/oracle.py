"""A model-free reference for learned CFGD step rules: the greedy per-step choice of (α, β, c) and η
(THEORY.md §1.4; what a learned schedule of coordinate-uniform hyperparameters could at best do one step ahead).

At every step t the oracle tries every candidate of a finite set and keeps the one whose next loss is lowest:
  x^(t+1) = argmin_{k} f(x^(t) − η_k D f(x^(t); α_k, β_k, c_k)),
with η_k from the task's step rule (the exact line search on least squares, which is the exact one-step
look-ahead over η; the look-ahead grid on the H-functions), ties to the first candidate, non-finite losses
counting as +inf. Candidates: NA-type (α, β, c) with a constant terminal c (every coordinate), and AT-type
(α, β, L) with the terminal c = x^(t−L), available once t ≥ L. The one-step direction is the one-node scaled
Caputo direction with exact ∂²_jj (implementations.cfgd.batched), the static baselines' direction, so every
static configuration's step is among the candidates at every step (the AT ones from step L on).
Greedy is not optimal over the horizon: the oracle is a reference, not an upper bound.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from implementations.cfgd import batched
from implementations.cfgd.optimizers import ExactLineSearch, LookaheadGridSearch
from implementations.problems.least_squares import LeastSquares
from implementations.validation import check_instance, check_number, check_positive_int, check_real_tensor


@dataclass(frozen=True)
class OracleCandidates:
    """The candidate set: NA-type alphas × betas × terminals, and AT-type alphas × betas × histories."""

    alphas: tuple[float, ...] = (0.1, 0.6, 0.95)
    betas: tuple[float, ...] = (-1.0, 0.0, 0.3)
    terminals: tuple[float, ...] = (-0.5, 0.0, 1.0)
    histories: tuple[int, ...] = (1, 4)

    def __post_init__(self) -> None:
        for name in ("alphas", "betas", "terminals", "histories"):
            check_instance(name, getattr(self, name), tuple, "tuple")
        if not self.alphas or not self.betas or not (self.terminals or self.histories):
            raise ValueError("alphas and betas must be non-empty, and terminals or histories must be non-empty")
        for alpha in self.alphas:
            check_number("alphas entry", alpha, 0.0, 1.0, low_open=True, high_open=True)
        for value in (*self.betas, *self.terminals):
            check_number("betas/terminals entry", value)
        for history in self.histories:
            check_positive_int("histories entry", history)

    def na(self) -> list[tuple[float, float, float]]:
        return list(itertools.product(self.alphas, self.betas, self.terminals))

    def at(self) -> list[tuple[float, float, int]]:
        return list(itertools.product(self.alphas, self.betas, self.histories))


@dataclass
class OracleRun:
    """losses[t] = f(x^(t)), t = 0..T; choices[t]: the candidate taken at step t ({"kind": "NA", alpha, beta,
    c} or {"kind": "AT", alpha, beta, history}) and its step size eta."""

    losses: list[float]
    choices: list[dict] = field(default_factory=list)

    @property
    def summed_loss(self) -> float:
        return float(sum(self.losses))


def _step_rule(rule):
    check_instance("step_size", rule, (ExactLineSearch, LookaheadGridSearch), "ExactLineSearch or LookaheadGridSearch")
    return rule


def greedy_schedule_oracle(f: Callable, x0: torch.Tensor, steps: int, step_size,
                           candidates: OracleCandidates | None = None) -> OracleRun:
    """Run the greedy oracle (module docstring) for ``steps`` steps from x⁰ on one problem f (a LeastSquares
    instance or a one-hidden-layer half-SSE FlatMLPObjective; batched.supports_batching). step_size:
    ExactLineSearch (least squares) or LookaheadGridSearch. All candidates of a step are evaluated as one batch."""
    if not batched.supports_batching([f]):
        raise TypeError(f"f must be a LeastSquares instance (A of shape (m, d)) or a one-hidden-layer half-SSE "
                        f"FlatMLPObjective, got {type(f).__name__}")
    batch_one = batched.stack_problems([f])
    check_real_tensor("x0", x0, dim=1)
    if x0.shape[0] != f.dim:
        raise ValueError(f"x0 must have f's {f.dim} entries, got shape {tuple(x0.shape)}")
    check_positive_int("steps", steps)
    rule = _step_rule(step_size)
    if isinstance(rule, ExactLineSearch) and not isinstance(batch_one, batched.LeastSquaresBatch):
        raise ValueError("step_size ExactLineSearch needs a least-squares f")
    candidates = OracleCandidates() if candidates is None else check_instance("candidates", candidates,
                                                                              OracleCandidates)
    na, at = candidates.na(), candidates.at()
    dtype, device = x0.dtype, x0.device
    total = len(na) + len(at)
    problems = batched.stack_problems([f] * total)
    alpha = torch.tensor([a for a, _, _ in na] + [a for a, _, _ in at], dtype=dtype, device=device)
    beta = torch.tensor([b for _, b, _ in na] + [b for _, b, _ in at], dtype=dtype, device=device)
    constant_c = torch.tensor([c for _, _, c in na], dtype=dtype, device=device)
    history = [h for _, _, h in at]
    x = x0.detach().clone()
    past = [x]                                                       # past[-1 - L] = x^(t−L)
    run = OracleRun([float(batch_one.value(x.unsqueeze(0))[0])])
    for t in range(steps):
        available = torch.tensor([True] * len(na) + [t >= h for h in history], device=device)
        terminals = torch.empty(total, x.shape[0], dtype=dtype, device=device)
        terminals[:len(na)] = constant_c.unsqueeze(-1)
        for k, h in enumerate(history):
            terminals[len(na) + k] = past[-1 - h] if t >= h else x
        xs = x.unsqueeze(0).expand(total, -1)
        direction = batched.batched_direction(problems, xs, alpha, beta, terminals)
        eta = batched.batched_step_size(problems, xs, direction, rule)
        candidates_x = xs - eta.unsqueeze(-1) * direction
        values = problems.value(candidates_x)
        values = torch.where(available & torch.isfinite(values) & torch.isfinite(candidates_x).all(-1), values,
                             torch.full_like(values, math.inf))
        best = int(torch.argmin(values))
        if not math.isfinite(float(values[best])):
            break
        x = candidates_x[best].clone()
        past.append(x)
        run.losses.append(float(values[best]))
        kind = "NA" if best < len(na) else "AT"
        spec = na[best] if kind == "NA" else at[best - len(na)]
        choice = {"kind": kind, "alpha": spec[0], "beta": spec[1], "eta": float(eta[best])}
        choice.update({"c": spec[2]} if kind == "NA" else {"history": spec[2]})
        run.choices.append(choice)
    return run


def least_squares_floor(f, x0: torch.Tensor, steps: int) -> float:
    """f(x⁰) + T·f*: the summed loss of a step rule with per-coordinate terminals on least squares (derived):
    D f = ∇f + γ⊙r⊙(x − c) (one node, exact curvature) with c_j = x_j + (∇f_j − v_j)/(γ_j r_j) (γ_j ≠ 0) is any
    v, x − x* included, and the exact line search then gives η = 1 and f(x^(1)) = f* = min f; no rule does
    better, since f(x^(t)) ≥ f* at every step."""
    check_instance("f", f, LeastSquares)
    if f.A.dim() != 2:
        raise ValueError(f"f must be a single least-squares instance (A of shape (m, d)), got A {tuple(f.A.shape)}")
    check_real_tensor("x0", x0, dim=1)
    if x0.shape[0] != f.dim:
        raise ValueError(f"x0 must have f's {f.dim} entries, got shape {tuple(x0.shape)}")
    check_positive_int("steps", steps)
    A, y = f.A, f.y
    solution = torch.linalg.lstsq(A, y.unsqueeze(-1)).solution.squeeze(-1)
    return float(f(x0)) + steps * float(f(solution))
