"""What a claim's spec declares in advance decides: its scales (ctx.scale), the label and precision of each of
its tightness records (PEPit's manner) and the bands a measured prediction must fall in."""

import dataclasses
import re
from pathlib import Path

import pytest

from verify.catalogue import BY_ID, CATALOGUE, SPEC_FILES, ClaimSpec
from verify.registry import Claim, Context, Evidence, run_claim
from verify.tightness import Tightness, label_mismatches

ROOT = Path(__file__).resolve().parents[2]
NA_STABILITY = BY_ID["cfgd.na.stability"]
QUANTITY = "largest η with ‖e_T‖ < ‖e_0‖ (NA-CFGD)"


def _spec(**changes) -> ClaimSpec:
    return dataclasses.replace(BY_ID["cfgd.caputo.power-rule"], **changes)


def _row(quantity: str, bound: float, worst: float, kind: str = "upper", rtol: float = 1e-3) -> dict:
    return Tightness(quantity, bound, worst, kind, rtol, "test", 1).as_row()


def test_a_record_with_its_declared_label_and_precision_passes():
    assert label_mismatches({"tightness": [_row(QUANTITY, 1.0, 1.0)]}, NA_STABILITY.tightness) == []


@pytest.mark.parametrize("row, problem", [
    (_row(QUANTITY, 1.0, 0.5), "label"),  # loose where the spec declares the bound tight
    (_row(QUANTITY, 1.0, 1.0, rtol=0.5), "precision"),  # tight only at a precision coarser than declared
    (_row("an undeclared quantity", 1.0, 1.0), "no tightness declaration of the claim's spec matches this record"),
])
def test_a_record_off_its_declaration_is_a_mismatch(row, problem):
    [mismatch] = label_mismatches({"tightness": [row]}, NA_STABILITY.tightness)
    assert mismatch["problem"] == problem and mismatch["quantity"] == row["quantity"]


def test_patterns_match_parametrised_quantities_and_accept_a_tuple_of_labels():
    declared = BY_ID["bfgs.cwss.spectral-stability"].tightness
    rows = [_row("largest δ with ρ(I−PHA)<1, κ(A)=100, H=A^-1", 1.0, 1.0, "lower"),
            _row("largest δ with ρ(I−PHA)<1, κ(A)=10, H=A^-1 perturbed eps=0.3", 0.3, 0.5, "lower"),
            _row("largest δ with ρ(I−PHA)<1, κ(A)=10, H=BFGS H_2", 0.0, 0.0, "lower", rtol=2.0)]
    assert label_mismatches({"tightness": rows}, declared) == []
    loose_exact = _row("largest δ with ρ(I−PHA)<1, κ(A)=10, H=A^-1", 0.5, 1.0, "lower")
    assert [m["problem"] for m in label_mismatches({"t": [loose_exact]}, declared)] == ["label"]


def test_a_label_mismatch_refutes_the_claim_whatever_its_check_concluded():
    def check(ctx):
        return Evidence(holds=True, tables={"tightness": [_row(QUANTITY, 1.0, 0.5)]})

    record = run_claim(Claim(NA_STABILITY, check), Context(claim_id=NA_STABILITY.id))
    assert record["verdict"] == "refuted" and record["matches"] is False
    assert record["tightness_mismatches"][0]["declared"] == ["tight"]
    assert record["counterexample"]["tightness_mismatches"][0]["label"] == "upper"


def test_a_measure_claim_with_undeclared_tightness_records_fails():
    spec = BY_ID["cfgd.hutchinson.abs-bias"]
    record = run_claim(Claim(spec, lambda ctx: Evidence(holds=None, tables={"t": [_row("q", 1.0, 1.0)]})),
                       Context(claim_id=spec.id))
    assert record["verdict"] == "refuted" and record["matches"] is False


def test_every_tightness_record_of_the_catalogue_is_declared_by_its_claim():
    """The claims whose check kind includes tightness declare their records (the quick run asserts the labels)."""
    tight = [spec for spec in CATALOGUE if "tightness" in spec.check and spec.tightness]
    assert {spec.id for spec in tight} >= {"cfgd.na.stability", "bfgs.cwss.descent-condition",
                                           "bfgs.cwss.spectral-stability", "bfgs.cwss.sufficient-decrease",
                                           "mathl2o.gd.sublinear-bound", "mathl2o.eq13.alpha0-condition",
                                           "mathl2o.eq14.lr-bound"}


@pytest.mark.parametrize("changes, message", [
    (dict(tightness={"q": ("loose", 1e-3)}), "tightness"),
    (dict(tightness={"q": ("tight", 0.0)}), "tightness"),
    (dict(tightness={"q": "tight"}), "tightness"),
    (dict(scales={"n": 3}), "scales"),
    (dict(scales={"n": (1, 2, 3)}), "scales"),
    (dict(bands={"ratio": (1.25, 0.8)}), "bands"),
    (dict(bands={"ratio": ("a", "b")}), "bands"),
])
def test_malformed_declarations_are_rejected_naming_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        _spec(**changes)


def test_scale_reads_the_budgets_value_from_the_claims_spec():
    spec = BY_ID["cfgd.na.stability"]
    assert Context(budget="quick", claim_id=spec.id).scale("batch") == spec.scales["batch"][0] == 500
    assert Context(budget="full", claim_id=spec.id).scale("batch") == spec.scales["batch"][1] == 5000
    with pytest.raises(KeyError, match="declares no scale 'iterations'.*batch"):
        Context(claim_id=spec.id).scale("iterations")
    with pytest.raises(KeyError, match="names no known claim"):
        Context(claim_id="x.y").scale("batch")


def test_the_record_lists_the_scales_of_its_budget():
    spec = BY_ID["cfgd.na.stability"]
    record = run_claim(Claim(spec, lambda ctx: Evidence(holds=True)), Context(budget="full", claim_id=spec.id))
    assert record["scales"] == {"batch": 5000, "count": 64, "sweep_instances": 1_000_000}


#: Budget-dependent choices that are not sizes of one claim: the meta-training and BFGS-study configurations
#: shared by several claims (objects of implementations.cfgd.training and implementations.bfgs.experiments, whose
#: quick and full forms are named there), a sampling distribution and a note's wording.
SHARED_EXPERIMENT_CONFIGS = {"verify/claims/bfgs/_shared.py", "verify/claims/cfgd/_l2o.py",
                             "verify/claims/cfgd/l2o_oracle_schedule.py",
                             "verify/claims/cfgd/quadrature_change_of_variables.py",
                             "verify/claims/mathl2o/random_init_explodes.py"}


def test_no_check_reads_its_sizes_from_anywhere_but_its_spec():
    """Sizes live in each claim's SPEC.scales: no budget-dependent pair is picked inline in a claim module."""
    inline = [f"{path.relative_to(ROOT).as_posix()}:{number}"
              for path in (ROOT / "verify" / "claims").rglob("*.py")
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\.pick\(|if ctx\.quick else|ctx\.budget == ", line)
              and (".pick(" in line or path.relative_to(ROOT).as_posix() not in SHARED_EXPERIMENT_CONFIGS)]
    assert inline == []


def test_one_claim_one_module():
    files = [path for path, _ in SPEC_FILES.values()]
    assert len(files) == len(set(files)) == len(CATALOGUE)
    for path in files:
        assert path.parent.parent == ROOT / "verify" / "claims" and not path.name.startswith("_")


def test_no_test_or_notebook_imports_a_claim_modules_internals():
    """Tests and notebooks use the public API (implementations, theory, verify.margins, verify.registry …): the
    claim modules verify/claims/<paper>/*.py are reached only through the registry."""
    pattern = re.compile(r"(from|import)\s+verify\.claims\b|from\s+verify\s+import\s+claims\b")
    offenders = [str(path.relative_to(ROOT))
                 for folder in ("tests", "notebooks", "benchmarks", "examples")
                 for path in (ROOT / folder).rglob("*")
                 if path.suffix in (".py", ".ipynb") and pattern.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
