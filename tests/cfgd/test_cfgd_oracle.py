"""The greedy per-step oracle (implementations.cfgd.oracle) on problems where its answer is known.

- 1-D least squares: every direction D ≠ 0 with the exact line search reaches x* = y/a in one step, so the
  oracle's first loss is f* = 0 (to 1e-12·f(x⁰));
- a diagonal least-squares problem and an H-function MLP: the first two steps equal brute force over the
  candidates, each candidate's step computed with the public one-run API (caputo_gradient and the step rule),
  to 1e-10 relative (the same float64 formulas in another order);
- the least-squares floor: with per-coordinate terminals c_j = x_j + (∇f_j − (x_j − x*_j))/(γ_j r_j) the
  direction is x − x* and one exact line-search step reaches f* (to 1e-8 relative to f(x⁰): the normal
  equations' round-off at cond ≈ 1e2)."""

from __future__ import annotations

import math

import pytest
import torch

from implementations.cfgd.caputo import caputo_gradient
from implementations.cfgd.optimizers import ExactLineSearch, LookaheadGridSearch
from implementations.cfgd.oracle import OracleCandidates, greedy_schedule_oracle, least_squares_floor
from implementations.cfgd.training import TaskConfig
from implementations.problems.least_squares import LeastSquares

F64 = torch.float64
CANDIDATES = OracleCandidates(alphas=(0.2, 0.7), betas=(-0.5, 0.4), terminals=(-1.0, 0.5), histories=(1,))


def test_one_step_reaches_the_minimum_in_one_dimension():
    f = LeastSquares.create(torch.tensor([[2.0]], dtype=F64), torch.tensor([3.0], dtype=F64))
    x0 = torch.tensor([-1.0], dtype=F64)
    run = greedy_schedule_oracle(f, x0, 3, ExactLineSearch(), CANDIDATES)
    assert run.losses[1] <= 1e-12 * run.losses[0]
    assert len(run.choices) == 3


def brute_force_step(f, x, past, rule, candidates: OracleCandidates, t: int) -> tuple[float, dict]:
    """min over the candidates of f(x − η D) with D from caputo_gradient and η from ``rule``; first minimiser."""
    best, choice = math.inf, None
    options = [("NA", a, b, c) for a, b, c in candidates.na()]
    options += [("AT", a, b, h) for a, b, h in candidates.at() if t >= h]
    for kind, a, b, spec in options:
        c = torch.full_like(x, spec) if kind == "NA" else past[-1 - spec]
        d = caputo_gradient(f, x, a, b, c)
        value = float(f(x - rule(f, x, d) * d))
        if value < best:
            best, choice = value, {"kind": kind, "alpha": a, "beta": b, "spec": spec, "x": x - rule(f, x, d) * d}
    return best, choice


@pytest.mark.parametrize("problem", ["diagonal", "h2"])
def test_first_steps_equal_brute_force_over_the_candidates(problem):
    if problem == "diagonal":
        f = LeastSquares.create(torch.diag(torch.tensor([1.0, 3.0, 0.5], dtype=F64)),
                                torch.tensor([1.0, -2.0, 0.5], dtype=F64))
        x0, rule = torch.tensor([0.3, 0.0, -1.0], dtype=F64), ExactLineSearch()
    else:
        f, x0 = TaskConfig("h2", n=12, hidden=3, iterations=2).make(torch.Generator().manual_seed(0))
        rule = LookaheadGridSearch()
    run = greedy_schedule_oracle(f, x0, 2, rule, CANDIDATES)
    past, x = [x0], x0
    for t in range(2):
        best, choice = brute_force_step(f, x, past, rule, CANDIDATES, t)
        assert math.isclose(run.losses[t + 1], best, rel_tol=1e-10)
        taken = run.choices[t]
        assert (taken["kind"], taken["alpha"], taken["beta"]) == (choice["kind"], choice["alpha"], choice["beta"])
        assert taken.get("c", taken.get("history")) == choice["spec"]
        x = choice["x"]
        past.append(x)


def test_the_oracle_never_loses_to_a_static_configuration_on_its_first_step():
    f, x0 = TaskConfig("least-squares", d=6, m=6).make(torch.Generator().manual_seed(3))
    run = greedy_schedule_oracle(f, x0, 1, ExactLineSearch(), CANDIDATES)
    for a, b, c in CANDIDATES.na():
        d = caputo_gradient(f, x0, a, b, c)
        assert run.losses[1] <= float(f(x0 - ExactLineSearch()(f, x0, d) * d)) * (1 + 1e-12)


def test_per_coordinate_terminals_reach_the_least_squares_floor_in_one_step():
    gen = torch.Generator().manual_seed(5)
    A = torch.randn(8, 5, generator=gen, dtype=F64)
    f = LeastSquares.create(A, torch.randn(8, generator=gen, dtype=F64))
    x0 = torch.zeros(5, dtype=F64)
    solution = torch.linalg.lstsq(A, f.y.unsqueeze(-1)).solution.squeeze(-1)
    alpha, beta = 0.5, 0.3
    gamma = beta - (1 - alpha) / (2 - alpha)
    r = (A * A).sum(0)
    c = x0 + (f.gradient(x0) - (x0 - solution)) / (gamma * r)
    d = caputo_gradient(f, x0, alpha, beta, c)
    assert torch.allclose(d, x0 - solution, rtol=1e-10, atol=1e-12)
    x1 = x0 - ExactLineSearch()(f, x0, d) * d
    assert abs(float(f(x1)) - float(f(solution))) <= 1e-8 * float(f(x0))
    assert math.isclose(least_squares_floor(f, x0, 4), float(f(x0)) + 4 * float(f(solution)), rel_tol=1e-12)


def test_bad_candidates_are_rejected_by_name():
    with pytest.raises(ValueError, match="alphas"):
        OracleCandidates(alphas=(1.0,))
    with pytest.raises(ValueError, match="histories"):
        OracleCandidates(histories=(0,))
    f = LeastSquares.create(torch.eye(2, dtype=F64), torch.ones(2, dtype=F64))
    with pytest.raises(ValueError, match="x0"):
        greedy_schedule_oracle(f, torch.zeros(3, dtype=F64), 2, ExactLineSearch())
    with pytest.raises(TypeError, match="step_size"):
        greedy_schedule_oracle(f, torch.zeros(2, dtype=F64), 2, None)
