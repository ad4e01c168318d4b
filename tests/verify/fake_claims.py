"""Checks that stand in for real ones in runner tests: they record that they ran and return at once."""

from verify.catalogue import BY_ID
from verify.registry import Claim, Evidence

IDS = ["cfgd.caputo.power-rule", "cfgd.caputo.identity-normaliser", "cfgd.gj.spectral-convergence"]


def fake_checks(calls: list, ids: list[str] = IDS) -> dict[str, Claim]:
    """ID → Claim whose check appends its ID to ``calls`` and returns the verdict its expectation asks for."""
    def make(claim_id):
        def fn(ctx):
            calls.append(claim_id)
            return Evidence(holds=None if BY_ID[claim_id].expect == "measure" else True, numbers={"x": 1.0})
        return fn
    return {i: Claim(BY_ID[i], make(i)) for i in ids}
