"""Closed-form Caputo direction on quadratics, NA-/AT-CFGD runs, Tikhonov point, stability threshold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from implementations.cfgd.quadratic import (
    at_cfgd,
    gamma,
    na_cfgd,
    quadratic_direction,
    stability_threshold,
    tikhonov_point,
)
from verify.margins.cfgd import closed_form_margin, heavy_ball_margin

A = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 3.0]], dtype=torch.float64)
B = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)


@given(x=st.lists(st.floats(-3, 3), min_size=3, max_size=3), c=st.lists(st.floats(-3, 3), min_size=3, max_size=3),
       alpha=st.floats(0.02, 0.98), beta=st.floats(-2, 2))
@settings(deadline=None, max_examples=25)
@example(x=[-1.0, 0.5, 2.0], c=[1.0, 1.0, 1.0], alpha=0.6, beta=0.3)  # x_j < c_j and x_j > c_j mixed
def test_closed_form_matches_the_caputo_definition_on_both_sides_of_c(x, c, alpha, beta):
    instance = dict(A=A.numpy(), b=B.numpy(), x=np.array(x), c=np.array(c), alpha=np.full(3, alpha),
                    beta=np.full(3, beta))
    assert closed_form_margin(instance) <= 0


def test_closed_form_matches_the_definition_when_gamma_is_a_cancelling_difference():
    """The full budget's counterexample to the earlier |γ|-scaled tolerance: γ = 0.5 − 0.492 ≈ 0.008."""
    instance = dict(A=np.eye(1), b=np.zeros(1), x=np.zeros(1), c=np.ones(1), alpha=np.array([0.03125]),
                    beta=np.array([0.5]))
    assert closed_form_margin(instance) <= 0


def test_closed_form_check_rejects_a_sign_flipped_or_factor_dropped_direction():
    instance = dict(A=A.numpy(), b=B.numpy(), x=np.array([-1.0, 0.5, 2.0]), c=np.ones(3), alpha=np.full(3, 0.6),
                    beta=np.full(3, 0.3))

    def flipped(A_, b, x, alpha, beta, c):  # γ with the wrong sign on (1−α)/(2−α)
        return x @ A_ + b + (beta + (1 - alpha) / (2 - alpha)) * torch.diagonal(A_) * (x - c)

    def absolute(A_, b, x, alpha, beta, c):  # |x − c| instead of x − c (what a sign slip would give for x < c)
        return x @ A_ + b + gamma(alpha, beta) * torch.diagonal(A_) * (x - c).abs()

    assert closed_form_margin(instance, flipped) > 0
    assert closed_form_margin(instance, absolute) > 0


def test_gamma_zero_gives_the_plain_gradient():
    alpha = 0.4
    beta = (1 - alpha) / (2 - alpha)
    x = torch.tensor([0.2, -1.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(quadratic_direction(A, B, x, alpha, beta, 5.0), A @ x + B)


def test_batched_x_and_per_coordinate_parameters():
    x = torch.randn(4, 3, dtype=torch.float64)
    alpha = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64)
    beta = torch.tensor([0.0, 1.0, -1.0], dtype=torch.float64)
    c = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64)
    batched = quadratic_direction(A, B, x, alpha, beta, c)
    for i in range(4):
        torch.testing.assert_close(batched[i], quadratic_direction(A, B, x[i], alpha, beta, c))


def test_float32_inputs_stay_float32_and_agree_with_float64(device):
    x = torch.tensor([0.5, -2.0, 1.0], dtype=torch.float64)
    reference = quadratic_direction(A, B, x, 0.3, 0.2, 0.0)
    single = quadratic_direction(A.float().to(device), B.float().to(device), x.float().to(device), 0.3, 0.2, 0.0)
    assert single.dtype == torch.float32 and single.device.type == torch.device(device).type
    torch.testing.assert_close(single.double().cpu(), reference, rtol=1e-6, atol=1e-6)


def test_na_cfgd_converges_to_the_tikhonov_point_not_the_minimiser():
    run = na_cfgd(A, B, torch.zeros(3, dtype=torch.float64), 0.6, 0.3, 1.0, 0.3, 2000)
    star = tikhonov_point(A, B, 0.6, 0.3, torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(run.final, star)
    assert (star + torch.linalg.solve(A, B)).norm() > 1e-2
    assert not bool(run.diverged)


def test_na_cfgd_divergence_is_recorded_not_raised():
    eta_c = float(stability_threshold(A, 0.6, 0.3))
    run = na_cfgd(A, B, torch.ones(2, 3, dtype=torch.float64), 0.6, 0.3, 1.0, 1.1 * eta_c, 2000)
    assert bool(run.diverged.all()) and bool(torch.isfinite(run.trajectory).all())
    stop = int(run.diverged_at[0])
    torch.testing.assert_close(run.trajectory[stop - 1:, 0], run.trajectory[stop - 1, 0].expand(2002 - stop, 3))


def test_stability_threshold_is_zero_when_a_plus_g_is_indefinite():
    assert float(stability_threshold(A, 0.5, -10.0)) == 0.0
    assert float(stability_threshold(A, 0.5, 0.0)) > 0.0


def test_per_instance_step_sizes_and_batched_matrices():
    As = torch.stack([A, 2 * A])
    lr = torch.tensor([0.1, 0.05], dtype=torch.float64)
    run = na_cfgd(As, B, torch.zeros(2, 3, dtype=torch.float64), 0.5, 0.1, 0.0, lr, 50, keep_trajectory=False)
    assert run.trajectory.shape == (2, 2, 3)
    for i in range(2):
        single = na_cfgd(As[i], B, torch.zeros(3, dtype=torch.float64), 0.5, 0.1, 0.0, float(lr[i]), 50)
        torch.testing.assert_close(run.final[i], single.final)


@given(lr_fraction=st.floats(0.01, 1.0), alpha=st.floats(0.05, 0.95), beta=st.floats(-1, 1))
@settings(deadline=None, max_examples=25)
def test_at_cfgd_with_lag_one_is_heavy_ball_momentum(lr_fraction, alpha, beta):
    instance = dict(A=A.numpy(), b=B.numpy(), x0=np.array([1.0, -2.0, 0.5]), alpha=np.full(3, alpha),
                    beta=np.full(3, beta), lr_fraction=lr_fraction)
    assert heavy_ball_margin(instance) <= 0


def test_heavy_ball_check_rejects_a_terminal_lagging_two_steps():
    instance = dict(A=A.numpy(), b=B.numpy(), x0=np.array([1.0, -2.0, 0.5]), alpha=np.full(3, 0.3),
                    beta=np.full(3, -0.5), lr_fraction=0.5)
    lag_two = lambda *args, **kwargs: at_cfgd(*args, lag=2, **kwargs)  # noqa: E731
    assert heavy_ball_margin(instance, lag_two) > 0


def test_at_cfgd_with_constant_terminal_in_the_limit_is_gradient_descent_when_gamma_is_zero():
    alpha = 0.3
    run = at_cfgd(A, B, torch.zeros(3, dtype=torch.float64), alpha, (1 - alpha) / (2 - alpha), 0.2, 500)
    torch.testing.assert_close(run.final, -torch.linalg.solve(A, B))


@pytest.mark.parametrize("kwargs, error, word", [
    (dict(alpha=1.0), ValueError, "alpha"), (dict(alpha=float("nan")), ValueError, "alpha"),
    (dict(beta=float("inf")), ValueError, "beta"), (dict(c=torch.zeros(4)), ValueError, "c"),
    (dict(x=torch.zeros(2)), ValueError, "x"), (dict(A=torch.tensor([[1.0, 2.0], [0.0, 1.0]])), ValueError, "A"),
    (dict(A=torch.ones(3)), ValueError, "A"), (dict(b=torch.zeros(2)), ValueError, "b"),
])
def test_quadratic_direction_rejects_bad_input(kwargs, error, word):
    args = dict(A=A, b=B, x=torch.zeros(3), alpha=0.5, beta=0.0, c=0.0) | kwargs
    with pytest.raises(error, match=word):
        quadratic_direction(**args)


@pytest.mark.parametrize("kwargs, error, word", [
    (dict(lr=0.0), ValueError, "lr"), (dict(lr=-1.0), ValueError, "lr"), (dict(steps=0), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"), (dict(x0=torch.full((3,), float("nan"))), ValueError, "x0"),
    (dict(lr=torch.tensor([0.1, -0.1])), ValueError, "lr"),
])
def test_runs_reject_bad_input(kwargs, error, word):
    args = dict(A=A, b=B, x0=torch.zeros(3), alpha=0.5, beta=0.0, c=0.0, lr=0.1, steps=10) | kwargs
    with pytest.raises(error, match=word):
        na_cfgd(**args)
    args.pop("c")
    with pytest.raises(error, match=word):
        at_cfgd(**args)
    with pytest.raises(ValueError, match="lag"):
        at_cfgd(A, B, torch.zeros(3), 0.5, 0.0, 0.1, 10, lag=0)
