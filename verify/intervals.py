"""Uncertainty over seeds for empirical claims: a median with a bootstrap 95% interval, and the verdict rule.

An empirical claim runs its experiment at several seeds (``seeds_for(ctx)``), gets one number per seed (a ratio,
a gain), and reports ``seed_interval(values)``: the median and the percentile-bootstrap interval of the median
over seeds (scipy.stats.bootstrap, 9999 resamples, seeded, so the interval is reproducible). The verdict comes
from the interval, never from one seed (``interval_verdict``): a claim "value < threshold" holds when the whole
interval lies below the threshold, is refuted when the whole interval lies above it, and is inconclusive when
the interval straddles it.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95
QUICK_SEEDS, FULL_SEEDS = 5, 3


def seeds_for(budget: str, seed: int) -> list[int]:
    """The seeds an empirical claim runs at: ``QUICK_SEEDS`` at the quick budget, ``FULL_SEEDS`` at the full
    one, starting from the run's ``seed`` (seed, seed + 1, …), so ``--seed`` still selects the instances."""
    if budget not in ("quick", "full"):
        raise ValueError(f"budget must be 'quick' or 'full', got {budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return list(range(seed, seed + (QUICK_SEEDS if budget == "quick" else FULL_SEEDS)))


def seed_interval(values: Sequence[float], confidence: float = CONFIDENCE, random_state: int = 0) -> dict:
    """{"median", "low", "high", "n", "values", "confidence"}: the median over seeds of ``values`` and its
    percentile-bootstrap ``confidence`` interval (scipy.stats.bootstrap). Non-finite values (a diverged seed)
    are kept: they count as +inf (worse than any finite value), so they move the interval instead of vanishing.
    With one value, or all values equal, the interval is that value."""
    from scipy.stats import bootstrap

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    data = np.array([float(v) if math.isfinite(float(v)) else math.inf for v in values], dtype=float)
    if data.size == 0:
        raise ValueError("values must hold at least one number")
    median = float(np.median(data))
    if data.size == 1 or np.all(data == data[0]):
        low = high = median
    elif not np.all(np.isfinite(data)):
        finite = data[np.isfinite(data)]
        low = float(finite.min()) if finite.size else math.inf
        high = math.inf  # a diverged seed: no finite upper end can be claimed
    else:
        result = bootstrap((data,), np.median, confidence_level=confidence, n_resamples=9999, method="percentile",
                           random_state=np.random.default_rng(random_state))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        # a resample's median averages two values, whose round-off may leave the data's range by an ulp
        low, high = max(low, float(data.min())), min(high, float(data.max()))
    return {"median": median, "low": low, "high": high, "n": int(data.size), "values": data.tolist(),
            "confidence": confidence}


def interval_verdict(interval: dict, threshold: float, claim: str = "below") -> bool | None:
    """True when the claim "value < threshold" (``claim="below"``) or "value > threshold" (``"above"``) holds
    over the whole interval, False when the whole interval lies on the wrong side (ties count as wrong), None
    (inconclusive) when it straddles the threshold."""
    if claim not in ("below", "above"):
        raise ValueError(f"claim must be 'below' or 'above', got {claim!r}")
    low, high = interval["low"], interval["high"]
    if claim == "below":
        return True if high < threshold else False if low >= threshold else None
    return True if low > threshold else False if high <= threshold else None


def describe_interval(interval: dict, digits: int = 3) -> str:
    """``0.56 [0.49, 0.63] over 5 seeds`` (median, 95% interval)."""
    def fmt(x: float) -> str:
        return f"{x:.{digits}g}"

    return (f"{fmt(interval['median'])} [{fmt(interval['low'])}, {fmt(interval['high'])}] "
            f"({int(interval['confidence'] * 100)}% interval over {interval['n']} seeds)")
