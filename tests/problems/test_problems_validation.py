"""Input validation names the argument and the allowed range; shared problems compute what they state."""

import pytest
import torch

from implementations.problems import LeastSquares, Quadratic, load_digit_data, random_spd
from implementations.validation import (
    broadcast_per_coordinate,
    check_closed_interval,
    check_finite,
    check_open_interval,
    check_positive_int,
    check_shape,
    check_spd,
)


@pytest.mark.parametrize("fn, message", [
    (lambda: check_open_interval("alpha", torch.tensor([0.5, 1.0]), 0, 1), "alpha must lie in the open interval"),
    (lambda: check_open_interval("alpha", torch.tensor([float("nan")]), 0, 1), "alpha contains NaN"),
    (lambda: check_closed_interval("P", torch.tensor([2.5]), 0, 2), r"P must lie in the closed interval \[0, 2\]"),
    (lambda: check_spd("H", torch.tensor([[1.0, 0.0], [0.0, -1.0]])), "H must be positive definite"),
    (lambda: check_spd("H", torch.tensor([[1.0, 2.0], [0.0, 1.0]])), "H must be symmetric"),
    (lambda: check_spd("H", torch.ones(2, 3)), "H must be a square"),
    (lambda: check_shape("b", torch.ones(3), (2,)), r"b must have shape \(2,\)"),
    (lambda: check_positive_int("s", 0), "s must be >= 1"),
    (lambda: broadcast_per_coordinate("beta", torch.ones(3), torch.ones(4)), "beta of shape"),
    (lambda: Quadratic.create(torch.eye(2), torch.ones(3)), "b must have shape"),
    (lambda: LeastSquares.create(torch.ones(3, 2), torch.ones(2)), "do not match"),
])
def test_bad_input_raises_error_naming_the_argument(fn, message):
    with pytest.raises(ValueError, match=message):
        fn()


def test_check_positive_int_rejects_non_int():
    with pytest.raises(TypeError, match="s must be an int"):
        check_positive_int("s", 1.5)


def test_random_spd_has_requested_condition_number():
    a = random_spd(6, 100.0, torch.Generator().manual_seed(0))
    lam = torch.linalg.eigvalsh(a)
    assert torch.allclose(lam[-1] / lam[0], torch.tensor(100.0, dtype=torch.float64), rtol=1e-10)


def test_quadratic_gradient_vanishes_at_minimiser():
    a = random_spd(4, 10.0, torch.Generator().manual_seed(1))
    q = Quadratic.create(a, torch.arange(4.0, dtype=torch.float64))
    assert torch.allclose(q.gradient(q.minimiser()), torch.zeros(4, dtype=torch.float64), atol=1e-12)


def test_least_squares_gradient_matches_autograd():
    ls = LeastSquares.random_cfgd(5, 7, torch.Generator().manual_seed(2))
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad(ls.value(x), x)
    assert torch.allclose(auto, ls.gradient(x.detach()))


def test_digit_data_is_real_and_scaled():
    inputs, labels = load_digit_data(100, seed=0)
    assert inputs.shape == (100, 64) and 0 <= inputs.min() and inputs.max() <= 1
    assert set(labels.tolist()) <= set(range(10)) and len(set(labels.tolist())) > 5


def test_check_finite_rejects_inf_and_nan_and_accepts_finite_entries_whose_sum_overflows():
    big = torch.full((4,), 1e308, dtype=torch.float64)  # finite entries, sum = inf
    assert check_finite("x", big) is big
    for bad in (float("inf"), -float("inf"), float("nan")):
        with pytest.raises(ValueError, match="x contains NaN or infinite"):
            check_finite("x", torch.tensor([1.0, bad, -1e308], dtype=torch.float64))
    assert check_finite("n", torch.tensor([1, 2])) is not None  # integer tensors are finite by type
