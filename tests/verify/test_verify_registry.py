"""Verdict rules: evidence → verdict → match with the THEORY.md expectation; records are plain JSON."""

import json

import numpy as np
import pytest
import torch

from verify.catalogue import BY_ID, CATALOGUE, ClaimSpec
from verify.registry import Claim, Context, Evidence, check, matches, run_claim

HOLDS = BY_ID["cfgd.caputo.power-rule"]
FAILS = BY_ID["bfgs.cwss.interval-not-sufficient"]
MEASURE = BY_ID["cfgd.hutchinson.abs-bias"]
GPU = BY_ID["mathl2o.beats-gd.fig4a"]


@pytest.mark.parametrize("spec, verdict, expected", [
    (HOLDS, "verified", True), (HOLDS, "refuted", False), (HOLDS, "measured", False), (HOLDS, "diverged", False),
    (FAILS, "refuted", True), (FAILS, "verified", False), (MEASURE, "measured", True), (MEASURE, "diverged", True),
    (MEASURE, "verified", False), (HOLDS, "error", False), (HOLDS, "inconclusive", None), (HOLDS, "skipped", None),
])
def test_verdict_matches_expectation_table(spec, verdict, expected):
    assert matches(spec, verdict) is expected


def test_evidence_verdicts():
    assert Evidence(holds=True).verdict() == "verified"
    assert Evidence(holds=None).verdict() == "measured"
    assert Evidence(holds=False, counterexample={"x": 1}).verdict() == "refuted"
    assert Evidence(holds=True, inconclusive=True).verdict() == "inconclusive"
    assert Evidence(holds=True, diverged_at=3).verdict() == "diverged"


def test_refuted_evidence_without_counterexample_is_an_error_of_the_check():
    record = run_claim(Claim(HOLDS, lambda ctx: Evidence(holds=False)), Context(claim_id=HOLDS.id))
    assert record["verdict"] == "error" and "counterexample" in record["error"]


def test_run_claim_records_exceptions_as_error_verdict():
    def broken(ctx):
        raise RuntimeError("boom")

    record = run_claim(Claim(HOLDS, broken), Context(claim_id=HOLDS.id))
    assert record["verdict"] == "error" and record["matches"] is False and "boom" in record["error"]


def test_run_claim_skips_gpu_claims_on_cpu():
    record = run_claim(Claim(GPU, lambda ctx: Evidence(holds=True)), Context(device="cpu", claim_id=GPU.id))
    assert record["verdict"] == "skipped" and record["matches"] is None


def test_run_claim_runs_gpu_claims_on_cpu_when_asked_to():
    record = run_claim(Claim(GPU, lambda ctx: Evidence(holds=True)),
                       Context(device="cpu", claim_id=GPU.id, gpu_claims_on_cpu=True))
    assert record["verdict"] == "verified" and record["device"] == "cpu"


def test_run_claim_record_is_plain_json_with_tensors_converted():
    evidence = Evidence(holds=False, numbers={"t": torch.tensor([1.0, 2.0]), "n": np.float64(3.0),
                                              "inf": float("inf")},
                        counterexample={"H": np.eye(2), "margin": 0.1})
    record = run_claim(Claim(FAILS, lambda ctx: evidence), Context(claim_id=FAILS.id))
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text)["counterexample"]["H"] == [[1.0, 0.0], [0.0, 1.0]]
    assert record["evidence"]["numbers"]["inf"] == "inf" and record["matches"] is True


def test_context_rng_depends_on_seed_and_claim_not_on_order():
    a = Context(seed=1, claim_id="x").rng.random()
    assert a == Context(seed=1, claim_id="x").rng.random()
    assert a != Context(seed=2, claim_id="x").rng.random()
    assert a != Context(seed=1, claim_id="y").rng.random()


def test_instance_seeds_keep_the_seed_0_instances_and_differ_for_every_other_seed():
    assert [Context(seed=0).instance_seed(base) for base in (1, 3, 7)] == [1, 3, 7]
    seeds = {Context(seed=seed).instance_seed(base) for seed in range(5) for base in (1, 3, 5, 7)}
    assert len(seeds) == 20


def test_context_rejects_unknown_budget():
    with pytest.raises(ValueError, match="budget"):
        Context(budget="medium")


def test_check_requires_known_id_and_docstring():
    with pytest.raises(KeyError):
        check("no.such.claim")
    with pytest.raises(ValueError, match="docstring"):
        check(HOLDS.id)(lambda ctx: Evidence())


def test_catalogue_ids_are_unique_and_cover_every_paper():
    assert len({s.id for s in CATALOGUE}) == len(CATALOGUE)
    assert {s.paper for s in CATALOGUE} == {"cfgd", "bfgs", "mathl2o"}


def test_claim_spec_rejects_unknown_tags():
    with pytest.raises(ValueError, match="source"):
        ClaimSpec("cfgd.x", "s", "rumour", "symbolic", "holds", "r")
    with pytest.raises(ValueError, match="expectation"):
        ClaimSpec("cfgd.x", "s", "derived", "symbolic", "maybe", "r")
