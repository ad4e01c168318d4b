"""The rate fit recovers known rates and regimes on synthetic sequences (THEORY.md §4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.ratefit import fit_rate


@settings(deadline=None)
@given(rho=st.floats(0.05, 0.98), c=st.floats(1e-3, 1e3), n=st.integers(8, 200))
def test_fit_rate_recovers_exact_geometric_rate(rho, c, n):
    fit = fit_rate(c * rho ** np.arange(n))
    assert fit.rho == pytest.approx(rho, rel=1e-9)
    assert fit.rho_low <= fit.rho <= fit.rho_high
    assert fit.regime == "linear"


@pytest.mark.parametrize("rho", [0.3, 0.7, 0.95])
def test_fit_rate_confidence_interval_covers_true_rate_under_multiplicative_noise(rho):
    # 95% intervals: over 200 noisy sequences the empirical coverage must be near 0.95 (binomial sd ≈ 0.015)
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(200):
        k = np.arange(60)
        seq = rho ** k * np.exp(0.1 * rng.standard_normal(60))
        fit = fit_rate(seq)
        covered += fit.rho_low <= rho <= fit.rho_high
    assert 0.90 <= covered / 200 <= 0.99


def test_fit_rate_detects_quadratic_convergence_as_superlinear():
    e = [0.5]
    for _ in range(5):
        e.append(e[-1] ** 2)
    assert fit_rate(e).regime == "superlinear"


def test_fit_rate_detects_superlinear_ratios_tending_to_zero():
    k = np.arange(1, 15)
    e = np.cumprod(1.0 / (k + 1))  # e_{k+1}/e_k = 1/(k+2) → 0
    assert fit_rate(e).regime == "superlinear"


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0])
def test_fit_rate_detects_power_law_decay_as_sublinear(power):
    k = np.arange(1, 400)
    fit = fit_rate(1.0 / k ** power, start=20)
    assert fit.regime == "sublinear"
    assert fit.last_ratio > 0.99  # successive ratios tend to 1: no linear rate


def test_fit_rate_noisy_linear_sequence_is_not_misclassified():
    rng = np.random.default_rng(3)
    k = np.arange(80)
    fit = fit_rate(0.8 ** k * np.exp(0.05 * rng.standard_normal(80)))
    assert fit.regime == "linear"


def test_fit_rate_stops_at_floor():
    e = np.r_[0.5 ** np.arange(30), np.zeros(5), 1e-3]
    fit = fit_rate(e, floor=0.0)
    assert fit.n == 30 and fit.rho == pytest.approx(0.5)


@pytest.mark.parametrize("bad, message", [([1.0, np.nan, 0.5, 0.2, 0.1], "non-finite"),
                                          ([1.0, 0.5], "at least 4"),
                                          ([[1.0, 0.5]], "1-D")])
def test_fit_rate_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        fit_rate(bad)
