"""The seed interval of empirical claims and the verdict rule that reads it."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.intervals import describe_interval, interval_verdict, seed_interval, seeds_for


def test_seeds_start_at_the_run_seed_with_five_at_quick_and_three_at_full():
    assert seeds_for("quick", 0) == [0, 1, 2, 3, 4] and seeds_for("full", 7) == [7, 8, 9]
    with pytest.raises(ValueError, match="budget"):
        seeds_for("medium", 0)
    with pytest.raises(ValueError, match="seed"):
        seeds_for("quick", -1)


@settings(max_examples=50, deadline=None, database=None)
@given(st.lists(st.floats(0.01, 100), min_size=2, max_size=9))
def test_the_interval_contains_the_median_and_lies_within_the_values(values):
    interval = seed_interval(values)
    assert min(values) <= interval["low"] <= interval["median"] <= interval["high"] <= max(values)
    assert interval["median"] == pytest.approx(float(np.median(values)))


def test_identical_values_give_a_point_interval_and_a_diverged_seed_an_open_upper_end():
    assert seed_interval([2.0, 2.0, 2.0])[("low")] == 2.0 == seed_interval([2.0])["high"]
    interval = seed_interval([1.0, 1.2, float("nan"), 0.9, 1.1])
    assert interval["high"] == math.inf and interval["low"] == 0.9


@pytest.mark.parametrize("low, high, below, above", [
    (0.5, 0.9, True, False),      # entirely below 1
    (1.1, 1.8, False, True),      # entirely above 1
    (0.8, 1.2, None, None),       # straddles 1: inconclusive
    (1.0, 1.3, False, None),      # touching counts as the wrong side for "below"
])
def test_the_verdict_follows_the_side_of_the_threshold_the_interval_lies_on(low, high, below, above):
    interval = {"low": low, "high": high}
    assert interval_verdict(interval, 1.0, "below") is below
    assert interval_verdict(interval, 1.0, "above") is above


def test_a_refutation_needs_every_seed_interval_on_the_wrong_side():
    rng = np.random.default_rng(0)
    mixed = seed_interval(list(rng.normal(1.0, 0.3, size=5)))
    assert interval_verdict(mixed, 1.0) is None
    assert interval_verdict(seed_interval([1.5, 1.7, 1.6, 1.8, 1.55]), 1.0) is False
    assert "over 5 seeds" in describe_interval(mixed)
