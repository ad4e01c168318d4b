"""What a run shows while it works (claim starts, loop progress with an ETA, a heartbeat, no wrapped lines),
the thread budget every claim computes with, and results that do not depend on --jobs."""

import io
import time

import torch

from implementations.progress import listening, track, tracked
from verify import runner
from verify.catalogue import BY_ID
from verify.display import RunDisplay, format_seconds
from verify.registry import Claim, Evidence

LONG_LABEL = "a loop whose label is long enough to be wrapped at eighty columns by a console that wraps: steps"


def looping_check(ctx):
    for _ in tracked(range(5), LONG_LABEL):
        time.sleep(0.25)                 # above the runner's 0.2 s throttle of loop progress
    time.sleep(0.6)                      # a stretch with no loop progress: the heartbeat must speak
    return Evidence(holds=True)


def test_tracked_loops_report_to_the_listener_and_to_nobody_without_one():
    events = []
    with listening(lambda *event: events.append(event)):
        progress = track("steps", 3)
        progress.advance()
        progress.update(3)
    assert [(label, done, total) for label, done, total, _ in events] == [("steps", 0, 3), ("steps", 1, 3),
                                                                          ("steps", 3, 3)]
    assert list(tracked([1, 2], "silent")) == [1, 2]


def test_plain_display_prints_starts_loop_progress_with_eta_and_a_heartbeat_on_unwrapped_lines(tmp_path, monkeypatch):
    spec = BY_ID["cfgd.caputo.power-rule"]
    monkeypatch.setattr(runner, "load_checks", lambda: {spec.id: Claim(spec, looping_check)})
    stream = io.StringIO()
    with RunDisplay(stream=stream, terminal=False, interval=0.0, heartbeat=0.2) as display:
        runner.run(runner.RunConfig(patterns=[spec.id], out=tmp_path, device="cpu"), display=display)
    lines = stream.getvalue().splitlines()
    assert f"[1/1] {spec.id} started" in lines
    loop_lines = [line for line in lines if LONG_LABEL in line]
    assert any(f"{LONG_LABEL} 2/5, ETA" in line for line in loop_lines), lines
    assert all(len(line) > 100 for line in loop_lines)
    assert any(line.strip().startswith(f"running: {spec.id}") for line in lines), lines
    assert any(line.startswith(f"[1/1] {spec.id}: verified matches") for line in lines)


def test_terminal_display_shows_the_claims_as_they_finish(tmp_path, monkeypatch):
    spec = BY_ID["cfgd.caputo.power-rule"]
    monkeypatch.setattr(runner, "load_checks", lambda: {spec.id: Claim(spec, looping_check)})
    stream = io.StringIO()
    with RunDisplay(stream=stream, terminal=True) as display:
        runner.run(runner.RunConfig(patterns=[spec.id], out=tmp_path, device="cpu"), display=display)
    assert f"[1/1] {spec.id}: verified matches" in stream.getvalue()


class RecordingDisplay:
    def __init__(self):
        self.started, self.progress, self.finished = [], set(), []

    def run_started(self, total, note=""):
        pass

    def claim_started(self, claim_id, index, total):
        self.started.append(claim_id)

    def claim_progress(self, claim_id, label, done, steps, elapsed):
        self.progress.add((claim_id, label))

    def claim_finished(self, index, total, record):
        self.finished.append(record["id"])

    def message(self, text, style=None):
        pass


SEARCHING_CLAIMS = ["bfgs.cwss.interval-not-sufficient", "cfgd.caputo.power-rule", "mathl2o.init.equals-gd"]


def test_a_parallel_run_relays_claim_starts_and_loop_progress_from_its_workers(tmp_path):
    display = RecordingDisplay()
    runner.run(runner.RunConfig(patterns=SEARCHING_CLAIMS, out=tmp_path, device="cpu", jobs=2), display=display)
    assert sorted(display.started) == sorted(SEARCHING_CLAIMS) == sorted(display.finished)
    assert ("bfgs.cwss.interval-not-sufficient", "counterexample search: examples") in display.progress


def test_every_claim_computes_with_the_stated_thread_budget_and_records_it(tmp_path, monkeypatch):
    spec = BY_ID["cfgd.caputo.power-rule"]
    seen = []
    monkeypatch.setattr(runner, "load_checks", lambda: {spec.id: Claim(
        spec, lambda ctx: seen.append(torch.get_num_threads()) or Evidence(holds=True))})
    before = torch.get_num_threads()
    for threads in (1, 2):
        document = runner.run(runner.RunConfig(patterns=[spec.id], out=tmp_path, device="cpu", threads=threads))
        assert document["claims"][0]["environment"]["torch_threads"] == threads
        assert document["run"]["threads"] == threads == document["run"]["environment"]["torch_threads"]
    assert seen == [1, 2] and torch.get_num_threads() == before


CHEAP_REAL_CLAIMS = ["cfgd.caputo.identity-normaliser", "cfgd.na.fixed-point", "bfgs.cwss.sufficient-decrease",
                     "bfgs.cwss.spectral-stability", "mathl2o.init.equals-gd", "mathl2o.gd.sublinear-bound"]


def _numbers(document):
    return {r["id"]: (r["verdict"], r.get("evidence"), r.get("counterexample")) for r in document["claims"]}


def test_the_same_seed_gives_the_same_numbers_whatever_jobs_is(tmp_path):
    """Both runs as a user starts them, each in a fresh `verify run` process: hypothesis mixes constants from the
    local modules loaded in its process into its draws, so an in-process run inside pytest (which has loaded the
    test modules too) draws differently from any `verify run`, serial or not."""
    import subprocess
    import sys

    from verify.results import load_document

    documents = {}
    for name, extra in (("serial", []), ("jobs2", ["--jobs", "2"])):
        subprocess.run([sys.executable, "-m", "verify", "run", *CHEAP_REAL_CLAIMS, "--device", "cpu",
                        "--out", str(tmp_path / name), *extra], check=True, capture_output=True, timeout=600)
        documents[name] = load_document(tmp_path / name)
    assert _numbers(documents["jobs2"]) == _numbers(documents["serial"])


def test_seconds_are_shown_in_readable_units():
    assert [format_seconds(s) for s in (4.4, 184, 3720)] == ["4 s", "3 min 04 s", "1 h 02 min"]
