"""The command line: list, run, report, exit codes; the README's claim table is current."""

import json
import subprocess
import sys
from pathlib import Path

from verify import cli, runner
from verify.catalogue import BY_ID, CATALOGUE
from verify.registry import Claim, Evidence

ROOT = Path(__file__).resolve().parents[2]


def test_list_json_shows_whole_catalogue(capsys):
    assert cli.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [s.id for s in CATALOGUE]
    assert {r["status"] for r in rows} <= {"implemented", "not implemented"}


def test_readme_claim_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    table = cli.claims_markdown(cli.claim_rows(builtin_only=True))  # entry-point claims stay out of it
    assert table in readme, "README claim table is stale: regenerate with `verify list --update-readme README.md`"


def test_claims_document_is_generated_from_the_registry(tmp_path):
    from verify.claims_doc import claims_document

    current = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    assert current == claims_document(), (
        "docs/claims.md is stale: regenerate with `verify list --update-docs docs/claims.md`")
    for spec in CATALOGUE:
        assert f"### {spec.id}\n" in current and spec.statement[1:] in current
    target = tmp_path / "claims.md"
    assert cli.main(["list", "--update-docs", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == current


def test_run_exit_status_is_nonzero_when_a_verdict_contradicts_expectation(tmp_path, monkeypatch):
    spec = BY_ID["cfgd.caputo.power-rule"]
    monkeypatch.setattr(runner, "load_checks",
                        lambda: {spec.id: Claim(spec, lambda ctx: Evidence(holds=False, counterexample={"k": 1}))})
    assert cli.main(["run", spec.id, "--out", str(tmp_path), "--device", "cpu"]) == 1
    monkeypatch.setattr(runner, "load_checks", lambda: {spec.id: Claim(spec, lambda ctx: Evidence(holds=True))})
    assert cli.main(["run", spec.id, "--out", str(tmp_path), "--device", "cpu"]) == 0
    assert cli.main(["report", "--out", str(tmp_path)]) == 0


def test_run_with_unknown_claim_is_a_usage_error(tmp_path):
    assert cli.main(["run", "no.such.*", "--out", str(tmp_path)]) == 2


def test_run_with_a_non_positive_job_count_is_a_usage_error_naming_jobs(tmp_path, capsys):
    assert cli.main(["run", "cfgd.caputo.power-rule", "--jobs", "0", "--out", str(tmp_path)]) == 2
    assert "jobs" in capsys.readouterr().err


def test_python_dash_m_verify_works():
    result = subprocess.run([sys.executable, "-m", "verify", "list", "--paper", "bfgs", "--json"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    assert all(r["paper"] == "bfgs" for r in json.loads(result.stdout))


def test_documented_finding_keeps_the_contradiction_visible_but_exits_zero(tmp_path, monkeypatch):
    import dataclasses

    from verify import registry

    spec = dataclasses.replace(BY_ID["cfgd.caputo.power-rule"], finding="found false on purpose")
    monkeypatch.setitem(registry.BY_ID, spec.id, spec)
    monkeypatch.setattr(runner, "CATALOGUE", tuple(spec if s.id == spec.id else s for s in CATALOGUE))
    monkeypatch.setattr(runner, "load_checks",
                        lambda: {spec.id: Claim(spec, lambda ctx: Evidence(holds=False, counterexample={"k": 1}))})
    assert cli.main(["run", spec.id, "--out", str(tmp_path), "--device", "cpu"]) == 0
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["summary"]["contradicting"] == [spec.id] and document["summary"]["unexpected"] == []
    assert document["claims"][0]["known_finding"] == "found false on purpose"
    report = (tmp_path / "report.md").read_text()
    assert "documented finding (contradicts the paper)" in report and "found false on purpose" in report


def test_version_is_printed(capsys):
    import pytest

    import verify

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"verify {verify.__version__}"


def test_list_shows_the_gpu_and_slow_flags_and_imports_no_claim_module():
    script = ("import sys; from verify import cli; cli.main(['list']); "
              "print('imported:', sorted(m for m in sys.modules if m.startswith(('torch', 'verify.claims.'))))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "[gpu]" in result.stdout and "[slow]" in result.stdout
    assert "imported: []" in result.stdout


def test_the_implemented_ids_read_from_the_source_are_the_registered_checks():
    from verify.registry import implemented_ids, load_checks

    assert implemented_ids() == set(load_checks())


def test_a_mistyped_claim_id_gets_the_nearest_ones_suggested(tmp_path, capsys):
    assert cli.main(["run", "bfgs.cwss.descent-conditon", "--out", str(tmp_path)]) == 2
    assert "did you mean bfgs.cwss.descent-condition" in capsys.readouterr().err


def test_pytest_names_the_missing_gpu_when_gpu_tests_are_asked_for():
    import torch

    if torch.cuda.is_available():
        import pytest

        pytest.skip("a GPU is present")
    result = subprocess.run([sys.executable, "-m", "pytest", "--device", "cuda", "-m", "gpu", "-rs", "-q",
                             "-p", "no:cacheprovider", "tests/test_claims.py"], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert "needs a CUDA device" in result.stdout and "slow: run with --runslow" not in result.stdout
