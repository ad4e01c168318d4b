"""Tests of implementations.mathl2o.momentum (heavy-ball / NAG backbone with learned step sizes)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from implementations.mathl2o import QP, MathL2O, rollout, train
from implementations.mathl2o.momentum import logistic_smoothness, momentum_rollout, qp_step, train_momentum
from implementations.problems import LogisticRegression


def _random_model(width: int, seed: int) -> MathL2O:
    return MathL2O(width, 5.0, init="random_last", seed=seed)


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 10_000), T=st.integers(1, 6), nesterov=st.booleans())
def test_momentum_zero_equals_the_plain_rollout_to_round_off(seed, T, nesterov):
    qp = QP.random(3, 5, 4, seed=seed)
    model = _random_model(15, seed)
    plain = rollout(model, qp, T)
    ours = momentum_rollout(model, qp, T, qp_step(qp), momentum=0.0, nesterov=nesterov)
    scale = float(plain.values.detach().abs().max())
    assert torch.allclose(ours.values, plain.values, rtol=0, atol=1e-13 * max(scale, 1.0))
    assert torch.allclose(ours.X, plain.X, rtol=0, atol=1e-13 * max(float(plain.X.detach().abs().max()), 1.0))


def _numpy_heavy_ball(M, Y, s, m, T, nesterov):
    """Reference GD-with-momentum (P ≡ 1) on one instance written out with plain tensors."""
    x = torch.zeros(M.shape[1], dtype=M.dtype)
    prev = x.clone()
    out = [0.5 * float(((M @ x - Y) ** 2).sum())]
    for _ in range(T):
        v = x - prev
        y = x + m * v if nesterov else x
        g = M.T @ (M @ y - Y)
        x, prev = (y - s * g + (0 if nesterov else m) * v), x
        out.append(0.5 * float(((M @ x - Y) ** 2).sum()))
    return out


@pytest.mark.parametrize("nesterov", [False, True])
def test_gd_backbone_matches_the_textbook_heavy_ball_and_nesterov_recursions(nesterov):
    qp = QP.random(1, 6, 4, seed=3)
    s = float(qp_step(qp)[0])
    values = momentum_rollout(None, qp, 8, qp_step(qp), momentum=0.6, nesterov=nesterov).values
    expected = _numpy_heavy_ball(qp.M[0], qp.Y[0], s, 0.6, 8, nesterov)
    assert torch.allclose(values, torch.tensor(expected, dtype=values.dtype), rtol=1e-12, atol=1e-14)


def test_nesterov_gd_backbone_reaches_a_lower_value_than_plain_gd_on_an_ill_conditioned_qp():
    qp = QP.random(4, 20, 16, seed=2)
    plain = float(momentum_rollout(None, qp, 60, qp_step(qp)).values[-1])
    nag = float(momentum_rollout(None, qp, 60, qp_step(qp), momentum=0.8, nesterov=True).values[-1])
    assert nag < plain


def test_train_momentum_with_momentum_zero_matches_plain_training():
    qp = QP.random(2, 4, 3, seed=1)
    a = train(MathL2O(8, 10.0, seed=1), qp, 4, 1e-3, 5)
    b = train_momentum(MathL2O(8, 10.0, seed=1), qp, 4, qp_step(qp), 1e-3, 5)
    assert all(math.isclose(x, y, rel_tol=1e-12) for x, y in zip(a.losses, b.losses))
    assert b.diverged_at is None


def test_train_momentum_records_divergence_instead_of_raising():
    qp = QP.random(2, 4, 3, seed=1)
    history = train_momentum(MathL2O(8, 100.0, seed=1), qp, 4, qp_step(qp), 1e30, 5, momentum=0.9)
    assert history.diverged_at is not None or history.final_loss >= history.losses[0]


def test_logistic_rollout_with_gd_backbone_decreases_the_objective():
    gen = torch.Generator().manual_seed(0)
    problem = LogisticRegression.random(6, 30, reg=1e-2, batch=(3,), generator=gen)
    step = 1.0 / logistic_smoothness(problem.A, problem.reg)
    values = momentum_rollout(MathL2O(18, 1.0, seed=0), problem, 10, step).values
    assert bool((values[1:] <= values[:-1] + 1e-15).all())


def test_logistic_smoothness_bounds_the_hessian_norm():
    gen = torch.Generator().manual_seed(1)
    problem = LogisticRegression.random(5, 20, reg=1e-2, batch=(2,), generator=gen)
    beta = logistic_smoothness(problem.A, problem.reg)
    for i in range(2):
        single = LogisticRegression.create(problem.A[i], problem.labels[i], problem.reg)
        x = torch.randn(5, generator=gen, dtype=torch.float64)
        hessian = torch.autograd.functional.hessian(single.value, x)
        assert float(torch.linalg.matrix_norm(hessian, ord=2)) <= float(beta[i]) * (1 + 1e-12)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5, float("nan"), True])
def test_momentum_outside_unit_interval_is_rejected(momentum):
    qp = QP.random(1, 3, 2, seed=0)
    with pytest.raises(ValueError, match="momentum"):
        momentum_rollout(None, qp, 2, qp_step(qp), momentum=momentum)


def test_bad_arguments_are_rejected():
    qp = QP.random(2, 3, 2, seed=0)
    with pytest.raises(ValueError, match="T"):
        momentum_rollout(None, qp, 0, qp_step(qp))
    with pytest.raises(ValueError, match="step"):
        momentum_rollout(None, qp, 2, -qp_step(qp))
    with pytest.raises(ValueError, match="instances"):
        momentum_rollout(None, qp, 2, qp_step(qp)[:1], x0=qp.zeros())
    with pytest.raises(TypeError, match="MathL2O"):
        momentum_rollout(object(), qp, 2, qp_step(qp))
    with pytest.raises(ValueError, match="step_scale"):
        qp_step(qp, 0.0)
    with pytest.raises(ValueError, match="lr"):
        train_momentum(MathL2O(4, 1.0), qp, 2, qp_step(qp), 0.0, 1)


def test_kept_inputs_are_the_gradient_and_extrapolated_point_the_model_saw():
    qp = QP.random(2, 4, 3, seed=5)
    model = _random_model(8, 5)
    out = momentum_rollout(model, qp, 3, qp_step(qp), momentum=0.5, nesterov=True, keep_inputs=True)
    assert len(out.inputs) == 3 and out.inputs[0].shape == (2, 4, 2)
    assert torch.equal(out.inputs[0][..., 1], qp.zeros())
    assert torch.allclose(out.inputs[0][..., 0], qp.gradient(qp.zeros()))
