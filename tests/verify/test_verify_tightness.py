"""Tightness labels follow their definition (PEPit-style) at the stated relative precision."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.tightness import Tightness


def record(bound, worst, kind="upper", rtol=1e-3):
    return Tightness("q", bound, worst, kind, rtol, "test", 1)


@pytest.mark.parametrize("bound, worst, kind, label", [
    (1.0, 1.0, "upper", "tight"), (1.0, 0.9995, "upper", "tight"), (1.0, 0.5, "upper", "upper"),
    (1.0, 1.01, "upper", "violated"), (1.0, 2.0, "lower", "lower"), (1.0, 0.99, "lower", "violated"),
    (-2.0, -2.0, "upper", "tight"), (0.0, 0.0, "upper", "tight"),
    (float("inf"), 25.0, "upper", "upper"), (25.0, float("inf"), "upper", "violated"),
    (float("-inf"), 1.0, "lower", "lower"), (float("inf"), float("inf"), "upper", "tight"),
])
def test_tightness_label_matches_definition(bound, worst, kind, label):
    assert record(bound, worst, kind).label == label


@given(bound=st.floats(1e-6, 1e6), frac=st.floats(0.0, 0.99))
def test_tightness_valid_upper_bound_is_never_labelled_violated(bound, frac):
    assert record(bound, bound * frac).holds


def test_tightness_ratio_and_row():
    row = record(2.0, 1.0).as_row()
    assert row["ratio"] == 0.5 and row["label"] == "upper"
    assert math.isinf(record(0.0, 1.0).ratio)


@pytest.mark.parametrize("kwargs, message", [(dict(kind="middle"), "kind"), (dict(rtol=0.0), "rtol"),
                                             (dict(bound=float("nan")), "bound")])
def test_tightness_rejects_bad_arguments(kwargs, message):
    args = dict(quantity="q", bound=1.0, worst=1.0, kind="upper", rtol=1e-3, method="m", evaluations=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Tightness(**args)
