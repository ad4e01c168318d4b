"""The BFGS paper's tasks: logistic regression, log-sum-exp and the digit CNN (gradients, Hessians, errors)."""

import pytest
import torch
from torch.autograd.functional import hessian

from implementations.problems.cnn import DigitCNNObjective
from implementations.problems.logistic import LogisticRegression
from implementations.problems.logsumexp import LogSumExp


def _problems():
    gen = torch.Generator().manual_seed(0)
    return [LogisticRegression.random(4, 10, generator=gen), LogSumExp.random(4, 10, generator=gen)]


@pytest.mark.parametrize("problem", _problems(), ids=["logistic", "logsumexp"])
def test_gradient_and_hessian_match_autograd(problem):
    x = torch.randn(4, generator=torch.Generator().manual_seed(1))
    x_ = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(problem.value(x_), x_)
    assert torch.allclose(problem.gradient(x), auto, rtol=1e-12, atol=1e-14)
    assert torch.allclose(problem.hessian(x), hessian(problem.value, x), rtol=1e-10, atol=1e-12)


def test_logistic_regression_is_mu_strongly_convex_and_L_smooth():
    problem = LogisticRegression.random(5, 30, reg=0.1, generator=torch.Generator().manual_seed(2))
    for seed in range(5):
        x = 3 * torch.randn(5, generator=torch.Generator().manual_seed(seed))
        lam = torch.linalg.eigvalsh(problem.hessian(x))
        assert float(lam[0]) >= problem.strong_convexity() - 1e-12
        assert float(lam[-1]) <= float(problem.smoothness()) + 1e-12


def test_batched_problems_evaluate_each_instance():
    problem = LogisticRegression.random(3, 8, batch=(2,), generator=torch.Generator().manual_seed(3))
    x = torch.randn(2, 3)
    single = LogisticRegression.create(problem.A[1], problem.labels[1], problem.reg)
    assert torch.allclose(problem.value(x)[1], single.value(x[1]))


def test_cnn_has_about_1500_parameters_and_autograd_gradient():
    objective = DigitCNNObjective.create(n=32)
    assert objective.dim == 1503
    w = objective.initial_point(torch.Generator().manual_seed(0))
    w_ = w.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(objective.value(w_), w_)
    assert torch.allclose(objective.gradient(w), auto, rtol=1e-10, atol=1e-14)
    batched = objective.gradient(torch.stack([w, 2 * w]))
    assert torch.allclose(batched[0], auto) and 0.0 <= objective.accuracy(w) <= 1.0


@pytest.mark.parametrize("build, message", [
    (lambda: LogisticRegression.create(torch.ones(3, 2), torch.tensor([1.0, 0.0, 1.0]), 0.1), "labels"),
    (lambda: LogisticRegression.create(torch.ones(3, 2), torch.ones(3), 0.0), "reg"),
    (lambda: LogisticRegression.create(torch.ones(3, 2), torch.ones(4), 0.1), "do not match"),
    (lambda: LogSumExp.create(torch.ones(3, 2), torch.ones(3), rho=-1.0), "rho"),
    (lambda: LogSumExp.create(torch.ones(3, 2), torch.ones(3), rho=1.0, reg=-1.0), "reg"),
    (lambda: LogSumExp.create(torch.full((3, 2), float("nan")), torch.ones(3), rho=1.0), "NaN"),
])
def test_problems_reject_bad_input(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_cnn_rejects_wrong_parameter_length():
    objective = DigitCNNObjective.create(n=8)
    with pytest.raises(ValueError, match="w must have shape"):
        objective.value(torch.zeros(10))
