"""Oracle step-size schedules (implementations.mathl2o.oracle) and the certified T = 1 constants
(implementations.mathl2o.certified): against plain re-computations, brute force and the sampled estimates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from implementations.mathl2o import QP, MathL2O, jacobian, unroll
from implementations.mathl2o.certified import certified_constants_t1, one_step_pieces
from implementations.mathl2o.constants import ntk_constants, shifted
from implementations.mathl2o.oracle import optimal_schedule, oracle_gains, schedule_values
from theory import mathl2o as th


def test_a_uniform_schedule_is_gradient_descent_with_that_step():
    qp = QP.random(3, 5, 4, seed=1)
    ones = torch.ones(6, 1, 1, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(schedule_values(qp, ones), unroll(None, qp, 6), rtol=1e-13, atol=0)
        torch.testing.assert_close(schedule_values(qp, 1.5 * ones), unroll(None, qp, 6, step_scale=0.9999 * 1.5),
                                   rtol=1e-13, atol=0)


def test_the_constant_family_finds_the_brute_force_best_constant_step():
    qp = QP.random(4, 8, 6, seed=2)
    grid = torch.linspace(0.01, 1.99, 397, dtype=torch.float64)
    with torch.no_grad():
        brute = min(float(schedule_values(qp, c.view(1, 1, 1).expand(10, 1, 1))[-1]) for c in grid)
    found = optimal_schedule(qp, 10, "constant", iters=50)
    assert found["loss"] <= brute * (1 + 1e-9)  # a continuous optimum is at least as good as a 0.005-grid point
    assert found["gain"] == pytest.approx((found["gd_loss"] - found["loss"]) / found["gd_loss"])


def test_the_families_are_nested_so_their_gains_do_not_decrease():
    qp = QP.random(3, 6, 5, seed=3)
    gains = oracle_gains(qp, 8, iters=40, random_starts=1)
    assert 0 <= gains["constant"]["gain"] <= gains["step"]["gain"] <= gains["coordinate"]["gain"] <= 1
    assert gains["coordinate"]["P"].shape == (8, 3, 6) and gains["step"]["P"].shape == (8, 1, 1)
    assert set(gains["step"]["starts"]) == {"constant best", "ramp", "random 0"}


def test_one_coordinate_with_its_own_step_solves_a_one_dimensional_instance_in_one_step():
    qp = QP.random(1, 1, 1, seed=4)  # f = ½(m x − y)², |m| = 1: P = 1/0.9999 ∈ (0, 2) solves it exactly
    found = optimal_schedule(qp, 1, "coordinate", iters=50)
    assert found["gain"] > 0.9999 and float(found["P"]) == pytest.approx(1 / 0.9999, rel=1e-6)


def test_schedule_inputs_are_checked():
    qp = QP.random(2, 3, 2, seed=0)
    with pytest.raises(ValueError, match="P must have shape"):
        schedule_values(qp, torch.ones(2, 3, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="P must be"):
        schedule_values(qp, [[1.0]])
    with pytest.raises(ValueError, match="start must be a 3-d tensor"):
        optimal_schedule(qp, 2, "step", start=torch.full((2, 1, 1), 2.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="family"):
        optimal_schedule(qp, 2, "per-instance")


# ---- certified constants -------------------------------------------------------------------------------

def _certified_case(shape, e, seed):
    qp = QP.random(*shape, seed=seed)
    return qp, MathL2O(16, e, 2, seed=seed)


def test_the_one_step_pieces_give_the_last_layer_jacobian_and_the_gd_residual():
    qp, model = _certified_case((2, 3, 2), 10.0, 5)
    pieces = one_step_pieces(model, qp)
    torch.testing.assert_close(0.5 * pieces["D"] @ pieces["A0"], jacobian(model, qp, 1, "last"), rtol=1e-12, atol=1e-14)
    with torch.no_grad():
        X1 = qp.zeros() - (0.9999 / qp.beta).unsqueeze(-1) * qp.gradient(qp.zeros())
    torch.testing.assert_close(pieces["r0"], qp.residual(X1).reshape(-1), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="depth-2"):
        one_step_pieces(MathL2O(16, 10.0, 3), qp)
    with pytest.raises(ValueError, match="W₂"):
        one_step_pieces(MathL2O(16, 10.0, 2, init="random_last"), qp)


@pytest.mark.parametrize("shape, e, seed", [((1, 1, 1), 100.0, 0), ((1, 2, 1), 100.0, 1), ((2, 2, 1), 100.0, 2),
                                            ((1, 2, 2), 1e4, 0)])
def test_the_certified_bounds_dominate_the_jacobian_at_random_points_of_the_ball(shape, e, seed):
    """Γ̄ ≥ ‖J(θ)‖ and Λ̄ ≥ ‖J(θ) − J(θ₀)‖/‖θ − θ₀‖ at points θ of B(θ₀, R) (random directions, random radii and
    the sampled estimates of constants.ntk_constants, which are lower estimates of the same suprema)."""
    qp, model = _certified_case(shape, e, seed)
    c = certified_constants_t1(model, qp)
    assert c.certified and math.isfinite(c.radius)
    J0 = jacobian(model, qp, 1)
    gen = torch.Generator().manual_seed(seed)
    n_params = sum(p.numel() for p in model.parameters())
    for _ in range(12):
        u = torch.randn(n_params, generator=gen, dtype=torch.float64)
        u = u / u.norm() * c.radius * float(torch.rand(1, generator=gen, dtype=torch.float64))
        J = jacobian(shifted(model, u), qp, 1)
        assert float(torch.linalg.matrix_norm(J, ord=2)) <= c.gamma * (1 + 1e-12)
        assert float(torch.linalg.matrix_norm(J - J0, ord=2)) / float(u.norm()) <= c.lipschitz * (1 + 1e-9)
    sampled = ntk_constants(model, qp, 1, directions=2, rounds=1, seed=seed)
    assert sampled.gamma <= c.gamma * (1 + 1e-12) and sampled.lipschitz <= c.lipschitz * (1 + 1e-9)
    assert sampled.mu0 == pytest.approx(c.mu0, rel=1e-9)


def test_eq13_is_certified_on_a_rank_one_instance_and_the_t1_necessary_condition_holds_there():
    qp, model = _certified_case((1, 2, 1), 100.0, 1)
    c = certified_constants_t1(model, qp)
    assert c.certified and c.margin >= 0 and c.lr_bound > 0
    assert c.relative_loss0 == pytest.approx(1e-8, rel=1e-6)  # b = 1: one GD step of 0.9999/β leaves (1e-4)²
    assert c.relative_loss0 <= th.eq13_t1_relative_loss_limit()


def test_on_an_instance_one_gd_step_does_not_nearly_solve_the_certified_margin_is_negative():
    """(1, 2, 2) at seed 0: 𝓕₀/(½‖Y‖²) ≈ 0.23 lies above the T = 1 necessary limit ≈ 0.032 (derivation §7), so
    Eq. 13 cannot hold; the certified (upper-bound) margin agrees, and so does the sampled (lower-bound) one."""
    qp, model = _certified_case((1, 2, 2), 1e4, 0)
    c = certified_constants_t1(model, qp)
    assert c.relative_loss0 > th.eq13_t1_relative_loss_limit() and c.margin < 0
    sampled = ntk_constants(model, qp, 1, directions=2, rounds=1, seed=0)
    assert th.eq13_margin(sampled.mu0, sampled.gamma, sampled.lipschitz, sampled.loss0) < 0


def test_the_necessary_condition_constant_matches_its_definition():
    x = th.UNIFORM_SHIFT_LIMIT
    assert 1 / np.cosh(x / 2) ** 2 == pytest.approx(1 / math.sqrt(2), rel=1e-14)
    q = th.eq13_t1_necessary_ratio()
    assert q == pytest.approx(x / 8) and th.eq13_t1_relative_loss_limit() == pytest.approx((q / (1 - q)) ** 2)
