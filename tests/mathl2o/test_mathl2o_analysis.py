"""α₀, Jacobians, the empirical NTK and the constants adapter of the reconstructed analysis."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from implementations.mathl2o import QP, MathL2O, alpha0, empirical_ntk, jacobian, step_features, unroll
from implementations.mathl2o.constants import last_layer_terms, ntk_constants, ray_maximum, sample_distances


def test_alpha0_is_zero_when_there_are_more_coordinates_than_features():
    qp = QP.random(2, 8, 4, seed=1)
    assert alpha0(MathL2O(8, e=3.0, depth=2), qp, 4) == 0.0  # N·d = 16 > H = 8


def test_step_one_feature_rows_are_on_two_rays_so_alpha0_of_step_one_vanishes():
    qp = QP.random(2, 4, 3, seed=3)
    G1 = step_features(MathL2O(64, e=1.0, depth=2), qp, 3, step=1)
    assert int(torch.linalg.matrix_rank(G1)) <= 2


def test_last_layer_jacobian_at_init_equals_the_sum_of_k_t_g_t():
    qp = QP.random(2, 4, 3, seed=1)
    model = MathL2O(16, e=3.0, depth=3, seed=1)
    JL = jacobian(model, qp, 4, "last")
    total = sum(K @ step_features(model, qp, 4, step=t) for t, K in enumerate(last_layer_terms(model, qp, 4), 1))
    torch.testing.assert_close(total, JL, rtol=1e-10, atol=1e-14 * float(JL.abs().max()))


def test_gradient_equals_jacobian_transpose_residual_and_ntk_is_j_jt():
    qp = QP.random(2, 4, 3, seed=2)
    model = MathL2O(8, e=2.0, init="random_last", seed=4)
    loss = unroll(model, qp, 3)[-1]
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(model.parameters()))])
    with torch.no_grad():
        from implementations.mathl2o import rollout
        r = qp.residual(rollout(model, qp, 3).X).reshape(-1)
    J = jacobian(model, qp, 3)
    torch.testing.assert_close(grad, J.T @ r)
    torch.testing.assert_close(empirical_ntk(model, qp, 3), J @ J.T)


def test_constants_are_finite_and_ordered():
    qp = QP.random(2, 4, 3, seed=1)
    c = ntk_constants(MathL2O(16, e=10.0, depth=2, seed=1), qp, 3, directions=1, rounds=1)
    assert c.gamma >= c.gamma0 > 0 and c.mu0 >= 0 and c.lipschitz >= 0 and c.loss0 > 0
    d = sample_distances(10.0, 1.0, count=4)
    assert d[0] == 1e-3 and abs(d[-1] - 10.0) < 1e-12 and sample_distances(float("inf"), 1.0) == []


def test_constants_are_sampled_on_a_finite_ball_when_mu0_vanishes_and_the_radius_is_infinite():
    """The full budget at seed 1 hit μ₀ = 0 (depth 3): Γ and Λ were then left at Γ₀ and 0, and the lemma
    chain reported every step that moved J as a violation of ‖J(θ) − J(θ₀)‖ ≤ Λ‖θ − θ₀‖."""
    from implementations.mathl2o.constants import SAMPLING_REACH

    qp = QP.random(2, 4, 3, seed=10_008)
    c = ntk_constants(MathL2O(16, e=10.0, depth=3, seed=10_008), qp, 3)
    assert math.isfinite(c.sampled_radius) and c.lipschitz > 0 and c.gamma >= c.gamma0
    if c.mu0 == 0:
        assert c.radius == math.inf
        assert c.sampled_radius == SAMPLING_REACH * math.sqrt(2 * c.loss0) / c.gamma0
    else:
        assert c.sampled_radius == c.radius


@settings(max_examples=50, deadline=None)
@given(peak=st.floats(1.5, 150.0), width=st.floats(0.05, 2.0))
def test_ray_maximum_finds_a_peak_between_grid_points_and_never_falls_below_the_grid(peak, width):
    grid = [1.0, 10.0, 100.0, 1000.0]

    def bump(s):
        return math.exp(-((math.log(s) - math.log(peak)) / width) ** 2)

    found = ray_maximum(bump, grid)
    assert found >= max(map(bump, grid))
    # golden section shrinks the bracket (two grid steps, log 100 wide) by 1/φ per evaluation after the first
    reach = math.log(100.0) * ((math.sqrt(5) - 1) / 2) ** 11
    assert found >= math.exp(-(reach / width) ** 2) * (1 - 1e-12)


def test_ray_maximum_with_one_distance_is_that_value():
    assert ray_maximum(lambda s: 3 * s, [2.0]) == 6.0


def test_lipschitz_estimate_covers_the_first_sgd_step_of_the_seed_2_lemma_chain_instance():
    """mathl2o.lemma.chain at the full budget, seed 2 (instance seed 1 + 2·10007), depth 3: ‖J(θ₁) − J(θ₀)‖
    exceeded Λ̂‖θ₁ − θ₀‖ by 0.4% when Λ̂ was read at grid distances only; θ₁ lies on the sampled −∇𝓕 ray."""
    from implementations.mathl2o.constants import flat_parameters, shifted
    from implementations.mathl2o.unroll import rollout
    from theory.mathl2o import eq14_lr_bound

    seed = 1 + 2 * 10_007
    qp, model = QP.random(2, 4, 3, seed=seed), MathL2O(16, e=10.0, depth=3, seed=seed)
    c = ntk_constants(model, qp, 3, seed=seed)
    loss = rollout(model, qp, 3).values[-1]
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(model.parameters()))])
    step = -eq14_lr_bound(c.gamma, c.lipschitz, c.loss0) * grad
    moved = shifted(model, step)
    shift = torch.linalg.matrix_norm(jacobian(moved, qp, 3) - jacobian(model, qp, 3), ord=2)
    assert float((flat_parameters(moved) - flat_parameters(model)).norm()) <= c.sampled_radius
    assert float(shift) <= c.lipschitz * float(step.norm())


@pytest.mark.parametrize("T, error", [(0, ValueError), (-1, ValueError), (True, TypeError), (1.5, TypeError)])
def test_analysis_rejects_a_bad_horizon_instead_of_returning_a_zero_kernel(T, error):
    model, qp = MathL2O(4), QP.random(1, 3, 2)
    for analysis in (empirical_ntk, alpha0, jacobian):
        with pytest.raises(error, match="T must"):
            analysis(model, qp, T)


@pytest.mark.parametrize("step_scale", [0.0, math.nan, -1.0, math.inf])
def test_analysis_rejects_a_bad_step_scale(step_scale):
    with pytest.raises(ValueError, match="step_scale"):
        empirical_ntk(MathL2O(4), QP.random(1, 3, 2), 2, step_scale=step_scale)


def test_analysis_of_a_diverged_run_raises_instead_of_returning_non_finite_numbers():
    model, qp = MathL2O(4), QP.random(1, 3, 2)
    for analysis in (empirical_ntk, alpha0):
        with pytest.raises(ValueError, match=r"diverges .*step_scale=1e\+300"):
            analysis(model, qp, 3, step_scale=1e300)
    with pytest.raises(TypeError, match="model must be a MathL2O"):
        alpha0(None, qp, 3)
