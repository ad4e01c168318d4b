"""Counterexample search shrinks to minimal instances; strategies produce what they promise."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.profiles import settings_for_budget
from verify.search import search_counterexample
from verify.strategies import alphas, full_row_rank_gaussian, givens_orthogonal, orthogonal_matrices, spd_matrices


def test_search_finds_and_shrinks_a_counterexample():
    result = search_counterexample(st.integers(0, 1000), lambda x: x - 10.5, settings_for_budget("quick"))
    assert result.found and result.counterexample == 11 and result.margin == 0.5


def test_search_reports_worst_margin_when_statement_holds():
    result = search_counterexample(st.integers(0, 10), lambda x: x - 100, settings_for_budget("quick"))
    assert not result.found and result.worst_margin_seen <= -90 and result.examples_tried > 0


def test_search_treats_nan_margin_as_violation():
    result = search_counterexample(st.just(1.0), lambda x: float("nan"), settings_for_budget("quick"))
    assert result.found


def _drawn_by_search(ctx) -> list[float]:
    drawn = []
    ctx.search(st.floats(0, 1), lambda x: drawn.append(x) or -1.0, max_examples=5)
    return drawn


@pytest.mark.parametrize("budget", ["quick", "full"])
def test_a_claims_search_draws_the_same_examples_for_the_same_seed_and_others_for_another(budget):
    from verify.registry import Context

    first = _drawn_by_search(Context(budget=budget, seed=0, claim_id="some.claim"))
    assert first == _drawn_by_search(Context(budget=budget, seed=0, claim_id="some.claim"))
    assert first != _drawn_by_search(Context(budget=budget, seed=1, claim_id="some.claim"))
    assert first != _drawn_by_search(Context(budget=budget, seed=0, claim_id="other.claim"))


def test_full_budget_scales_example_count():
    assert settings_for_budget("full", max_examples=7).max_examples == 70
    assert settings_for_budget("quick", max_examples=7).max_examples == 7


@settings(deadline=None, max_examples=50)
@given(q=orthogonal_matrices(4))
def test_orthogonal_matrices_are_orthogonal(q):
    assert np.allclose(q @ q.T, np.eye(4), atol=1e-12)


@settings(deadline=None, max_examples=50)
@given(a=spd_matrices(dim=st.integers(1, 5), cond_max=1e4))
def test_spd_matrices_are_symmetric_positive_definite_with_bounded_condition(a):
    lam = np.linalg.eigvalsh(a)
    assert np.allclose(a, a.T) and lam[0] > 0
    assert lam[-1] / lam[0] <= 1e4 * (1 + 1e-8)


@settings(deadline=None, max_examples=30)
@given(m=full_row_rank_gaussian(3, 5))
def test_full_row_rank_gaussian_has_unit_columns_and_full_row_rank(m):
    assert np.allclose(np.linalg.norm(m, axis=0), 1.0)
    assert np.linalg.matrix_rank(m) == 3


@given(a=alphas())
def test_alphas_stay_inside_the_open_unit_interval(a):
    assert 0 < a < 1


def test_givens_orthogonal_with_zero_angles_is_identity():
    assert np.array_equal(givens_orthogonal(np.zeros(3), 3), np.eye(3))


_DRAWS = """
import json, sys
{prelude}
from hypothesis import strategies as st
from verify.registry import Context
drawn = []
Context(budget="quick", seed=0, claim_id="some.claim").search(
    st.floats(-1e3, 1e3), lambda x: drawn.append(x) or -1.0, max_examples=400)
print(json.dumps(drawn))
"""


def test_a_search_draws_the_same_examples_whatever_the_process_imported_before():
    """Hypothesis mixes the literals of the local modules loaded in its process into its draws; a claim that ran
    before (and imported more of the project) must not change another claim's examples."""
    import json
    import subprocess
    import sys

    def draws(prelude: str) -> list[float]:
        code = _DRAWS.format(prelude=prelude)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    alone = draws("")
    after_everything = draws("import verify.catalogue, verify.runner, verify.html_report, implementations.bfgs.solver")
    assert len(alone) == 400 and alone == after_everything
