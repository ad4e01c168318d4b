"""Runs on a Dask cluster (verify.cluster): ``--jobs N`` on an embedded LocalCluster, ``--scheduler`` on a running
one; a worker killed mid-claim loses nothing finished and the claim completes on another worker; a claim that kills
every worker it runs on is recorded as an error, and ``--resume`` runs only it again."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_claims import IDS  # tests/verify/fake_claims.py
from polling import wait_for  # tests/verify/polling.py

from verify import runner
from verify.results import JSON, read_records

#: A run whose fake checks live in this script: LocalCluster's worker processes are spawned and import it as
#: __mp_main__, so its replacement of runner.load_checks reaches them.
SCRIPT = textwrap.dedent("""
    import os, sys, time
    from verify import runner
    from verify.catalogue import BY_ID
    from verify.registry import Claim, Evidence
    ids = {ids!r}
    def make(i):
        def fn(ctx):
            if i == ids[1]:
                {victim}
            return Evidence(holds=None if BY_ID[i].expect == "measure" else True, numbers={{"pid": os.getpid()}})
        return fn
    runner.load_checks = lambda: {{i: Claim(BY_ID[i], make(i)) for i in ids}}
    if __name__ == "__main__":
        document = runner.run(runner.RunConfig(patterns=ids, out={out!r}, device="cpu", jobs=2,
                                               resume=bool(os.environ.get("RESUME"))))
        print([(r["id"], r["verdict"], r.get("error", "")) for r in document["claims"]])
""")

#: The first attempt writes its worker's pid and waits to be killed; the retry on another worker finishes.
WAITS_TO_BE_KILLED = ("if not os.path.exists({pid_file!r}):\n"
                      "                    open({pid_file!r}, 'w').write(str(os.getpid()))\n"
                      "                    time.sleep(600)")
ALWAYS_DIES = "if not os.environ.get('RESUME'): os._exit(9)  # as if killed for memory, on every worker"


def _script(tmp_path, victim: str) -> tuple:
    out, script = tmp_path / "out", tmp_path / "run.py"
    script.write_text(SCRIPT.format(ids=IDS, out=str(out), victim=victim.format(pid_file=str(tmp_path / "pid"))))
    return out, script


def test_a_worker_killed_mid_claim_loses_nothing_finished_and_the_claim_completes_on_another(tmp_path):
    out, script = _script(tmp_path, WAITS_TO_BE_KILLED)
    pid_file = tmp_path / "pid"
    run = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert wait_for(pid_file.exists, 120), "the claim never started"
        assert wait_for(lambda: len(read_records(out)) == 2, 120), "the other claims did not finish"
        finished_before = {r["id"]: r for r in read_records(out)}
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        assert run.wait(180) == 0
    finally:
        run.kill()
    records = {r["id"]: r for r in read_records(out)}
    assert sorted(records) == sorted(IDS) and len(read_records(out)) == len(IDS)  # each claim recorded once
    assert all(records[i] == finished_before[i] for i in finished_before)  # nothing finished lost or redone
    killed = records[IDS[1]]
    assert killed["verdict"] in ("verified", "measured")
    assert killed["evidence"]["numbers"]["pid"] != int(pid_file.read_text())  # completed on another worker
    assert json.loads((out / JSON).read_text())["run"]["complete"] is True


def test_a_claim_that_kills_every_worker_is_an_error_and_resume_runs_only_it_again(tmp_path):
    out, script = _script(tmp_path, ALWAYS_DIES)
    died = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert died.returncode == 0, died.stderr
    records = {r["id"]: r for r in read_records(out)}
    assert sorted(records) == sorted(IDS)
    assert records[IDS[1]]["verdict"] == "error" and "died 3 times" in records[IDS[1]]["error"]
    assert "--resume" in records[IDS[1]]["error"]
    assert all(records[i]["verdict"] != "error" for i in IDS if i != IDS[1])
    resumed = subprocess.run([sys.executable, str(script)], env={**os.environ, "RESUME": "1"}, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads((out / JSON).read_text())
    assert document["run"]["resumed"] == sorted(i for i in IDS if i != IDS[1])
    assert [r["verdict"] != "error" for r in document["claims"]] == [True] * len(IDS)


CHEAP_REAL_CLAIMS = ["cfgd.caputo.identity-normaliser", "bfgs.cwss.sufficient-decrease", "mathl2o.init.equals-gd"]


def _dask(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)


def test_a_run_on_a_running_cluster_gives_the_numbers_of_a_serial_run(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = _dask("scheduler", "--scheduler-file", str(scheduler_file), "--port", "0", "--no-dashboard")
    workers = []
    try:
        assert wait_for(scheduler_file.exists, 60), "the scheduler did not start"
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [_dask("worker", address, "--nthreads", "1", "--no-dashboard", "--memory-limit", "0")
                   for _ in range(2)]
        runs = {}
        for name, extra in (("cluster", ["--scheduler", address]), ("serial", [])):
            result = subprocess.run([sys.executable, "-m", "verify", "run", *CHEAP_REAL_CLAIMS, "--device", "cpu",
                                     "--out", str(tmp_path / name), *extra], capture_output=True, text=True,
                                    timeout=300)
            assert result.returncode == 0, result.stderr
            runs[name] = json.loads((tmp_path / name / JSON).read_text())
    finally:
        for process in workers + [scheduler]:
            process.terminate()
        for process in workers + [scheduler]:
            process.wait(30)
    assert runs["cluster"]["run"]["scheduler"] == address

    def numbers(document):
        return {r["id"]: (r["verdict"], r.get("evidence"), r.get("counterexample")) for r in document["claims"]}

    assert numbers(runs["cluster"]) == numbers(runs["serial"])


def test_an_unreachable_scheduler_is_a_usage_error_naming_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "verify", "run", "cfgd.caputo.power-rule", "--out", str(tmp_path),
                             "--scheduler", "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "tcp://127.0.0.1:9" in result.stderr


@pytest.mark.parametrize("scheduler", ["", "  ", 8786])
def test_a_blank_or_non_string_scheduler_is_rejected_by_name(scheduler):
    with pytest.raises(ValueError, match="scheduler"):
        runner.RunConfig(scheduler=scheduler)


def test_the_slurm_recipe_submits_single_threaded_workers_in_this_environment(tmp_path):
    pytest.importorskip("dask_jobqueue")
    script = Path(__file__).resolve().parents[2] / "examples" / "slurm" / "run_on_slurm.py"
    result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "out"), "--print-job-script",
                             "--account", "proj", "--queue", "cpu", "--prologue", "module load python"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "#SBATCH -A proj" in result.stdout and "#SBATCH -p cpu" in result.stdout
    assert "module load python" in result.stdout and "--nthreads 1" in result.stdout
    assert f"{sys.executable} -m distributed.cli.dask_worker" in result.stdout


def test_a_worker_with_other_code_refuses_the_claim():
    from verify.cluster import claim_task
    from verify.registry import Context

    with pytest.raises(RuntimeError, match="same checkout"):
        claim_task("cfgd.caputo.power-rule", Context(claim_id="cfgd.caputo.power-rule"), "/nonexistent", 1,
                   "/nonexistent", "unused-queue", code="0123456789ab")


#: One fake claim that spreads 8 pieces of work (each returns its item squared and the pid that computed it).
SPREAD_SCRIPT = textwrap.dedent("""
    import os, time
    from verify import runner
    from verify.catalogue import BY_ID
    from verify.cluster import spread
    from verify.registry import Claim, Evidence
    claim = {claim!r}
    def piece(item):
        time.sleep(0.3)
        return item * item, os.getpid()
    def check(ctx):
        done = spread(piece, list(range(8)))
        return Evidence(holds=True, numbers={{"squares": [s for s, _ in done], "pids": sorted({{p for _, p in done}}),
                                             "claim_pid": os.getpid()}})
    runner.load_checks = lambda: {{claim: Claim(BY_ID[claim], check)}}
    if __name__ == "__main__":
        runner.run(runner.RunConfig(patterns=[claim], out={out!r}, device="cpu", jobs={jobs}))
""")


@pytest.mark.parametrize("jobs", [2, 1])
def test_a_claim_spreads_its_pieces_over_every_worker_with_the_results_in_order(tmp_path, jobs):
    script = tmp_path / "run.py"
    script.write_text(SPREAD_SCRIPT.format(claim=IDS[0], out=str(tmp_path / "out"), jobs=jobs))
    subprocess.run([sys.executable, str(script)], check=True, timeout=300, capture_output=True)
    (record,) = read_records(tmp_path / "out")
    numbers = record["evidence"]["numbers"]
    assert record["verdict"] == "verified" and numbers["squares"] == [i * i for i in range(8)]
    if jobs == 2:  # the claim waits off its worker's thread: both workers compute pieces
        assert len(numbers["pids"]) == 2
    else:  # one process: the pieces run in it, one after the other
        assert numbers["pids"] == [numbers["claim_pid"]]


#: Two fake claims that spread the same 4 keyed pieces; each piece appends its item to a log when it runs.
SHARED_SCRIPT = textwrap.dedent("""
    import os, time
    from verify import runner
    from verify.catalogue import BY_ID
    from verify.cluster import spread
    from verify.registry import Claim, Evidence
    claims, log = {claims!r}, {log!r}
    def piece(item):
        time.sleep(2)  # long enough that both claims ask before the first piece ends
        with open(log, "a") as handle:
            handle.write(f"{{item}}\\n")
        return item
    def check(ctx):
        done = spread(piece, [0, 1, 2, 3], keys=[f"shared-piece-{{i}}" for i in range(4)])
        return Evidence(holds=True, numbers={{"done": done}})
    runner.load_checks = lambda: {{claim: Claim(BY_ID[claim], check) for claim in claims}}
    if __name__ == "__main__":
        runner.run(runner.RunConfig(patterns=claims, out={out!r}, device="cpu", jobs=2))
""")


def test_keyed_pieces_that_two_claims_ask_for_at_once_run_once(tmp_path):
    script, log = tmp_path / "run.py", tmp_path / "pieces.log"
    script.write_text(SHARED_SCRIPT.format(claims=IDS[:2], log=str(log), out=str(tmp_path / "out")))
    subprocess.run([sys.executable, str(script)], check=True, timeout=300, capture_output=True)
    records = read_records(tmp_path / "out")
    assert [r["evidence"]["numbers"]["done"] for r in records] == [[0, 1, 2, 3]] * 2
    assert sorted(log.read_text().split()) == ["0", "1", "2", "3"]
