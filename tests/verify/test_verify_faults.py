"""Faults a run meets on a shared machine: a torn results line, a full disk, an unwritable or wrong output
folder, a corrupted results.json, SIGTERM, a folder that is not an output folder; and the file modes and
working-directory writes of a run."""

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fake_claims import IDS, fake_checks  # tests/verify/fake_claims.py

from verify import cli, runner
from verify.results import JSON, JSONL, REPORT, TORN, append_record, load_document, read_records

ROOT = Path(__file__).resolve().parents[2]



def test_a_record_appended_after_a_torn_line_starts_on_a_fresh_line_and_the_torn_text_is_set_aside(tmp_path):
    append_record(tmp_path, {"id": "a", "verdict": "verified"})
    with open(tmp_path / JSONL, "a") as handle:
        handle.write('{"id": "b", "verd')                      # killed mid-write
    append_record(tmp_path, {"id": "c", "verdict": "verified"})
    assert [r["id"] for r in read_records(tmp_path)] == ["a", "c"]
    assert (tmp_path / JSONL).read_text().splitlines() == [json.dumps({"id": k, "verdict": "verified"}) for k in "ac"]
    assert '{"id": "b", "verd' in (tmp_path / TORN).read_text()


def test_an_unterminated_complete_last_record_is_kept(tmp_path):
    (tmp_path / JSONL).write_text(json.dumps({"id": "a", "verdict": "verified"}))
    append_record(tmp_path, {"id": "b", "verdict": "verified"})
    assert [r["id"] for r in read_records(tmp_path)] == ["a", "b"] and not (tmp_path / TORN).exists()


def test_resume_after_a_torn_line_runs_the_torn_claim_once_and_keeps_every_finished_one(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks(calls))
    runner.run(runner.RunConfig(patterns=IDS[:2], out=tmp_path, device="cpu"))
    lines = (tmp_path / JSONL).read_text().splitlines(keepends=True)
    (tmp_path / JSONL).write_text(lines[0] + lines[1][: len(lines[1]) // 2])   # the second record torn
    calls.clear()
    runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu", resume=True))
    assert calls == IDS[1:]
    calls.clear()
    document = runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu", resume=True))
    assert calls == [] and [r["id"] for r in document["claims"]] == IDS
    updated = runner.run(runner.RunConfig(patterns=[IDS[0]], out=tmp_path, device="cpu", update=True))
    assert [r["id"] for r in updated["claims"]] == IDS


def _cli(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def _one_line_without_traceback(result):
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    return lines[-1] if lines else ""


def test_out_pointing_at_a_file_is_a_one_line_usage_error(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    result = _cli("run", IDS[0], "--out", str(target), "--device", "cpu")
    assert result.returncode == 2 and "is a file" in _one_line_without_traceback(result)
    report = _cli("report", "--out", str(target))
    assert report.returncode == 2 and "is a file" in _one_line_without_traceback(report)


def test_a_folder_that_is_not_a_verify_output_folder_is_never_cleared(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "precious.txt").write_text("keep me")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="holds other files and no verify results"):
        runner.run(runner.RunConfig(patterns=[IDS[0]], out=tmp_path, device="cpu"))
    assert (tmp_path / "cache" / "precious.txt").read_text() == "keep me"


def test_a_folder_a_run_wrote_is_accepted_again(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks([]))
    runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))
    (tmp_path / "notes.txt").write_text("the user's own notes beside the results")
    assert runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))["run"]["complete"]


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder this process cannot write into: made immutable (chattr +i) as root, read-only otherwise."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a filesystem without chattr +i: no folder is unwritable")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)])
    else:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield folder
        folder.chmod(stat.S_IRWXU)


def test_an_unwritable_output_folder_is_a_one_line_error_with_exit_status_2(unwritable_folder):
    result = _cli("run", IDS[0], "--out", str(unwritable_folder / "out"), "--device", "cpu")
    assert result.returncode == 2
    line = _one_line_without_traceback(result)
    assert line.startswith("verify run: cannot write") and str(unwritable_folder) in line


FULL_DISK_RUN = textwrap.dedent("""
    import sys
    from verify import cli, runner
    from verify.catalogue import BY_ID
    from verify.registry import Claim, Evidence
    ids = {ids!r}
    runner.load_checks = lambda: {{i: Claim(BY_ID[i], lambda ctx: Evidence(holds=True)) for i in ids}}
    sys.exit(cli.main(["run", *ids, "--out", {out!r}, "--device", "cpu", *sys.argv[1:]]))
""")


def test_a_full_disk_ends_the_run_with_one_line_exit_status_2_and_keeps_what_was_written(tmp_path):
    out, script = tmp_path / "out", tmp_path / "run.py"
    script.write_text(FULL_DISK_RUN.format(ids=IDS[:2], out=str(out)))
    assert subprocess.run([sys.executable, str(script)], capture_output=True, timeout=300).returncode == 0
    before = load_document(out)
    (out / JSONL).unlink()
    (out / JSONL).symlink_to("/dev/full")                      # every append fails with ENOSPC
    result = subprocess.run([sys.executable, str(script), "--resume"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    line = _one_line_without_traceback(result)
    assert "No space left on device" in line and "--resume" in line
    assert load_document(out)["claims"] == before["claims"] or load_document(out)["run"]["complete"] is False


def test_verify_report_on_a_corrupted_results_json_is_a_one_line_error(tmp_path):
    (tmp_path / JSON).write_text('{"schema": "l2o-verify/results/v1", "run": {"budg')
    result = _cli("report", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "is not valid JSON" in _one_line_without_traceback(result)
    (tmp_path / JSON).write_text(json.dumps({"schema": "l2o-verify/results/v1", "run": {}, "claims": [{"x": 1}]}))
    result = _cli("report", "--out", str(tmp_path))
    assert result.returncode == 2 and "breaks the results schema" in _one_line_without_traceback(result)


TERMINATED_RUN = textwrap.dedent("""
    import os, sys, time
    from verify import cli, runner
    from verify.catalogue import BY_ID
    from verify.registry import Claim, Evidence
    ids = {ids!r}
    def make(i):
        def fn(ctx):
            if i == ids[1]:
                open({started!r}, "w").write("started")
                time.sleep(120)
            return Evidence(holds=True)
        return fn
    runner.load_checks = lambda: {{i: Claim(BY_ID[i], make(i)) for i in ids}}
    sys.exit(cli.main(["run", *ids, "--out", {out!r}, "--device", "cpu"]))
""")


def test_sigterm_ends_a_run_like_sigint_with_a_message_the_records_kept_and_exit_status_143(tmp_path):
    out, started, script = tmp_path / "out", tmp_path / "started", tmp_path / "run.py"
    script.write_text(TERMINATED_RUN.format(ids=IDS[:2], out=str(out), started=str(started)))
    process = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143
    assert "Traceback" not in stderr and "interrupted by SIGTERM" in stderr.strip().splitlines()[-1]
    assert [r["id"] for r in read_records(out)] == IDS[:1]
    assert load_document(out)["run"]["complete"] is False


def test_results_and_report_are_written_with_the_mode_the_umask_gives(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks([]))
    previous = os.umask(0o022)
    try:
        runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))
    finally:
        os.umask(previous)
    for name in (JSON, REPORT, JSONL):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_a_run_writes_nothing_into_the_working_directory(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    result = _cli("run", "bfgs.cwss.interval-not-sufficient", "--out", str(out), "--device", "cpu", cwd=work,
                  timeout=600)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(work)) == []


def test_without_out_a_run_writes_into_runs_and_not_into_the_committed_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks([]))
    assert cli.main(["run", *IDS, "--device", "cpu"]) == 0
    assert (tmp_path / "runs" / "quick" / JSON).exists() and not (tmp_path / "reports").exists()
    assert cli.main(["report"]) == 0
