"""Claims as tasks of a Dask distributed cluster: an embedded LocalCluster (``verify run --jobs N``) or a running
one (``verify run --scheduler ADDRESS``, e.g. started by dask-jobqueue on SLURM).

Each claim is one task; the client (the ``verify run`` process) alone writes results, in the order the tasks finish,
so interruption and ``--resume`` keep their guarantees whatever runs the claims. A task sets the run's thread budget
and Hypothesis folder around its claim, so a worker started with one thread computes exactly as the serial path
does: the same seed gives the same numbers whatever ``--jobs`` is. A worker that dies mid-claim (killed, out of
memory) loses only that attempt: the scheduler runs the claim again on another worker, up to ``RETRIES`` times,
after which the claim is recorded as an error (``--resume`` runs it again). The workers write figures and the
shared cache (training checkpoints, studies) under the output folder, which must therefore be on a filesystem they
all see. Claim starts and loop progress reach the run's display through a distributed Queue.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from verify.catalogue import ClaimSpec
from verify.registry import Context

#: Times a claim is tried again after its worker died (distributed.scheduler.allowed-failures).
RETRIES = 2
#: Seconds to wait for a running scheduler to answer (``--scheduler``).
CONNECT_TIMEOUT_S = 30
#: Seconds between looks at the finished tasks and the progress queue.
POLL_S = 0.2


@contextmanager
def client_for(jobs: int, scheduler: str | None = None) -> Iterator:
    """A distributed Client: connected to ``scheduler`` (an address such as tcp://host:8786) when given, else to
    an embedded LocalCluster of ``jobs`` single-threaded worker processes (no memory limit, no dashboard)."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}):
        if scheduler:
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:
                raise ValueError(f"scheduler {scheduler!r} did not answer within {CONNECT_TIMEOUT_S} s ({exc}); "
                                 "give the address a running dask scheduler prints (tcp://HOST:PORT)") from None
            with client:
                yield client
            return
        with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                          memory_limit=0, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client


def claim_task(claim_id: str, ctx: Context, out: str, threads: int, hypothesis_dir: str, events: str,
               code: str | None) -> dict:
    """The record of one claim, computed on a worker with ``threads`` torch/BLAS threads and Hypothesis's files
    under ``hypothesis_dir``; its start and loop progress go to the distributed Queue named ``events``. A worker
    whose checkout is not ``code`` (verify.results.code_version of the run) refuses the claim: its numbers would
    be another code's."""
    from distributed import Queue
    from hypothesis.errors import HypothesisDeprecationWarning

    from implementations.progress import listening
    from verify import runner
    from verify.catalogue import BY_ID
    from verify.results import code_version

    if code_version() != code:
        raise RuntimeError(f"this worker runs code {code_version()}, the run {code}: install the same checkout on "
                           "every worker")

    # The worker's own threads (heartbeats, comm back-off) draw from the global `random` module while hypothesis
    # draws an example; hypothesis takes that for a strategy using `random` and warns. Its draws do not use it.
    warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies",
                            category=HypothesisDeprecationWarning)
    progress = Queue(events)
    progress.put(["started", claim_id])
    checks = runner.load_checks()  # also adds the entry-point claims' specs to BY_ID in this worker
    with runner.thread_budget(threads), runner.hypothesis_home(Path(hypothesis_dir)):
        with listening(runner.throttled(lambda *event: progress.put(["progress", *event]), claim_id)):
            return runner.execute(BY_ID[claim_id], ctx, Path(out), checks)


def spread(function: Callable[[Any], Any], items: list, label: str = "tasks", keys: list[str] | None = None) -> list:
    """[function(item) for item in items]: as tasks of the run's Dask cluster when the calling check runs on one of
    its workers (``verify run --jobs N`` or ``--scheduler``), so that a claim's independent pieces of work (its
    trainings) keep every worker busy; else one after the other in this process. Each task computes with this
    process's torch thread count, so for a ``function`` whose result depends on its item only (a module-level
    function, which the workers import) the results are the same either way. ``label``: the progress line.
    ``keys``: one task name per item, for pieces that several claims need (e.g. a model they all read): a claim
    asking for a key that another has already asked for waits for that task instead of computing it again, so
    the keys must name everything the piece depends on, the run's cache folder included."""
    from implementations.progress import track

    progress = track(label, len(items))
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):  # not on a worker: here, in order
        results = []
        for item in items:
            results.append(function(item))
            progress.advance()
        return results
    import torch
    from distributed import as_completed, worker_client

    with worker_client() as client:  # the waiting claim leaves its worker's thread to the tasks meanwhile
        # pieces go before the claims still queued, so that a waiting claim is not overtaken by a new one
        futures = client.map(_with_threads, [function] * len(items), items, threads=torch.get_num_threads(),
                             pure=False, priority=1, **({} if keys is None else {"key": list(keys)}))
        for _ in as_completed(futures):
            progress.advance()
        return client.gather(futures)


def _with_threads(function: Callable[[Any], Any], item, threads: int):
    from verify.runner import thread_budget

    with thread_budget(threads):
        return function(item)


def worker_code(client) -> dict[str, str | None]:
    """Worker address → the code identity (git commit and local changes) its verify package reports, for the
    workers connected now (workers that join later are checked by each task)."""
    from verify.results import code_version

    return client.run(code_version)


def error_record(spec: ClaimSpec, ctx: Context, error: BaseException) -> dict:
    """The record of a claim whose task failed outside its check (every attempt lost its worker, or the task could
    not be run): an error, which ``--resume`` runs again."""
    from distributed.scheduler import KilledWorker

    from verify.registry import matches, record_header

    if isinstance(error, KilledWorker):
        message = (f"the worker running this claim died {RETRIES + 1} times (killed, or out of memory); re-run with "
                   "--resume")
    else:
        message = f"its task failed on the cluster: {error}"
    return {**record_header(spec, ctx), "verdict": "error", "matches": matches(spec, "error"), "duration_s": 0.0,
            "error": f"{type(error).__name__}: {message}",
            "traceback": "".join(traceback.format_exception_only(type(error), error))}


def run_claims(todo: list[ClaimSpec], contexts: dict[str, Context], out: Path, threads: int, jobs: int,
               scheduler: str | None, display) -> Iterator[tuple[ClaimSpec, dict]]:
    """(spec, record) of each claim as its task finishes on the cluster (see the module docstring); ``contexts``:
    claim ID → its Context; ``display`` is told of claim starts and loop progress (relayed before each record)."""
    from distributed import Queue, as_completed

    from verify.results import code_version
    from verify.runner import CACHE

    with client_for(jobs, scheduler) as client:
        ours = code_version()
        others = {address: code for address, code in worker_code(client).items() if code != ours}
        if others:
            raise ValueError(f"the cluster's workers run other code than this verify ({ours}): "
                             + ", ".join(f"{a}: {c}" for a, c in others.items())
                             + "; install the same checkout on every worker")
        events = f"verify-events-{uuid.uuid4().hex}"
        progress = Queue(events, client=client)
        started = [0]

        def relay() -> None:
            for event in progress.get(batch=True):
                if event[0] == "started":
                    started[0] += 1
                    display.claim_started(event[1], started[0], len(todo))
                else:
                    display.claim_progress(*event[1:])

        hypothesis_dir = str(out / CACHE / "hypothesis")
        futures = {client.submit(claim_task, spec.id, contexts[spec.id], str(out), threads, hypothesis_dir, events,
                                 ours, key=f"claim-{spec.id}-{events}", pure=False): spec for spec in todo}
        finished = as_completed(futures)
        try:
            while not finished.is_empty():
                relay()
                for future in finished.next_batch(block=False) if finished.has_ready() else []:
                    spec = futures[future]
                    try:
                        record = future.result()
                    except Exception as exc:  # the task, not the check, failed: recorded, and the run goes on
                        record = error_record(spec, contexts[spec.id], exc)
                    relay()
                    yield spec, record
                time.sleep(POLL_S)
        finally:
            client.cancel(list(futures))
