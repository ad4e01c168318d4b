"""The log-grid search behind the η convergence edge (implementations/mathl2o/experiments.py) and its
tightness record (verify/claims/mathl2o/eq14_lr_bound.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from implementations.mathl2o.experiments import first_failure_on_log_grid
from verify.tightness import edge_tightness


@settings(max_examples=60, deadline=None)
@given(threshold=st.floats(1.001e-3, 0.999e6), steps=st.integers(1, 12), per_decade=st.integers(1, 3))
def test_log_grid_search_brackets_a_monotone_threshold_to_the_bisection_resolution(threshold, steps, per_decade):
    found = first_failure_on_log_grid(lambda x: x <= threshold, 1e-3, 1e6, steps, per_decade)
    ok, fail = found["bracket"]
    assert found["edge"] == ok <= threshold < fail
    assert found["monotone"] and found["largest_passing"] <= threshold
    grid_ratio = 10 ** (1 / per_decade)
    assert math.log(fail / ok) <= math.log(grid_ratio) * 2.0 ** -steps * (1 + 1e-9)
    assert found["evaluations"] == len(found["scan"]) + steps


def test_log_grid_search_stops_at_the_first_failure_and_reports_a_passing_island_above_it():
    # passes on (0, 1] and on (50, 200): a plain bisection on [1e-3, 1e6] would end near 1 by luck (its first
    # midpoint 31.6 fails); the scan finds the edge at 1 by design and sees the island at 100
    found = first_failure_on_log_grid(lambda x: x <= 1 or 50 < x < 200, 1e-3, 1e6, steps=30)
    assert found["edge"] == pytest.approx(1.0, rel=1e-6) and found["bracket"][0] <= 1.0 < found["bracket"][1]
    assert found["largest_passing"] == pytest.approx(100.0)
    assert not found["monotone"]
    island_first = first_failure_on_log_grid(lambda x: x <= 0.5 or 5 < x < 2e5, 1e-3, 1e6, steps=30)
    assert island_first["edge"] == pytest.approx(0.5, rel=1e-6)  # plain bisection: first midpoint passes, ends at 2e5


def test_log_grid_search_ends_open_or_empty_when_the_top_or_no_grid_point_passes():
    everything = first_failure_on_log_grid(lambda x: True, 1.0, 100.0)
    assert everything["edge"] == 100.0 and everything["bracket"] == [100.0, math.inf]
    nothing = first_failure_on_log_grid(lambda x: False, 1.0, 100.0)
    assert math.isnan(nothing["edge"]) and nothing["bracket"] == [0.0, 1.0]
    assert [x for x, _ in nothing["scan"]] == pytest.approx([1.0, 10.0, 100.0])


@pytest.mark.parametrize("kwargs, match", [
    ({"low": 0.0}, "low"), ({"high": -1.0}, "high"), ({"low": 2.0, "high": 1.0}, "low < high"),
    ({"steps": 0}, "steps"), ({"per_decade": 0}, "per_decade"), ({"low": math.nan}, "low"),
])
def test_log_grid_search_rejects_bad_arguments_by_name(kwargs, match):
    arguments = {"low": 1.0, "high": 10.0, "steps": 4, "per_decade": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        first_failure_on_log_grid(lambda x: True, **arguments)


def test_edge_tightness_labels_a_bound_inside_the_bracket_tight_and_a_failure_at_the_lowest_eta_violated():
    inside = first_failure_on_log_grid(lambda x: x <= 3.0, 1e-3, 1e6, steps=4)
    ok, fail = inside["bracket"]
    assert edge_tightness("edge", 0.5 * (ok + fail), inside).label == "tight"
    assert edge_tightness("edge", 0.5, inside).label == "lower"
    assert edge_tightness("edge", 2 * fail, inside).label == "violated"
    nothing = first_failure_on_log_grid(lambda x: False, 1e-3, 1e6)
    assert edge_tightness("edge", 1.0, nothing).label == "violated"
