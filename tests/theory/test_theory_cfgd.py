"""theory.cfgd: the sympy identities reduce to 0, and break when a factor is dropped; mpmath oracles agree."""

from __future__ import annotations

import mpmath as mp
import pytest
import sympy as sp

from theory import cfgd as theory


@pytest.mark.parametrize("k", [1, 2, 3])
def test_power_rule_residual_is_zero_for_symbolic_alpha(k):
    assert theory.power_rule_residual(k) == 0


@pytest.mark.parametrize("side", [1, -1])
def test_identity_normaliser_and_quadratic_closed_form_residuals_are_zero_on_both_sides(side):
    assert theory.identity_normaliser_residuals(side) == (0, 0)
    assert theory.quadratic_closed_form_residual(side) == 0
    assert theory.change_of_variables_residual(side) == 0
    assert theory.constant_rule_residual(side) == 0


def test_single_node_rule_identities_hold():
    assert all(value == 0 for value in theory.single_node_residuals().values())
    assert theory.c_alpha_residual() == 0


def test_change_of_variables_residual_is_nonzero_with_a_wrong_constant(monkeypatch):
    monkeypatch.setattr(theory, "c_alpha", lambda alpha: sp.gamma(2 - alpha) / sp.gamma(1 - alpha))  # 2^(1−α) dropped
    assert theory.change_of_variables_residual(1) != 0


def test_normaliser_without_the_sign_breaks_the_left_side_only(monkeypatch):
    monkeypatch.setattr(theory, "identity_normaliser",
                        lambda x, c, alpha: sp.Abs(x - c) ** (1 - alpha) / sp.gamma(2 - alpha))
    assert theory.quadratic_closed_form_residual(1) == 0
    assert theory.quadratic_closed_form_residual(-1) != 0


def test_caputo_oracle_matches_the_incomplete_gamma_closed_form_for_exp():
    with mp.workdps(40):
        for alpha in ("0.2", "0.8", "0.95"):
            value = theory.caputo_mp(lambda s: 2 * mp.exp(2 * s), "1.3", "0.2", mp.mpf(alpha))
            exact = theory.exp_caputo_closed_form(2, "1.3", "0.2", mp.mpf(alpha))
            assert abs(value / exact - 1) < mp.mpf(10) ** -32


def test_caputo_oracle_keeps_relative_accuracy_at_tiny_distances():
    with mp.workdps(30):
        x, c, alpha = mp.mpf(0), mp.mpf("6e-268"), mp.mpf("0.5")
        value = theory.scaled_caputo_mp(lambda s: s - x, lambda s: mp.mpf(1), x, c, alpha, 0)
        assert abs(value / (-(1 - alpha) / (2 - alpha) * (x - c)) - 1) < mp.mpf(10) ** -25


def test_definition_and_quadrature_form_agree_on_both_sides_of_c():
    first = lambda s: mp.cos(s) * 3  # noqa: E731
    second = lambda s: -3 * mp.sin(s)  # noqa: E731
    with mp.workdps(40):
        for x, c in (("1.3", "0.2"), ("-0.7", "0.9")):
            a = theory.scaled_caputo_mp(first, second, x, c, mp.mpf("0.7"), mp.mpf("0.4"))
            b = theory.quadrature_form_mp(first, second, x, c, mp.mpf("0.7"), mp.mpf("0.4"), nodes=16)
            assert abs(a - b) < mp.mpf(10) ** -30 * abs(a)


@pytest.mark.parametrize("s", [1, 3, 8])
def test_mpmath_gauss_jacobi_integrates_degree_2s_minus_1_exactly_and_misses_2s_by_the_remainder(s):
    with mp.workdps(40):
        alpha = mp.mpf("0.3")
        nodes, weights = theory.gauss_jacobi_mp(s, alpha)
        for m in (2 * s - 1, 2 * s):
            rule = mp.fsum(w * (1 - u) ** m for u, w in zip(nodes, weights))
            exact = mp.power(2, m + 1 - alpha) / (m + 1 - alpha)
            expected_gap = 0 if m < 2 * s else theory.jacobi_remainder_mp(s, alpha)
            assert abs(exact - rule - expected_gap) < mp.mpf(10) ** -30 * exact
