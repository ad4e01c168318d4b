"""`--device` and `--dtype` are honoured, not labels: every check creates its tensors on ctx.torch_device in
ctx.dtype (or derives them from tensors that are), and a record's device and dtype say what it computed on.

A CPU-only machine cannot see a tensor that would land off the context's device, so the claims run under
device_audit.FactoryAudit: a torch function mode that records every factory call made from implementations/ or
verify/ that names no device, or leaks torch's default dtype (set to the *other* float dtype here, as
`verify run` leaves it at float32 while the context asks for float64). On the code before this test existed it
flagged 33 of the 38 quick, non-slow, non-GPU claims, all but the five that compute with sympy, mpmath and numpy
only (e.g. random instances drawn with ``torch.randn(..., dtype=torch.float64)`` and no device, every QP and
MathL2O built on the default device, ``torch.tensor(alpha)`` step lengths in torch's default float32, models
built in the default dtype and cast afterwards).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from device_audit import ROOT, FactoryAudit  # tests/verify/device_audit.py

from verify import runner
from verify.catalogue import BY_ID, ClaimSpec
from verify.registry import Claim, Context, Evidence, load_checks, run_claim, supported_context
from verify.results import HTML, REPORT, SCHEMA, schema_errors

CLAIMS = load_checks()
#: claims that take over 5 s at the quick budget under the audit: run with --runslow
LONG = {"mathl2o.eq13.alpha0-condition", "mathl2o.eq14.lr-bound", "mathl2o.oracle.fig5",
        "mathl2o.random-init-explodes", "mathl2o.thm43.linear-rate"}
AUDITED = [claim for claim in CLAIMS.values() if not claim.spec.slow and not claim.spec.gpu]
FLOAT32 = [claim for claim in CLAIMS.values() if "float32" in claim.spec.dtypes]
#: known offenders, strict xfails: fixing one turns its test red, so that it is taken off this list
KNOWN = {"bfgs.l2o.output-range": "verify.step_models builds the StepSizeLSTM in torch's default dtype and casts it "
                                  "(a host-only claim for now: ClaimSpec.devices)"}


def _param(claim):
    marks = [pytest.mark.slow] if claim.id in LONG else []
    if claim.id in KNOWN:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[claim.id]))
    return pytest.param(claim, id=claim.id, marks=marks)


def _audited_run(claim: Claim, dtype_name: str, tmp_path, strict: bool) -> tuple[dict, list[str]]:
    """The claim's record at the quick budget on the CPU, and the audit's findings (the device rule only for a
    claim that declares CUDA among its devices: a host-only claim computes on the CPU by design)."""
    dtype = getattr(torch, dtype_name)
    default, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float32 if dtype == torch.float64 else torch.float64)
    torch.set_num_threads(1)  # as `verify run` (--threads 1): float32 batched matmuls crawl when oversubscribed
    audit = FactoryAudit(dtype, strict_dtype=strict)
    try:
        ctx = Context(budget="quick", device="cpu", seed=0, dtype_name=dtype_name, figure_dir=str(tmp_path),
                      claim_id=claim.id)
        with audit:
            record = run_claim(claim, ctx)
    finally:
        torch.set_default_dtype(default)
        torch.set_num_threads(threads)
    findings = sorted(str(f) for f in audit.findings if "cuda" in claim.spec.devices or f.kind != "device")
    return record, findings


@pytest.mark.parametrize("claim", [_param(c) for c in AUDITED])
def test_claim_creates_its_tensors_on_the_context_device_and_dtype(claim, tmp_path):
    record, findings = _audited_run(claim, "float64", tmp_path, strict=False)
    assert record["verdict"] != "error", f"{claim.id}: {record.get('error')}\n{record.get('traceback', '')}"
    assert not findings, f"{claim.id} creates tensors that ignore ctx.torch_device / ctx.dtype:\n" + "\n".join(findings)


@pytest.mark.parametrize("claim", [_param(c) for c in FLOAT32])
def test_float32_capable_claims_compute_in_float32_and_get_their_expected_verdict(claim, tmp_path):
    record, findings = _audited_run(claim, "float32", tmp_path, strict=True)
    assert record["dtype"] == "float32" and "requested" not in record
    assert record["verdict"] not in ("error", "inconclusive"), f"{claim.id}: {record.get('error')}"
    assert record["matches"] is True, f"{claim.id}: {record['verdict']}: {record['evidence'].get('numbers')}"
    assert not findings, f"{claim.id} computes in another dtype than float32:\n" + "\n".join(findings)


def test_the_float32_capable_claims_include_every_cfgd_quadratic_property_check():
    assert {"cfgd.scaled.linear-exact", "cfgd.quadratic.closed-form", "cfgd.na.fixed-point", "cfgd.na.stability",
            "cfgd.at.heavy-ball", "cfgd.hutchinson.unbiased"} <= {c.id for c in FLOAT32}


# ---- the audit itself ------------------------------------------------------------------------------------

def _project_code(source: str, tmp_path):
    """Run ``source`` as if it were a line of verify/ (the audit attributes calls by their file name)."""
    code = compile(source, str(ROOT / "verify" / "audit_probe.py"), "exec")
    audit = FactoryAudit(torch.float64)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        with audit:
            exec(code, {"torch": torch})
    finally:
        torch.set_default_dtype(default)
    return sorted(str(f) for f in audit.findings)


@pytest.mark.parametrize("source, reason", [
    ("torch.zeros(3, dtype=torch.float64)", "no device="),
    ("torch.randn(3, generator=torch.Generator(), dtype=torch.float64)", "no device="),
    ("torch.tensor([1.0, 2.0], device='cpu')", "no dtype=: got torch.float32"),
    ("torch.nn.Linear(2, 2)", "no device="),
])
def test_the_audit_flags_factory_calls_of_project_code_that_ignore_the_context(source, reason, tmp_path):
    findings = _project_code(source, tmp_path)
    assert any(reason in f and "verify/audit_probe.py:1" in f for f in findings), findings


@pytest.mark.parametrize("source", [
    "x = torch.zeros(3, dtype=torch.float64, device='cpu'); torch.zeros_like(x); x.new_tensor(1.0); torch.as_tensor(x)",
    # torch's own choices are not the project's: Adam keeps its step count on the CPU whatever the parameters
    "w = torch.zeros(2, dtype=torch.float64, device='cpu', requires_grad=True); w.sum().backward(); "
    "torch.optim.Adam([w]).step()",
])
def test_the_audit_accepts_derived_tensors_and_torch_internals(source, tmp_path):
    assert _project_code(source, tmp_path) == []


# ---- what a record says it computed on -----------------------------------------------------------------

def _claim(spec_id: str, **fields) -> Claim:
    spec = dataclasses.replace(BY_ID[spec_id], **fields)
    return Claim(spec, lambda ctx: Evidence(holds=None if spec.expect == "measure" else True,
                                            numbers={"device": ctx.device, "dtype": ctx.dtype_name,
                                                     "zeros_dtype": str(torch.zeros(1, **ctx.like).dtype)}))


def test_a_claim_run_in_a_dtype_it_does_not_honour_computes_in_its_first_and_says_so():
    record = run_claim(_claim("cfgd.gj.spectral-convergence"), Context(dtype_name="float32", claim_id="x"))
    assert record["dtype"] == "float64" and record["evidence"]["numbers"]["dtype"] == "float64"
    assert record["evidence"]["numbers"]["zeros_dtype"] == "torch.float64"
    assert record["requested"] == {"device": "cpu", "dtype": "float32"} and record["matches"] is True


def test_a_host_only_claim_of_a_cuda_run_computes_on_the_cpu_and_says_so():
    claim = _claim("cfgd.caputo.power-rule", devices=("cpu",))
    record = run_claim(claim, Context(device="cuda", claim_id=claim.id))
    assert record["device"] == "cpu" and record["evidence"]["numbers"]["device"] == "cpu"
    assert record["requested"] == {"device": "cuda", "dtype": "float64"}


def test_a_claim_that_honours_the_run_records_it_without_requested():
    claim = _claim("cfgd.na.stability", dtypes=("float32", "float64"))
    record = run_claim(claim, Context(dtype_name="float32", claim_id=claim.id))
    assert record["dtype"] == "float32" and record["evidence"]["numbers"]["zeros_dtype"] == "torch.float32"
    assert "requested" not in record
    ctx = Context(device="cuda:1", claim_id=claim.id)
    assert supported_context(claim.spec, ctx) is ctx  # cuda:N is of kind cuda


def test_records_with_requested_validate_against_the_schema():
    record = run_claim(_claim("cfgd.gj.spectral-convergence"), Context(dtype_name="float32", claim_id="x"))

    def document(*records):
        return {"schema": SCHEMA, "run": {"complete": True, "budget": "quick", "dtype": "float32"},
                "summary": {"verdicts": {}, "matching": 1, "contradicting": [], "unexpected": []},
                "claims": list(records)}

    assert schema_errors(document(record)) == []
    assert schema_errors(document(record | {"dtype": "float16"}))
    assert schema_errors(document(record | {"requested": {"device": "cuda"}}))


def test_a_float32_run_records_its_dtype_and_resumes_only_float32_records(tmp_path, monkeypatch):
    ids = ["cfgd.na.stability", "cfgd.gj.spectral-convergence"]
    calls = []

    def checks():
        def make(claim_id):
            def fn(ctx):
                calls.append((claim_id, ctx.dtype_name))
                return Evidence(holds=None if BY_ID[claim_id].expect == "measure" else True)
            return fn
        return {i: Claim(BY_ID[i], make(i)) for i in ids}

    monkeypatch.setattr(runner, "load_checks", checks)
    document = runner.run(runner.RunConfig(patterns=ids, out=tmp_path, device="cpu", dtype="float32"))
    assert document["run"]["dtype"] == "float32"
    assert dict(calls) == {"cfgd.na.stability": "float32", "cfgd.gj.spectral-convergence": "float64"}
    assert {r["id"]: (r["dtype"], r.get("requested", {}).get("dtype")) for r in document["claims"]} == {
        "cfgd.na.stability": ("float32", None), "cfgd.gj.spectral-convergence": ("float64", "float32")}
    said = "computed on `cpu` in `float64` (the run asked for `cpu`, `float32`)"
    assert (tmp_path / REPORT).read_text(encoding="utf-8").count(said) == 1
    assert "(the run asked for <code>cpu</code>, <code>float32</code>)" in (tmp_path / HTML).read_text(encoding="utf-8")
    calls.clear()
    runner.run(runner.RunConfig(patterns=ids, out=tmp_path, device="cpu", dtype="float32", resume=True))
    assert calls == []
    runner.run(runner.RunConfig(patterns=ids, out=tmp_path, device="cpu", dtype="float64", resume=True))
    assert sorted(claim_id for claim_id, _ in calls) == sorted(ids)  # float32 records are no float64 results


# ---- bad input ------------------------------------------------------------------------------------------

def test_bad_dtypes_and_devices_are_rejected_with_the_allowed_values():
    with pytest.raises(ValueError, match=r"dtype_name must be one of \('float32', 'float64'\), got 'float16'"):
        Context(dtype_name="float16")
    with pytest.raises(ValueError, match=r"dtype must be one of \('float32', 'float64'\), got 'half'"):
        runner.RunConfig(dtype="half")
    spec = BY_ID["cfgd.na.stability"]
    with pytest.raises(ValueError, match=r"dtypes must be a non-empty tuple of \('float32', 'float64'\)"):
        dataclasses.replace(spec, dtypes=("bfloat16",))
    with pytest.raises(ValueError, match=r"devices must be a non-empty tuple of \('cpu', 'cuda'\)"):
        dataclasses.replace(spec, devices=["cpu"])
    with pytest.raises(ValueError, match="devices"):
        ClaimSpec("cfgd.x.y", "s", "derived", "property", "holds", "r", devices=())


def test_verify_run_rejects_an_unknown_dtype(capsys):
    from verify import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--dtype", "float16", "cfgd.na.stability"])
    assert exit_info.value.code == 2 and "float32" in capsys.readouterr().err

