"""The reports a researcher reads: scorecards first, no raw arrays, the HTML file self-contained and rendered by
a real browser, results.json checked against its schema, and `verify report --compare` between two runs."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from verify import cli, runner
from verify.catalogue import BY_ID
from verify.compare import compare
from verify.registry import Claim, Evidence
from verify.results import HTML, JSON, REPORT, schema_errors, write_document

ROOT = Path(__file__).resolve().parents[2]
IDS = ["cfgd.caputo.power-rule", "cfgd.gj.spectral-convergence", "bfgs.cwss.interval-not-sufficient"]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4a80000000049454e44ae426082")


def checks(verdicts):
    """Fake checks: cfgd.gj.spectral-convergence records a 37-value array and a figure."""
    def make(claim_id):
        def fn(ctx):
            figures = []
            if claim_id == IDS[1]:
                path = Path(ctx.figure_dir) / "rate.png"
                path.write_bytes(PNG)
                figures.append(str(path))
            holds = verdicts.get(claim_id, None if BY_ID[claim_id].expect == "measure" else
                                 BY_ID[claim_id].expect == "holds")
            return Evidence(holds=holds, numbers={"scan": [0.5 + i for i in range(37)], "ratio": 1.25},
                            counterexample=None if holds is not False else {"p": [1.0, 1.75]}, figures=figures,
                            tables={"rows": [{"k": i, "v": i * i} for i in range(30)]})
        return fn
    return {i: Claim(BY_ID[i], make(i)) for i in IDS}


@pytest.fixture
def run_folder(tmp_path, monkeypatch):
    def run(name, verdicts=None):
        monkeypatch.setattr(runner, "load_checks", lambda: checks(verdicts or {}))
        out = tmp_path / name
        runner.run(runner.RunConfig(patterns=IDS, out=out, device="cpu"))
        return out
    return run


def test_the_markdown_report_starts_with_scorecards_and_shows_no_raw_arrays(run_folder):
    text = (run_folder("a") / REPORT).read_text()
    assert text.index("## Scorecards") < text.index("## Claims") < text.index("## cfgd")
    assert "37 values in [0.5, 36.5], first 0.5, 1.5, 2.5" in text and "20.5, 21.5" not in text
    assert "10 more rows in results.json" in text
    assert "[`verify/claims/cfgd/caputo_power_rule.py:" in text
    assert "tests/test_claims.py::test_claim_verdict_matches_expectation" in text


def test_a_documented_finding_and_an_unexpected_verdict_read_differently(tmp_path, monkeypatch):
    import dataclasses

    from verify import registry
    from verify.report import render_report

    spec = dataclasses.replace(BY_ID[IDS[0]], finding="found false on purpose, with 1.21× the baseline")
    monkeypatch.setitem(registry.BY_ID, spec.id, spec)
    monkeypatch.setattr(runner, "CATALOGUE", tuple(spec if s.id == spec.id else s for s in runner.CATALOGUE))
    fake = checks({IDS[0]: False, IDS[2]: True})            # IDS[2] expects "fails": verified is unexpected
    fake[IDS[0]] = Claim(spec, fake[IDS[0]].fn)
    monkeypatch.setattr(runner, "load_checks", lambda: fake)
    document = runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))
    text = render_report(document)
    assert "documented finding (contradicts the paper)" in text and "**UNEXPECTED**" in text
    assert "found false on purpose, with 1.21× the baseline" in text.split("## Claims")[0]   # on the scorecard


def test_the_html_report_is_one_self_contained_file_with_embedded_figures(run_folder):
    html = (run_folder("a") / HTML).read_text()
    assert 'id="scorecard-cfgd"' in html and 'id="scorecard-bfgs"' in html
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    assert not re.search(r'(src|href)="(https?:)?//', html)          # nothing fetched from a network
    assert 'data-images="1"' in html and "37 values in [0.5, 36.5]" in html


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


@pytest.mark.skipif(_chromium() is None, reason="no Chromium on this machine (Debian package chromium)")
def test_a_headless_browser_renders_the_html_report_with_every_image_loaded(run_folder, tmp_path):
    from matplotlib.image import imread

    out = run_folder("a")
    url = (out / HTML).resolve().as_uri()
    browser = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--virtual-time-budget=5000", "--dump-dom", url], capture_output=True,
                         text=True, timeout=120).stdout
    assert 'data-images-loaded="1"' in dom and 'id="scorecard-cfgd"' in dom
    shot = tmp_path / "report.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1280,1600", url], capture_output=True,
                   timeout=120)
    pixels = imread(shot)
    assert pixels.shape[0] >= 1000 and pixels[..., :3].std() > 0.05      # rendered, not a blank page


def test_every_results_document_a_run_writes_conforms_to_the_schema(run_folder):
    document = json.loads((run_folder("a") / JSON).read_text())
    assert schema_errors(document) == []


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("reports/**/results.json")))
def test_the_committed_results_conform_to_the_schema(path):
    assert schema_errors(json.loads((ROOT / path).read_text())) == []


def test_a_document_that_breaks_the_schema_is_not_written(tmp_path):
    with pytest.raises(ValueError, match="breaks results.schema.json"):
        write_document(tmp_path, {"schema": "l2o-verify/results/v1", "run": {"complete": True, "budget": "quick"},
                                  "summary": {"verdicts": {}, "matching": 0, "contradicting": [], "unexpected": []},
                                  "claims": [{"id": "x.y", "verdict": "great", "matches": True}]})
    assert not (tmp_path / JSON).exists()


def test_compare_names_the_claim_whose_verdict_changed_and_exits_1(run_folder, capsys):
    old = run_folder("old")
    new = run_folder("new")
    assert cli.main(["report", "--compare", str(old), str(new)]) == 0
    document = json.loads((new / JSON).read_text())
    document["claims"][0]["verdict"] = "refuted"                       # changed by hand
    document["claims"][1]["evidence"]["numbers"]["ratio"] = 1.5
    document["claims"] = document["claims"][:2] + [dict(document["claims"][2], id="cfgd.extra.claim")]
    (new / JSON).write_text(json.dumps(document))
    capsys.readouterr()
    assert cli.main(["report", "--compare", str(old), str(new / JSON)]) == 1
    text = capsys.readouterr().out
    assert f"{IDS[0]}: verified -> refuted" in text and "cfgd.extra.claim" in text
    assert cli.main(["report", "--compare", str(old), str(new), "--format", "json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in result["verdict_changes"]] == [IDS[0]]
    assert result["added"] == ["cfgd.extra.claim"] and result["removed"] == [IDS[2]]
    assert {(m["id"], m["path"]) for m in result["moved"]} == {(IDS[1], "evidence.numbers.ratio")}
    assert cli.main(["report", "--compare", str(old), str(new), "--format", "markdown"]) == 1
    assert "## Verdicts changed (1)" in capsys.readouterr().out


def test_compare_ignores_timings_and_small_round_off_and_rejects_a_bad_tolerance(run_folder):
    old = json.loads((run_folder("old") / JSON).read_text())
    new = json.loads(json.dumps(old))
    new["claims"][0]["duration_s"] = 99.0
    new["claims"][0]["evidence"]["numbers"]["ratio"] = 1.25 * (1 + 1e-9)
    assert compare(old, new)["moved"] == [] and compare(old, new, rtol=0)["moved"]
    with pytest.raises(ValueError, match="rtol"):
        compare(old, new, rtol=-1)


def test_compare_of_something_that_is_not_a_run_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["report", "--compare", str(tmp_path / "nowhere"), str(tmp_path)]) == 2
    assert "neither an output folder nor a results.json" in capsys.readouterr().err
