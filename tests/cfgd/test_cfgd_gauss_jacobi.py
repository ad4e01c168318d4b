"""Gauss–Jacobi rule for the weight (1 − u)^(−α): accuracy, exactness, batching, dtype/device, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from implementations.cfgd.gauss_jacobi import gauss_jacobi


@given(s=st.integers(1, 20), alpha=st.floats(0.01, 0.99))
@settings(deadline=None)
@example(s=1, alpha=0.5)
@example(s=16, alpha=0.99)
def test_gauss_jacobi_matches_scipy_roots_jacobi(s, alpha):
    nodes, weights = gauss_jacobi(s, alpha)
    ref_nodes, ref_weights = scipy.special.roots_jacobi(s, -alpha, 0.0)
    # nodes: both backward stable, |Δu| ≤ a few s·eps; weights: ≤ eps·μ₀/w_i-type loss near α → 1 (measured ≲ 1e-12)
    np.testing.assert_allclose(nodes.numpy(), ref_nodes, rtol=0, atol=8 * s * 2.2e-16)
    np.testing.assert_allclose(weights.numpy(), ref_weights, rtol=2e-11)


@given(s=st.integers(1, 12), alpha=st.floats(0.02, 0.98))
@settings(deadline=None)
def test_gauss_jacobi_rule_is_exact_for_degree_up_to_2s_minus_1(s, alpha):
    nodes, weights = gauss_jacobi(s, alpha)
    for m in range(2 * s):
        exact = 2 ** (m + 1 - alpha) / (m + 1 - alpha)  # ∫ (1−u)^(m−α) du over [−1, 1]
        assert float(torch.sum(weights * (1 - nodes) ** m)) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("s", [1, 2, 5])
def test_gauss_jacobi_rule_is_not_exact_for_degree_2s(s):
    nodes, weights = gauss_jacobi(s, 0.4)
    exact = 2 ** (2 * s + 1 - 0.4) / (2 * s + 1 - 0.4)
    assert abs(float(torch.sum(weights * (1 - nodes) ** (2 * s))) - exact) > 1e-6 * exact


def test_single_node_rule_is_the_closed_form():
    alpha = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    nodes, weights = gauss_jacobi(1, alpha)
    torch.testing.assert_close(nodes[..., 0], alpha / (2 - alpha), rtol=0, atol=0)
    torch.testing.assert_close(weights[..., 0] * (1 - alpha) / 2 ** (1 - alpha), torch.ones(3, dtype=torch.float64))


def test_batched_alpha_gives_one_rule_per_entry():
    alpha = torch.tensor([[0.2, 0.7], [0.5, 0.95]], dtype=torch.float64)
    nodes, weights = gauss_jacobi(4, alpha)
    assert nodes.shape == weights.shape == (2, 2, 4)
    for i in range(2):
        for j in range(2):
            single_nodes, single_weights = gauss_jacobi(4, float(alpha[i, j]))
            torch.testing.assert_close(nodes[i, j], single_nodes)
            torch.testing.assert_close(weights[i, j], single_weights)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gauss_jacobi_keeps_dtype_and_device_of_alpha(dtype, device):
    alpha = torch.tensor([0.3, 0.6], dtype=dtype, device=device)
    nodes, weights = gauss_jacobi(3, alpha)
    assert nodes.dtype == weights.dtype == dtype
    assert nodes.device == weights.device == alpha.device
    reference, _ = gauss_jacobi(3, alpha.double().cpu())
    torch.testing.assert_close(nodes.double().cpu(), reference, rtol=0, atol=10 * torch.finfo(dtype).eps)


def test_float_alpha_gives_float64():
    nodes, weights = gauss_jacobi(3, 0.5)
    assert nodes.dtype == torch.float64 and nodes.shape == (3,)


def test_gauss_jacobi_is_differentiable_in_alpha():
    alpha = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: gauss_jacobi(3, a), (alpha,))
    assert torch.autograd.gradcheck(lambda a: gauss_jacobi(1, a), (alpha,))


@pytest.mark.parametrize("s, error", [(0, ValueError), (-2, ValueError), (2.0, TypeError), (True, TypeError)])
def test_bad_node_count_is_rejected(s, error):
    with pytest.raises(error, match="s"):
        gauss_jacobi(s, 0.5)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, float("nan"), torch.tensor([0.5, 1.0])])
def test_alpha_outside_open_unit_interval_is_rejected(alpha):
    with pytest.raises(ValueError, match="alpha"):
        gauss_jacobi(3, alpha)


def test_exactness_check_rejects_weights_off_by_one_part_in_a_billion():
    from verify.margins.cfgd import exactness_margin

    instance = dict(s=3, alpha=0.4, coefficients=np.array([1.0, -0.5, 0.25, 0.1, -0.3, 0.7]))
    assert exactness_margin(instance) <= 0

    def perturbed(s, alpha):
        nodes, weights = gauss_jacobi(s, alpha)
        return nodes, weights * (1 + 1e-9)

    assert exactness_margin(instance, rule=perturbed) > 0


def test_linear_exact_check_rejects_a_direction_without_the_2_to_the_1_minus_alpha_factor():
    from verify.margins.cfgd import linear_exact_margin, quadrature_direction_affine

    instance = dict(s=2, gradient=np.array([1.0, -2.0]), x=np.array([0.5, -1.0]), c=np.array([1.0, 1.0]),
                    alpha=np.array([0.3, 0.7]), beta=np.array([0.5, -0.5]))
    assert linear_exact_margin(instance) <= 0

    def wrong_constant(gradient, x, c, alpha, beta, s):
        return quadrature_direction_affine(gradient, x, c, alpha, beta, s) * torch.pow(2.0, torch.as_tensor(1 - alpha))

    assert linear_exact_margin(instance, wrong_constant) > 0


def test_orders_too_close_to_one_for_the_golub_welsch_weights_are_rejected():
    # at α = 1 − 2⁻⁵³ the Jacobi matrix divided by 2 − α − 1 = 0 and returned NaN nodes
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1 − 1.49e-08\].*0.9999999999999999"):
        gauss_jacobi(2, 0.9999999999999999)
    with pytest.raises(ValueError, match="alpha must lie in"):
        gauss_jacobi(3, torch.tensor([0.5, 1 - 1e-5], dtype=torch.float32))  # float32: 1 − √eps ≈ 1 − 3.45e-4
    nodes, weights = gauss_jacobi(4, 1 - torch.finfo(torch.float64).eps ** 0.5)
    assert bool(torch.isfinite(nodes).all() and torch.isfinite(weights).all())
    single_nodes, single_weights = gauss_jacobi(1, 0.9999999999999999)  # the closed form holds on all of (0, 1)
    assert bool(torch.isfinite(single_nodes).all() and torch.isfinite(single_weights).all())


def test_node_count_is_capped():
    with pytest.raises(ValueError, match=r"s must lie in \[1, 1000\]"):
        gauss_jacobi(1001, 0.5)
