"""The CWSS-BFGS solver: batching, diagnostics, divergence records, input validation."""

import numpy as np
import pytest
import torch

from implementations.bfgs import FixedSteps, HypergradientSteps, cwss_bfgs, cwss_step
from implementations.bfgs.diagnostics import stacked_series
from implementations.problems.logistic import LogisticRegression
from implementations.problems.quadratic import Quadratic, random_spd


def test_cwss_with_unit_steps_converges_on_batched_logistic_regression():
    problem = LogisticRegression.random(6, 30, reg=1e-2, batch=(4,), generator=torch.Generator().manual_seed(0))
    trace = cwss_bfgs(problem, torch.zeros(4, 6), FixedSteps(1.0), 40)
    assert trace.series("grad_norm")[-1].max() < 1e-8
    assert (trace.diverged_at == -1).all()
    assert trace.series("descent").shape == (40, 4)


def test_batched_run_equals_single_runs():
    problem = LogisticRegression.random(5, 20, batch=(3,), generator=torch.Generator().manual_seed(1))
    batched = cwss_bfgs(problem, torch.zeros(3, 5), FixedSteps(0.8), 10)
    for b in range(3):
        single = LogisticRegression.create(problem.A[b], problem.labels[b], problem.reg)
        trace = cwss_bfgs(single, torch.zeros(5), FixedSteps(0.8), 10)
        assert np.allclose(trace.series("f")[:, 0], batched.series("f")[:, b], rtol=1e-12)


def test_diverging_run_is_recorded_not_raised():
    A = random_spd(3, 10.0, torch.Generator().manual_seed(2))
    problem = Quadratic.create(A, torch.zeros(3))
    trace = cwss_bfgs(problem, torch.ones(1, 3), FixedSteps(1e200, interval=None), 5, H0=torch.eye(3))
    assert int(trace.diverged_at[0]) >= 0
    assert np.isnan(trace.series("f")[-1, 0])


def test_stacked_series_pads_a_trace_that_stopped_when_its_runs_diverged_with_nan():
    """The full budget at seed 1 had a learned CNN run diverge after 17 of 150 iterations, and the claim
    that stacked the traces' series raised instead of reporting it."""
    A = random_spd(3, 10.0, torch.Generator().manual_seed(2))
    problem = Quadratic.create(A, torch.zeros(3))
    diverging = cwss_bfgs(problem, torch.ones(1, 3), FixedSteps(1e200, interval=None), 5, H0=torch.eye(3))
    converging = cwss_bfgs(problem, torch.ones(2, 3), FixedSteps(1.0), 5)
    assert diverging.iterations < converging.iterations == 5
    stacked = stacked_series([diverging, converging], "grad_norm")
    assert stacked.shape == (5, 3)
    assert np.isnan(stacked[diverging.iterations:, 0]).all()
    np.testing.assert_array_equal(stacked[:, 1:], converging.series("grad_norm"))
    np.testing.assert_array_equal(stacked[:diverging.iterations, :1], diverging.series("grad_norm"))


class _OverflowingGradient:
    """f ≡ 0 with ∇f = ±1e308 alternating between calls: y = ∇f(x⁺) − ∇f(x) overflows although f, ∇f and x
    stay finite (the kind of run that used to make the BFGS update raise)."""

    def __init__(self):
        self.calls = 0

    def value(self, x):
        return (x * 0).sum(-1)

    def gradient(self, x):
        self.calls += 1
        return torch.full_like(x, 1e308 if self.calls % 2 else -1e308)


def test_a_run_that_overflows_while_staying_finite_is_recorded_as_diverged_not_raised():
    trace = cwss_bfgs(_OverflowingGradient(), torch.ones(2, 3), FixedSteps(1.0), 5)
    assert (trace.diverged_at == 0).all()
    assert np.isnan(trace.series("f")).all()


def test_an_iterate_running_away_is_diverged_once_f_passes_the_blowup_threshold():
    """f = −½‖x‖² (unbounded below): the unit steps grow x geometrically; the instance is frozen once
    |f| > blowup·max(1, |f₀|), and every recorded f before that stays within the threshold."""
    problem = Quadratic.create(-torch.eye(2), torch.zeros(2), require_spd=False)
    trace = cwss_bfgs(problem, torch.ones(1, 2), FixedSteps(1.0), 200, blowup=1e6)
    at = int(trace.diverged_at[0])
    assert 0 <= at < 199
    values = trace.values_with_start()[: at + 1, 0]
    assert np.isfinite(values).all() and np.abs(values).max() <= 1e6
    with pytest.raises(ValueError, match="blowup"):
        cwss_bfgs(problem, torch.ones(1, 2), FixedSteps(1.0), 2, blowup=0.0)


def test_non_descent_step_is_recorded():
    problem = Quadratic.create(torch.diag(torch.tensor([1.0, 1.0])), torch.zeros(2))
    trace = cwss_bfgs(problem, torch.ones(1, 2), FixedSteps(-0.5, interval=None), 2, H0=torch.eye(2))
    assert trace.series("descent")[0, 0] == 0.0


@pytest.mark.parametrize("safeguard", ["skip", "damp"])
def test_negative_curvature_fires_the_selected_safeguard_and_keeps_H_spd(safeguard):
    problem = Quadratic.create(torch.diag(torch.tensor([1.0, -1.0])), torch.zeros(2), require_spd=False)
    trace = cwss_bfgs(problem, torch.tensor([[0.0, 1.0]]), FixedSteps(0.5), 1, safeguard=safeguard, H0=torch.eye(2))
    assert trace.series("ys")[0, 0] < 0 and trace.series("safeguard_fired")[0, 0] == 1.0
    assert float(torch.linalg.eigvalsh(trace.H[0])[0]) > 0


def test_hypergradient_keeps_P_in_its_interval_and_converges():
    problem = LogisticRegression.random(6, 30, generator=torch.Generator().manual_seed(3))
    policy = HypergradientSteps(beta=0.1, interval=(0.2, 1.8))
    trace = cwss_bfgs(problem, torch.zeros(6), policy, 40)
    assert float(policy.P.min()) >= 0.2 and float(policy.P.max()) <= 1.8
    assert trace.series("grad_norm")[-1, 0] < 1e-6


@pytest.mark.parametrize("kwargs, message", [
    (dict(H=torch.tensor([[1.0, 0.0], [0.0, -1.0]])), "positive definite"),
    (dict(P=torch.ones(3)), "shapes do not match"),
    (dict(g=torch.tensor([float("inf"), 0.0])), "g contains NaN"),
    (dict(x=torch.tensor([float("nan"), 0.0])), "x contains NaN"),
    (dict(P=torch.tensor([1.0, 2.5])), "P must lie in the closed interval"),
    (dict(P=torch.tensor([-0.1, 1.0])), "P must lie in the closed interval"),
])
def test_cwss_step_rejects_bad_input(kwargs, message):
    args = dict(x=torch.zeros(2), g=torch.ones(2), H=torch.eye(2), P=torch.ones(2))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        cwss_step(**args)


def test_steps_outside_the_interval_are_rejected_unless_allowed():
    problem = Quadratic.create(torch.eye(2), torch.zeros(2))
    with pytest.raises(ValueError, match="P must lie"):
        FixedSteps(2.5)
    with pytest.raises(ValueError, match="P must lie"):
        cwss_bfgs(problem, torch.ones(2), FixedSteps(lambda k: torch.tensor(3.0)), 1)
    with pytest.raises(ValueError, match="P must lie"):
        FixedSteps(1.5, interval=(0.1, 1.0))
    assert torch.allclose(cwss_step(torch.ones(2), torch.ones(2), torch.eye(2), torch.full((2,), 3.0), interval=None),
                          torch.full((2,), -2.0))


def test_solver_rejects_bad_arguments():
    problem = Quadratic.create(torch.eye(2), torch.zeros(2))
    with pytest.raises(ValueError, match="iterations"):
        cwss_bfgs(problem, torch.zeros(2), FixedSteps(1.0), 0)
    with pytest.raises(ValueError, match="x0"):
        cwss_bfgs(problem, torch.zeros(1, 1, 2), FixedSteps(1.0), 1)
    with pytest.raises(ValueError, match="H0"):
        cwss_bfgs(problem, torch.zeros(2), FixedSteps(1.0), 1, H0=-torch.eye(2))
