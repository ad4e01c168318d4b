"""The chained Rosenbrock objective: value at known points, gradient and Hessian against autograd, batching,
non-convexity, the standard start and input errors."""

import pytest
import torch
from torch.autograd.functional import hessian

from implementations.problems.rosenbrock import Rosenbrock


@pytest.mark.parametrize("dim", [2, 5])
def test_gradient_and_hessian_match_autograd(dim):
    problem = Rosenbrock(dim)
    x = torch.randn(dim, generator=torch.Generator().manual_seed(dim))
    x_ = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(problem.value(x_), x_)
    assert torch.allclose(problem.gradient(x), auto, rtol=1e-12, atol=1e-12)
    assert torch.allclose(problem.hessian(x), hessian(problem.value, x), rtol=1e-12, atol=1e-10)


def test_minimiser_has_zero_value_and_gradient_and_classical_start_value():
    problem = Rosenbrock(2)
    assert float(problem.value(problem.minimiser())) == 0.0
    assert torch.equal(problem.gradient(problem.minimiser()), torch.zeros(2))
    # f(−1.2, 1) = 100·(1 − 1.44)² + 2.2² = 24.2 (the classical starting value)
    assert abs(float(problem.value(problem.standard_start())) - 24.2) < 1e-12


def test_batched_evaluation_equals_single_and_spread_makes_distinct_starts():
    problem = Rosenbrock(4, a=10.0)
    x = problem.standard_start(3, spread=0.5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 4) and not torch.equal(x[0], x[1])
    assert torch.allclose(problem.value(x)[1], problem.value(x[1]))
    assert torch.allclose(problem.gradient(x)[2], problem.gradient(x[2]))
    assert problem.hessian(x).shape == (3, 4, 4)


def test_hessian_is_indefinite_exactly_above_the_parabola_in_2d():
    problem = Rosenbrock(2)
    # det ∇²f = 8a²(x₁² − x₂) + 4a < 0 ⇔ x₂ > x₁² + 1/(2a)
    above = torch.tensor([0.5, 0.25 + 0.006])
    below = torch.tensor([0.5, 0.25 + 0.004])
    assert float(torch.linalg.eigvalsh(problem.hessian(above))[0]) < 0
    assert float(torch.linalg.eigvalsh(problem.hessian(below))[0]) > 0


@pytest.mark.parametrize("build, error, message", [
    (lambda: Rosenbrock(1), ValueError, "dim must be >= 2"),
    (lambda: Rosenbrock(2.0), TypeError, "dim must be an int"),
    (lambda: Rosenbrock(3, a=0.0), ValueError, "a must be a positive"),
    (lambda: Rosenbrock(3).value(torch.ones(2)), ValueError, r"x must have shape \(\.\.\., 3\)"),
    (lambda: Rosenbrock(3).standard_start(spread=-1.0), ValueError, "spread"),
])
def test_bad_input_raises_error_naming_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()
