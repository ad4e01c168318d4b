"""Every registered claim runs as a test: ``pytest`` is a verification run at the chosen budget.

A claim test fails when its verdict contradicts the expectation in THEORY.md (or the check errors); an
``inconclusive`` verdict fails too, since a check that cannot decide at the test budget proves nothing.
Claims with a documented finding (verify.catalogue.ClaimSpec.finding) are strict xfails: they must keep
failing, and a verdict that starts matching turns the test red so the finding gets reviewed.
"""

from __future__ import annotations

import pytest

from verify.registry import Context, load_checks, run_claim

CLAIMS = load_checks()


def _marks(claim):
    marks = []
    if claim.spec.slow:
        marks.append(pytest.mark.slow)
    if claim.spec.gpu:
        marks.append(pytest.mark.gpu)
    if claim.spec.finding:
        marks.append(pytest.mark.xfail(strict=True, reason=f"documented finding: {claim.spec.finding}"))
    return marks


@pytest.mark.parametrize("claim", [pytest.param(c, id=c.id, marks=_marks(c)) for c in CLAIMS.values()])
def test_claim_verdict_matches_expectation(claim, device, budget, tmp_path):
    ctx = Context(budget=budget, device=device, seed=0, figure_dir=str(tmp_path), claim_id=claim.id)
    record = run_claim(claim, ctx)
    detail = record.get("error") or record.get("evidence", {}).get("notes", "")
    assert record["verdict"] not in ("error", "inconclusive"), (
        f"{claim.id}: {record['verdict']}: {detail}\n{record.get('traceback', '')}")
    assert record["matches"] is True, (
        f"{claim.id}: verdict {record['verdict']} contradicts expectation {claim.spec.expect}: {detail}; "
        f"numbers={record.get('evidence', {}).get('numbers')} counterexample={record.get('counterexample')}")
