"""Claims from other packages (verify.external): discovered through the ``l2o_verify.claims`` entry points of a
temporary distribution (a dist-info folder with entry_points.txt on PYTHONPATH, in a subprocess), listed, run and
reported like the built-in ones; a broken entry point is one line naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from verify.catalogue import CATALOGUE, ClaimSpec

ROOT = Path(__file__).resolve().parents[2]

GOOD = '''
"""A third-party claim module."""
from verify.catalogue import ClaimSpec
from verify.registry import Evidence, check

PAPERS = {"fakeplug": "Fake plugin claims"}
CLAIMS = [
    ClaimSpec("fakeplug.sum.commutes", "a + b = b + a for a few floats", "standard", "property", "holds",
              "arithmetic"),
    ClaimSpec("fakeplug.sum.declared-only", "a claim without a check", "standard", "property", "holds", "none"),
]


@check("fakeplug.sum.commutes")
def commutes(ctx):
    """a + b = b + a for the floats drawn from ctx.rng (standard)."""
    a, b = ctx.rng.normal(size=2)
    return Evidence(holds=bool(a + b == b + a), numbers={"a": float(a), "b": float(b)})
'''


def _distribution(folder: Path, name: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """A minimal installed distribution in ``folder``: its modules and a dist-info with the entry points."""
    folder.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = folder / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[l2o_verify.claims]\n{lines}", encoding="utf-8")


def _verify(args: list[str], *paths: Path, timeout: int = 300, code: str | None = None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "verify", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def test_an_entry_point_claim_is_listed_run_and_reported(tmp_path):
    _distribution(tmp_path / "site", "fake_plugin", {"fake_plugin_claims": GOOD}, {"fake": "fake_plugin_claims"})
    listed = _verify(["list", "--json", "--paper", "fakeplug"], tmp_path / "site")
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"fakeplug.sum.commutes", "fakeplug.sum.declared-only"}
    assert rows["fakeplug.sum.commutes"]["status"] == "implemented"
    assert rows["fakeplug.sum.declared-only"]["status"] == "not implemented"

    everything = json.loads(_verify(["list", "--json"], tmp_path / "site").stdout)
    assert [row["id"] for row in everything[:len(CATALOGUE)]] == [spec.id for spec in CATALOGUE]
    assert "fakeplug.sum.commutes" in {row["id"] for row in everything}

    out = tmp_path / "run"
    ran = _verify(["run", "fakeplug.*", "--device", "cpu", "--out", str(out)], tmp_path / "site")
    assert ran.returncode == 0, ran.stderr
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))  # validated against the schema
    verdicts = {r["id"]: (r["paper"], r["verdict"]) for r in document["claims"]}
    assert verdicts == {"fakeplug.sum.commutes": ("fakeplug", "verified"),
                        "fakeplug.sum.declared-only": ("fakeplug", "not-implemented")}
    record = next(r for r in document["claims"] if r["id"] == "fakeplug.sum.commutes")
    assert record["links"]["spec"].endswith("fake_plugin_claims.py:8")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## fakeplug: Fake plugin claims" in report
    assert "Fake plugin claims" in (out / "report.html").read_text(encoding="utf-8")

    compared = _verify(["report", "--compare", str(out), str(out), "--format", "json"], tmp_path / "site")
    assert compared.returncode == 0 and json.loads(compared.stdout)["verdict_changes"] == []


def test_listing_reads_entry_point_claims_without_importing_them_and_counts_their_checks(tmp_path):
    _distribution(tmp_path / "site", "fake_plugin", {"fake_plugin_claims": GOOD}, {"fake": "fake_plugin_claims"})
    code = ("import sys; from verify import cli; cli.main(['list']); from verify.registry import implemented_ids; "
            "print('imported:', sorted(m for m in sys.modules "
            "if m.startswith(('torch', 'verify.claims.', 'fake_')))); "
            "ids = implemented_ids(); from verify.registry import load_checks; "
            "print('same:', ids == set(load_checks()), 'fakeplug.sum.commutes' in ids)")
    result = _verify([], tmp_path / "site", code=code)
    assert result.returncode == 0, result.stderr
    assert "fakeplug.sum.commutes" in result.stdout and "imported: []" in result.stdout
    assert "same: True True" in result.stdout


def test_a_module_whose_specs_are_not_literals_is_imported_for_them(tmp_path):
    source = GOOD.replace('CLAIMS = [', 'CLAIMS = list([').replace('"none"),\n]', '"none"),\n])')
    assert "list([" in source
    _distribution(tmp_path / "site", "fake_plugin", {"fake_plugin_claims": source}, {"fake": "fake_plugin_claims"})
    listed = _verify(["list", "--json", "--paper", "fakeplug"], tmp_path / "site")
    assert listed.returncode == 0, listed.stderr
    assert [row["status"] for row in json.loads(listed.stdout)] == ["implemented", "not implemented"]


CLASH_BUILTIN = GOOD.replace('"fakeplug.sum.declared-only"', '"bfgs.l2o.output-range"')
CHECKS_BUILTIN = GOOD + '''

@check("bfgs.l2o.output-range")
def output_range(ctx):
    """attaches to a built-in claim: refused"""
'''
BROKEN_IMPORT = GOOD + "\nimport no_such_module_anywhere\n"
BAD_SPEC = GOOD.replace('"standard", "property", "holds",\n              "arithmetic"',
                        '"folklore", "property", "holds",\n              "arithmetic"')


@pytest.mark.parametrize("source, entry, problem", [
    (GOOD, "missing_module_xyz", "No module named 'missing_module_xyz'"),
    (BROKEN_IMPORT.replace("CLAIMS = [", "CLAIMS = list(["), "fake_plugin_claims", "no_such_module_anywhere"),
    (CLASH_BUILTIN, "fake_plugin_claims", "clashes with the built-in claim"),
    (CHECKS_BUILTIN, "fake_plugin_claims", "names no claim of its CLAIMS"),
    (BAD_SPEC, "fake_plugin_claims", "source tag 'folklore'"),
], ids=["missing-module", "import-error", "clashing-id", "check-on-built-in", "malformed-spec"])
def test_a_broken_entry_point_is_one_line_naming_it(tmp_path, source, entry, problem):
    if "list([" in source:
        source = source.replace('"none"),\n]', '"none"),\n])')
    _distribution(tmp_path / "site", "fake_plugin", {"fake_plugin_claims": source}, {"brokenplug": entry})
    for args in (["list"], ["run", "fakeplug.*", "--out", str(tmp_path / "run"), "--device", "cpu"]):
        result = _verify(args, tmp_path / "site")
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "entry point brokenplug = " in result.stderr and problem in result.stderr, result.stderr


def test_the_same_claim_from_two_entry_points_is_refused(tmp_path):
    _distribution(tmp_path / "a", "fake_plugin", {"fake_plugin_claims": GOOD}, {"fake": "fake_plugin_claims"})
    _distribution(tmp_path / "b", "other_plugin", {"other_claims": GOOD}, {"other": "other_claims"})
    result = _verify(["list", "--json"], tmp_path / "a", tmp_path / "b")
    assert result.returncode == 2
    assert "entry point other = 'other_claims'" in result.stderr and "declared twice" in result.stderr


def test_claim_ids_need_the_dotted_form_but_no_paper_prefix():
    assert ClaimSpec("mylab.model.output-range", "s", "derived", "property", "holds", "r").paper == "mylab"
    for bad in ("single", "Upper.case", "a..b", "a.b_c", "a.-b", ".a.b"):
        with pytest.raises(ValueError, match="dotted lowercase"):
            ClaimSpec(bad, "s", "derived", "property", "holds", "r")
    with pytest.raises(TypeError, match="claim id must be a str"):
        ClaimSpec(1, "s", "derived", "property", "holds", "r")
    with pytest.raises(TypeError, match="gpu must be a bool"):
        ClaimSpec("mylab.a", "s", "derived", "property", "holds", "r", gpu="yes")
    with pytest.raises(TypeError, match="statement must be a str"):
        ClaimSpec("mylab.a", None, "derived", "property", "holds", "r")


def test_check_takes_the_spec_from_the_calling_modules_claims():
    from verify.registry import _CHECKS

    spec = ClaimSpec("inprocess.sum.zero", "0 + 0 = 0", "standard", "property", "holds", "none")
    namespace = {"__name__": "tests_inprocess_claims", "CLAIMS": [spec]}
    exec(textwrap.dedent('''
        from verify.registry import Evidence, check

        @check("inprocess.sum.zero")
        def zero(ctx):
            """0 + 0 = 0 (standard)."""
            return Evidence(holds=True)
    '''), namespace)
    try:
        assert _CHECKS["inprocess.sum.zero"].spec is spec
    finally:
        _CHECKS.pop("inprocess.sum.zero", None)
    namespace["CLAIMS"] = [CATALOGUE[0]]
    with pytest.raises(ValueError, match="clashes with the built-in claim"):
        exec(f"check({CATALOGUE[0].id!r})", namespace)
    with pytest.raises(KeyError, match="nor in the CLAIMS"):
        exec("check('inprocess.sum.absent')", namespace)


def test_paper_option_rejects_an_unknown_prefix_naming_the_known_ones(capsys):
    from verify import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["list", "--paper", "nosuchpaper"])
    assert exit_info.value.code == 2
    assert "unknown paper 'nosuchpaper'; choose from cfgd, bfgs, mathl2o" in capsys.readouterr().err
