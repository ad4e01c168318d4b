"""theory.mathl2o: sympy checks of the reconstructed proof's algebra and the plain-number bounds."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import mathl2o as th


def test_every_algebraic_step_of_the_chain_simplifies_to_zero_or_a_nonnegative_derivative():
    steps = th.derive_chain()
    for name in ("expansion", "descent_at_bound", "radius_at_zero", "mu_scaling"):
        assert sp.simplify(steps[name]) == 0, name
    x = sp.Symbol("x", real=True)
    assert all(float(steps["radius_derivative"].subs(x, v)) >= 0 for v in (0, 0.3, 0.99))


def test_gd_quadratic_worst_ratio_matches_sympy_and_tends_to_one_over_2e():
    derived = th.derive_gd_quadratic_worst_ratio()
    T = sp.Symbol("T", positive=True)
    assert sp.simplify(derived["stationary"] - 1 / (2 * T + 1)) == 0
    for t in (1, 5, 50):
        assert math.isclose(float(derived["worst_ratio"].subs(T, t)), th.gd_quadratic_worst_ratio(t), rel_tol=1e-12)
    assert th.gd_quadratic_worst_ratio(10_000) == pytest.approx(1 / (2 * math.e), rel=1e-3)


@settings(deadline=None, max_examples=50)
@given(gamma=st.floats(1e-3, 1e3), lip=st.floats(1e-6, 1e3), loss=st.floats(1e-6, 1e3))
def test_eq13_margin_is_non_negative_exactly_above_the_required_mu0(gamma, lip, loss):
    required = th.eq13_required_mu0(gamma, lip, loss)
    assert th.eq13_margin(required * 1.01, gamma, lip, loss) >= 0
    assert th.eq13_margin(required * 0.99, gamma, lip, loss) < 0


def test_eq14_rate_and_alpha_forms():
    assert th.eq14_lr_bound(2.0, 3.0, 0.5) == pytest.approx(1 / (4 + 3))
    assert th.thm43_rate(0.1, 2.0) == pytest.approx(0.9)
    assert th.eq13_alpha0_required(4.0, 0.5, 1.0) == pytest.approx(6.0)
    assert th.eq13_alpha0_required(4.0, 0.0, 1.0) == math.inf
    assert th.eq13_margin(0.0, 1.0, 1.0, 1.0) == -math.inf
    assert th.gd_sublinear_bound(2.0, 3.0, 4, 0.5) == pytest.approx(2 * 3 / (2 * 0.5 * 4))


def test_lemma5_orders_at_the_fig5_setting():
    orders = th.lemma5_orders(20, 3)
    assert orders["lemma5.1"] == pytest.approx(math.sqrt(20)) and orders["lemma5.3"] == pytest.approx(400)
    assert orders["lemma5.2"] == pytest.approx(20 ** (66 / 34))
    assert math.isnan(th.lemma5_orders(3, 3)["lemma5.2"])


@pytest.mark.parametrize("call", [
    lambda: th.gd_sublinear_bound(-1.0, 1.0, 3), lambda: th.gd_sublinear_bound(1.0, 1.0, 0),
    lambda: th.gd_sublinear_bound(1.0, 1.0, 3, 1.5), lambda: th.ball_radius(1.0, 1.0, 0.0),
    lambda: th.thm43_rate(0.0, 1.0), lambda: th.lemma5_orders(3, 1), lambda: th.gd_quadratic_worst_ratio(0),
    lambda: th.eq13_margin(math.nan, 1.0, 1.0, 1.0),
])
def test_bad_arguments_raise_value_errors(call):
    with pytest.raises(ValueError):
        call()


def test_the_sigmoid_derivative_bounds_and_the_uniform_shift_limit_match_sympy_and_an_mpmath_scan():
    derived = th.derive_sigmoid_bounds()
    assert sp.simplify(derived["d2_max"] - 1 / (6 * sp.sqrt(3))) == 0
    assert derived["d3_values"][-1] == sp.Rational(1, 8) and float(derived["d3_values"][0]) < 0.125
    assert float(derived["uniform_shift"][0]) == pytest.approx(th.UNIFORM_SHIFT_LIMIT, rel=1e-14)
    import mpmath

    mpmath.mp.dps = 30
    sigma = lambda x: 1 / (1 + mpmath.exp(-x))  # noqa: E731
    xs = [mpmath.mpf(i) / 200 for i in range(-4000, 4001)]  # |x| ≤ 20 covers every extremum
    d2 = max(abs(mpmath.diff(sigma, x, 2)) for x in xs[::4])
    d3 = max(abs(mpmath.diff(sigma, x, 3)) for x in xs[::4])
    assert float(d2) <= th.SIGMOID_D2_MAX * (1 + 1e-12) and float(d2) == pytest.approx(th.SIGMOID_D2_MAX, rel=1e-4)
    assert float(d3) == pytest.approx(th.SIGMOID_D3_MAX, rel=1e-12)
    assert float(4 * mpmath.diff(sigma, th.UNIFORM_SHIFT_LIMIT)) == pytest.approx(1 / math.sqrt(2), rel=1e-14)


def test_the_t1_necessary_limits_are_x_star_over_8_and_its_relative_loss():
    q = th.eq13_t1_necessary_ratio()
    assert q == pytest.approx(2 * math.acosh(2 ** 0.25) / 8, rel=1e-15) and 0.15 < q < 0.16
    limit = th.eq13_t1_relative_loss_limit()
    assert limit == pytest.approx((q / (1 - q)) ** 2) and limit < 0.035
