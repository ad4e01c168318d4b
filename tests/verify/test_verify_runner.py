"""The runner streams results, survives a hard kill, and resumes without redoing finished claims."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_claims import IDS, fake_checks  # tests/verify/fake_claims.py
from polling import wait_for  # tests/verify/polling.py

from verify import runner
from verify.catalogue import BY_ID, CATALOGUE
from verify.registry import Claim, Evidence
from verify.results import JSON, JSONL, REPORT, load_document, read_records


def test_run_writes_jsonl_json_and_report(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks(calls))
    document = runner.run(runner.RunConfig(patterns=["cfgd.caputo.*", "cfgd.gj.spectral-convergence"],
                                           out=tmp_path, device="cpu"))
    assert calls == IDS
    assert [r["id"] for r in read_records(tmp_path)] == IDS
    assert load_document(tmp_path)["run"]["complete"] is True
    assert document["summary"]["contradicting"] == [] and document["summary"]["matching"] == 3
    assert "cfgd.caputo.power-rule" in (tmp_path / REPORT).read_text()


def test_unimplemented_claims_are_listed_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "load_checks", lambda: {})
    document = runner.run(runner.RunConfig(patterns=["bfgs.*"], out=tmp_path, device="cpu"))
    assert {r["verdict"] for r in document["claims"]} == {"not-implemented"}


def test_resume_skips_finished_claims(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks(calls))
    runner.run(runner.RunConfig(patterns=IDS[:2], out=tmp_path, device="cpu"))
    calls.clear()
    document = runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu", resume=True))
    assert calls == IDS[2:]
    assert [r["id"] for r in document["claims"]] == IDS


def test_resume_runs_again_a_claim_whose_check_ended_in_an_error(tmp_path, monkeypatch):
    calls, broken = [], {IDS[1]}

    def checks():
        claims = fake_checks(calls)
        for claim_id in broken:
            claims[claim_id] = Claim(BY_ID[claim_id], lambda ctx: 1 / 0)
        return claims

    monkeypatch.setattr(runner, "load_checks", checks)
    first = runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))
    assert [r["verdict"] for r in first["claims"]][1] == "error"
    broken.clear()
    calls.clear()
    resumed = runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu", resume=True))
    assert calls == [IDS[1]] and resumed["claims"][1]["verdict"] == "verified"
    assert [r["id"] for r in resumed["claims"]] == IDS


def test_resume_runs_a_gpu_claim_skipped_on_the_cpu_when_it_can_run_now(tmp_path, monkeypatch):
    gpu_id = next(spec.id for spec in CATALOGUE if spec.gpu)
    calls = []
    monkeypatch.setattr(runner, "load_checks", lambda: {**fake_checks(calls), gpu_id: Claim(
        BY_ID[gpu_id], lambda ctx: calls.append(gpu_id) or Evidence(holds=True))})
    first = runner.run(runner.RunConfig(patterns=[IDS[0], gpu_id], out=tmp_path, device="cpu"))
    assert calls == [IDS[0]] and first["claims"][1]["verdict"] == "skipped"
    calls.clear()
    resumed = runner.run(runner.RunConfig(patterns=[IDS[0], gpu_id], out=tmp_path, device="cpu", resume=True,
                                          gpu_claims_on_cpu=True))
    assert calls == [gpu_id] and [r["verdict"] for r in resumed["claims"]] == ["verified", "verified"]


def test_update_runs_the_selected_claims_again_and_keeps_the_other_recorded_ones(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks(calls))
    first = runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))
    calls.clear()
    updated = runner.run(runner.RunConfig(patterns=[IDS[1]], out=tmp_path, device="cpu", update=True))
    assert calls == [IDS[1]]
    assert [r["id"] for r in updated["claims"]] == IDS and updated["run"]["kept"] == sorted([IDS[0], IDS[2]])
    assert updated["claims"][0] == first["claims"][0] and updated["claims"][1]["code"]
    assert [r["id"] for r in read_records(tmp_path)] == IDS + [IDS[1]]


def test_update_and_resume_together_are_refused():
    with pytest.raises(ValueError, match="update and resume exclude each other"):
        runner.RunConfig(update=True, resume=True)


def test_resume_ignores_records_of_another_seed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks(calls))
    runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu", seed=1))
    calls.clear()
    runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu", seed=2, resume=True))
    assert calls == IDS


@pytest.mark.parametrize("patterns, paper, message", [(["nope.*"], None, "no claim ID"), ([], "lasso", "paper")])
def test_select_rejects_typos(patterns, paper, message):
    with pytest.raises(ValueError, match=message):
        runner.select(patterns, paper)


def test_cuda_request_without_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="CUDA"):
        runner.resolve_device("cuda")


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    from verify import runner
    from verify.catalogue import BY_ID, CATALOGUE
    from verify.registry import Claim, Evidence
    ids = {ids!r}
    log = open({log!r}, "a")
    def make(i):
        def fn(ctx):
            log.write(i + "\\n"); log.flush()
            if i == ids[1] and os.environ.get("KILL"):
                os.kill(os.getpid(), signal.SIGKILL)
            return Evidence(holds=None if BY_ID[i].expect == "measure" else True)
        return fn
    runner.load_checks = lambda: {{i: Claim(BY_ID[i], make(i)) for i in ids}}
    runner.run(runner.RunConfig(patterns=ids, out={out!r}, device="cpu", resume=bool(os.environ.get("RESUME"))))
""")


def test_killed_run_keeps_finished_claims_and_resume_completes_without_redoing_them(tmp_path):
    out, log = tmp_path / "out", tmp_path / "calls.log"
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN.format(ids=IDS, log=str(log), out=str(out)))
    killed = subprocess.run([sys.executable, str(script)], env={**os.environ, "KILL": "1"})
    assert killed.returncode == -signal.SIGKILL
    assert [r["id"] for r in read_records(out)] == IDS[:1]
    assert load_document(out)["run"]["complete"] is False  # results.json is valid JSON, marked partial
    resumed = subprocess.run([sys.executable, str(script)], env={**os.environ, "RESUME": "1"})
    assert resumed.returncode == 0
    assert log.read_text().split() == [IDS[0], IDS[1], IDS[1], IDS[2]]
    assert [r["id"] for r in json.loads((out / JSON).read_text())["claims"]] == IDS
    assert (out / JSONL).exists() and (out / REPORT).exists()


def test_checks_can_write_figures_into_their_folder(tmp_path, monkeypatch):
    spec = BY_ID["cfgd.caputo.power-rule"]

    def plotting_check(ctx):
        path = Path(ctx.figure_dir) / "plot.png"
        path.write_bytes(b"png")
        return Evidence(holds=True, figures=[str(path)])

    monkeypatch.setattr(runner, "load_checks", lambda: {spec.id: Claim(spec, plotting_check)})
    document = runner.run(runner.RunConfig(patterns=[spec.id, "cfgd.caputo.identity-normaliser"], out=tmp_path,
                                           device="cpu"))
    assert document["claims"][0]["verdict"] == "verified"
    assert document["claims"][0]["figures"] == [f"figures/{spec.id}/plot.png"]
    assert not (tmp_path / "figures" / "cfgd.caputo.identity-normaliser").exists()  # empty folders removed


def test_the_cache_folder_survives_a_resumed_run_and_a_fresh_run_starts_without_it(tmp_path, monkeypatch):
    spec = BY_ID["cfgd.caputo.power-rule"]
    seen = []

    def caching_check(ctx):
        seen.append(sorted(os.listdir(ctx.cache_dir)) if os.path.isdir(ctx.cache_dir) else [])
        os.makedirs(ctx.cache_dir, exist_ok=True)
        Path(ctx.cache_dir, "state.pt").write_bytes(b"state")
        return Evidence(holds=True)

    monkeypatch.setattr(runner, "load_checks", lambda: {spec.id: Claim(spec, caching_check)})
    runner.run(runner.RunConfig(patterns=[spec.id], out=tmp_path, device="cpu"))
    (tmp_path / JSONL).unlink()                       # as if interrupted before the claim was recorded
    runner.run(runner.RunConfig(patterns=[spec.id], out=tmp_path, device="cpu", resume=True))
    runner.run(runner.RunConfig(patterns=[spec.id], out=tmp_path, device="cpu"))
    assert seen == [[], ["state.pt"], []]


def test_a_second_run_on_the_same_output_folder_is_refused_while_the_first_holds_it(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks([]))
    with runner.exclusive_output(tmp_path):
        with pytest.raises(ValueError, match="another verify run is writing to"):
            runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))
    assert runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))["run"]["complete"] is True


@pytest.mark.parametrize("jobs", [0, -2, 1.5, True])
def test_jobs_must_be_a_positive_integer(jobs):
    with pytest.raises(ValueError, match="jobs"):
        runner.RunConfig(jobs=jobs)


CHEAP_REAL_CLAIMS = ["cfgd.caputo.power-rule", "cfgd.caputo.identity-normaliser", "bfgs.cwss.sufficient-decrease",
                     "mathl2o.init.equals-gd"]


def test_a_parallel_run_records_every_claim_once_with_the_verdicts_of_a_sequential_run(tmp_path):
    sequential = runner.run(runner.RunConfig(patterns=CHEAP_REAL_CLAIMS, out=tmp_path / "one", device="cpu"))
    parallel = runner.run(runner.RunConfig(patterns=CHEAP_REAL_CLAIMS, out=tmp_path / "two", device="cpu", jobs=2))
    assert [r["id"] for r in parallel["claims"]] == CHEAP_REAL_CLAIMS        # the report keeps catalogue order
    assert sorted(r["id"] for r in read_records(tmp_path / "two")) == sorted(CHEAP_REAL_CLAIMS)
    assert [r["verdict"] for r in parallel["claims"]] == [r["verdict"] for r in sequential["claims"]]
    assert all(r["matches"] for r in parallel["claims"]) and parallel["run"]["jobs"] == 2


KILLED_PARALLEL_RUN = textwrap.dedent("""
    import os, sys, time
    from verify import runner
    from verify.catalogue import BY_ID, CATALOGUE
    from verify.registry import Claim, Evidence
    ids = {ids!r}
    def make(i):
        def fn(ctx):
            if i == ids[1] and not os.environ.get("RESUME"):
                open({pid_file!r}, "w").write(str(os.getpid()))
                time.sleep(600)
            return Evidence(holds=None if BY_ID[i].expect == "measure" else True)
        return fn
    runner.load_checks = lambda: {{i: Claim(BY_ID[i], make(i)) for i in ids}}  # also in the spawned workers
    if __name__ == "__main__":
        runner.run(runner.RunConfig(patterns=ids, out={out!r}, device="cpu", jobs=2,
                                    resume=bool(os.environ.get("RESUME"))))
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_killing_a_parallel_run_stops_its_workers_keeps_finished_claims_and_resume_runs_only_the_rest(tmp_path):
    out, pid_file, script = tmp_path / "out", tmp_path / "worker.pid", tmp_path / "run.py"
    script.write_text(KILLED_PARALLEL_RUN.format(ids=IDS, out=str(out), pid_file=str(pid_file)))
    main = subprocess.Popen([sys.executable, str(script)])
    try:
        assert wait_for(lambda: pid_file.exists() and len(read_records(out)) == 2, 180), "run did not progress"
        worker = int(pid_file.read_text())
        main.send_signal(signal.SIGKILL)
        main.wait(30)
        assert wait_for(lambda: not _alive(worker), 30), "the worker outlived the killed run"
    finally:
        main.kill()
    assert sorted(r["id"] for r in read_records(out)) == sorted([IDS[0], IDS[2]])
    resumed = subprocess.run([sys.executable, str(script)], env={**os.environ, "RESUME": "1"}, timeout=300)
    assert resumed.returncode == 0
    document = json.loads((out / JSON).read_text())
    assert [r["id"] for r in document["claims"]] == IDS and document["run"]["resumed"] == sorted([IDS[0], IDS[2]])


def test_every_record_and_the_report_name_the_code_they_were_computed_with(tmp_path, monkeypatch):
    import re

    monkeypatch.setattr(runner, "load_checks", lambda: fake_checks([]))
    document = runner.run(runner.RunConfig(patterns=IDS, out=tmp_path, device="cpu"))
    code = document["run"]["environment"]["code"]
    assert code is None or re.fullmatch(r"[0-9a-f]{12}(\+modified)?", code)
    assert [r["code"] for r in read_records(tmp_path)] == [code] * len(IDS)
    assert f"- code: {code or 'unknown'}" in (tmp_path / REPORT).read_text()
