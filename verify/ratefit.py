"""Convergence-rate fits with confidence intervals (THEORY.md §4).

Linear rate: least squares of log e_k = log C + k log ρ over a window; ρ = exp(slope) with a Student-t
confidence interval on the slope. Regime: the successive log-ratios log(e_{k+1}/e_k) are regressed on k:
a significantly decreasing trend that drives the ratios toward 0 is *superlinear*, a significantly
increasing trend with the last ratio near 1 is *sublinear*, otherwise the sequence is *linear* with rate ρ.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class RateFit:
    """rho: fitted contraction factor per step; rho_low/rho_high: its confidence interval.

    regime: 'linear', 'superlinear' or 'sublinear'; ratio_trend: slope of log(e_{k+1}/e_k) in k with its
    interval; last_ratio: e_K/e_{K−1} at the end of the window; n: points used; confidence: CI level.
    """

    rho: float
    rho_low: float
    rho_high: float
    log_c: float
    regime: str
    ratio_trend: float
    ratio_trend_low: float
    ratio_trend_high: float
    last_ratio: float
    n: int
    confidence: float

    def as_dict(self) -> dict:
        return asdict(self)


def _slope_with_ci(x: np.ndarray, y: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    result = stats.linregress(x, y)
    dof = len(x) - 2
    half = stats.t.ppf(0.5 + confidence / 2, dof) * result.stderr if dof > 0 else float("inf")
    return result.slope, result.slope - half, result.slope + half, result.intercept


def fit_rate(errors, start: int = 0, stop: int | None = None, confidence: float = 0.95,
             floor: float = 0.0, near_one: float = 0.9) -> RateFit:
    """Fit the convergence rate of a positive error sequence e_k over ``errors[start:stop]``.

    Points at or below ``floor`` (e.g. round-off level) and everything after the first such point are
    dropped, since log-errors there measure noise. ``near_one``: the last ratio above which an increasing
    ratio trend counts as sublinear. Raises ValueError with fewer than 4 usable points or non-finite input.
    """
    e = np.asarray(errors, dtype=float)[start:stop]
    if e.ndim != 1:
        raise ValueError(f"errors must be a 1-D sequence, got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("errors contains non-finite values; record the run as diverged instead")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    below = np.nonzero(e <= floor)[0]
    if below.size:
        e = e[: below[0]]
    if e.size < 4:
        raise ValueError(f"need at least 4 errors above floor={floor} to fit a rate, got {e.size}")
    k = np.arange(e.size, dtype=float)
    log_e = np.log(e)
    slope, low, high, intercept = _slope_with_ci(k, log_e, confidence)
    log_ratios = np.diff(log_e)
    trend, trend_low, trend_high, _ = _slope_with_ci(k[:-1], log_ratios, confidence)
    last_ratio = float(np.exp(log_ratios[-1]))
    if trend_high < 0:
        regime = "superlinear"
    elif trend_low > 0 and last_ratio > near_one:
        regime = "sublinear"
    else:
        regime = "linear"
    return RateFit(rho=float(np.exp(slope)), rho_low=float(np.exp(low)), rho_high=float(np.exp(high)),
                   log_c=float(intercept), regime=regime, ratio_trend=float(trend),
                   ratio_trend_low=float(trend_low), ratio_trend_high=float(trend_high),
                   last_ratio=last_ratio, n=int(e.size), confidence=confidence)
