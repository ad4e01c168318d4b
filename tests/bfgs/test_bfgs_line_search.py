"""Line searches and line-search BFGS against scipy.optimize as the oracle."""

import importlib
import math

import numpy as np
import pytest
import scipy.optimize as so
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from implementations.bfgs import adam, backtracking_armijo, bfgs_line_search, lbfgs_torch, strong_wolfe
from implementations.problems import Quadratic, Rosenbrock
from implementations.problems.logistic import LogisticRegression


@pytest.mark.filterwarnings("ignore:The line search algorithm did not converge")  # the oracle failing is a case below
@settings(deadline=None, max_examples=40)
@given(st.floats(-2, 2), st.floats(-1, 3))
def test_strong_wolfe_step_satisfies_both_conditions_like_scipy(a, b):
    f = Rosenbrock(2)
    x = torch.tensor([a, b])
    g = f.gradient(x)
    if float(g.norm()) < 1e-8:
        return
    p = -g / float(g.norm())
    result = strong_wolfe(f, x, f.value(x), g, p)
    scipy_alpha = so.line_search(lambda z: float(f.value(torch.tensor(z))),
                                 lambda z: f.gradient(torch.tensor(z)).numpy(),
                                 x.numpy(), p.numpy(), c1=1e-4, c2=0.9)[0]
    if scipy_alpha is not None:
        assert result.success, result.reason
    if result.success:
        slope0 = float(g @ p)
        x_new = x + result.alpha * p
        assert float(f.value(x_new)) <= float(f.value(x)) + 1e-4 * result.alpha * slope0 + 1e-12
        assert abs(float(f.gradient(x_new) @ p)) <= 0.9 * abs(slope0) + 1e-12


def test_strong_wolfe_accepts_unit_step_when_scipy_does():
    f = LogisticRegression.random(5, 20, generator=torch.Generator().manual_seed(1))
    x = torch.zeros(5)
    g = f.gradient(x)
    p = -torch.linalg.solve(f.hessian(x), g)
    ours = strong_wolfe(f, x, f.value(x), g, p)
    theirs = so.line_search(lambda z: float(f.value(torch.tensor(z))), lambda z: f.gradient(torch.tensor(z)).numpy(),
                            x.numpy(), p.numpy())[0]
    assert ours.alpha == theirs == 1.0


def test_armijo_backtracks_to_sufficient_decrease_and_reports_non_descent():
    f = Rosenbrock(2)
    x = torch.tensor([-1.2, 1.0])
    g = f.gradient(x)
    result = backtracking_armijo(f, x, f.value(x), g, -g)
    assert result.success and float(result.f) <= float(f.value(x)) - 1e-4 * result.alpha * float(g @ g)
    failed = backtracking_armijo(f, x, f.value(x), g, g)
    assert not failed.success and "descent" in failed.reason


def test_line_search_rejects_bad_constants():
    f = Rosenbrock(2)
    x = torch.zeros(2)
    with pytest.raises(ValueError, match="c2"):
        strong_wolfe(f, x, f.value(x), f.gradient(x), -f.gradient(x), c1=0.5, c2=0.1)
    with pytest.raises(ValueError, match="c1"):
        backtracking_armijo(f, x, f.value(x), f.gradient(x), -f.gradient(x), c1=1.5)


@pytest.mark.parametrize("line_search", ["armijo", "wolfe"])
def test_bfgs_with_line_search_reaches_scipy_bfgs_minimum(line_search):
    problem = LogisticRegression.random(8, 40, reg=1e-2, generator=torch.Generator().manual_seed(2))
    reference = so.minimize(lambda z: float(problem.value(torch.tensor(z))), np.zeros(8),
                            jac=lambda z: problem.gradient(torch.tensor(z)).numpy(), method="BFGS",
                            options=dict(gtol=1e-10))
    trace = bfgs_line_search(problem, torch.zeros(8), 100, line_search, gtol=1e-9)
    assert float(trace.x[0].sub(torch.tensor(reference.x)).norm()) < 1e-6
    assert trace.iterations <= 3 * reference.nit + 5


def test_lbfgs_baseline_converges_and_counts_evaluations():
    problem = LogisticRegression.random(8, 40, reg=1e-2, generator=torch.Generator().manual_seed(3))
    trace = lbfgs_torch(problem, torch.zeros(8), 40)
    assert trace.series("grad_norm")[-1, 0] < 1e-6
    assert trace.evaluations >= trace.iterations


def test_adam_baseline_decreases_f_and_records_divergence_instead_of_raising():
    problem = Quadratic.create(torch.diag(torch.tensor([1.0, 4.0], dtype=torch.float64)),
                               torch.zeros(2, dtype=torch.float64))
    trace = adam(problem, torch.ones(2, dtype=torch.float64), 200, lr=0.05)
    assert int(trace.diverged_at[0]) == -1 and trace.series("f")[-1, 0] < 1e-3 * float(trace.f0[0])
    concave = Quadratic.create(-torch.eye(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64),
                               require_spd=False)
    blown = adam(concave, torch.full((2,), 1e153, dtype=torch.float64), 50, lr=1e153)
    assert int(blown.diverged_at[0]) >= 0 and np.isnan(blown.series("f")[-1, 0])


def test_damped_bfgs_passes_the_exact_bs_and_follows_the_run_that_solves_for_it(monkeypatch):
    # on the ill-conditioned quadratic the first step is nearly orthogonal to A·step, so damping acts right
    # after the Shanno–Phua rescaling of H₀ (9 iterations: f is then 1e-25 of f₀; further on, at the round-off
    # floor, superlinear steps amplify any difference); Rosenbrock damps later, at negative curvature
    problems = [(Rosenbrock(5), torch.tensor([-1.2, 1.0, -1.2, 1.0, 0.5]), 60),
                (Quadratic.create(torch.diag(torch.tensor([1.0, 1e4])), torch.zeros(2)), torch.tensor([1.0, 1e-6]), 9)]
    baselines = importlib.import_module("implementations.bfgs.baselines")
    real_update = baselines.safeguarded_update
    solving = lambda H, s, y, safeguard, bs=None, out=None: real_update(H, s, y, safeguard, out=out)  # noqa: E731
    for objective, x0, iterations in problems:
        fast = bfgs_line_search(objective, x0, iterations, "armijo", safeguard="damp")
        with monkeypatch.context() as patch:
            patch.setattr(baselines, "safeguarded_update", solving)
            slow = bfgs_line_search(objective, x0, iterations, "armijo", safeguard="damp")
        assert fast.series("f").shape == slow.series("f").shape
        assert fast.series("safeguard_fired").sum() > 0  # damping acted on this run
        # the paths differ by the solve's round-off, ~κ(H)·eps per update; 1e-8 leaves room for its growth
        np.testing.assert_allclose(fast.series("f"), slow.series("f"), rtol=1e-8, atol=1e-12)
    assert fast.series("safeguard_fired")[0] > 0  # the quadratic: damped at the first update


SADDLE = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))


@pytest.mark.parametrize("line_search", ["wolfe", "armijo"])
def test_bfgs_line_search_records_divergence_on_an_indefinite_quadratic_instead_of_raising(line_search):
    # from (1, 1), φ(α) = f(x − α∇f) = −2α: f is unbounded below along the first direction
    saddle = Quadratic.create(SADDLE, torch.zeros(2, dtype=torch.float64), require_spd=False)
    trace = bfgs_line_search(saddle, torch.tensor([1.0, 1.0], dtype=torch.float64), 200, line_search)
    at = int(trace.diverged_at[0])
    assert 0 <= at == trace.iterations - 1  # recorded at the step that crossed the threshold, and the run stopped
    values = trace.values_with_start()[:, 0]
    assert np.isnan(values[at + 1]) and np.isfinite(values[: at + 1]).all()
    assert np.abs(values[: at + 1]).max() <= 1e12  # blowup × max(1, |f(x₀)| = 0)
    assert bool(torch.isfinite(trace.x).all())


def test_bfgs_line_search_records_divergence_on_a_linear_objective():
    linear = Quadratic.create(torch.zeros(2, 2, dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64),
                              require_spd=False)
    trace = bfgs_line_search(linear, torch.tensor([1.0, 1.0], dtype=torch.float64), 500, "wolfe", blowup=1e3)
    assert 0 <= int(trace.diverged_at[0]) == trace.iterations - 1


def test_strong_wolfe_reports_failure_when_phi_decreases_up_to_alpha_max():
    linear = Quadratic.create(torch.zeros(2, 2, dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64),
                              require_spd=False)
    x = torch.zeros(2, dtype=torch.float64)
    g = linear.gradient(x)
    result = strong_wolfe(linear, x, linear.value(x), g, -g, alpha_max=8.0)
    assert not result.success and result.alpha == 8.0 and "alpha_max" in result.reason
    assert float(result.f) == -8.0


def test_bfgs_line_search_rejects_bad_tolerances():
    problem = Quadratic.create(torch.eye(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    for gtol in (math.nan, -1.0, math.inf, True):
        with pytest.raises((ValueError, TypeError), match="gtol"):
            bfgs_line_search(problem, torch.ones(2, dtype=torch.float64), 3, gtol=gtol)
    with pytest.raises(ValueError, match="blowup"):
        bfgs_line_search(problem, torch.ones(2, dtype=torch.float64), 3, blowup=0.0)
