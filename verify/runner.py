"""Select claims, run them (one by one in this process, or as tasks of a Dask cluster: ``jobs`` at a time on an
embedded LocalCluster, or on a running cluster at ``scheduler``; verify.cluster), stream each record to disk, and
keep the report current.

The run is interrupt-safe: every finished claim is already in results.jsonl, results.json and report.md
(both rewritten atomically after each claim, by the main process only); ``resume=True`` skips the claims that
results.jsonl holds for the same budget, seed and dtype, except those whose check ended in an error or was skipped
(a crashed check or a GPU claim skipped on a CPU is not a result: it runs again); ``update=True`` re-runs the
selected claims and keeps every other claim recorded in the folder for the same budget and seed. Checks keep
long intermediate state (training checkpoints, studies several claims read: verify.cache) under cache/ in the
output folder: a resumed run continues from it, a fresh or updating run deletes it first.
One run at a time writes to an output folder: a second one is refused (the folder's lock file is held), and a
run refuses an output folder that holds other files but no verify results (it would delete its cache/).

Every claim computes with a fixed thread budget (``threads`` torch and BLAS threads, 1 by default, in the
serial path as in each worker), so results do not depend on ``jobs`` and a busy machine is not oversubscribed.
Hypothesis keeps its files under the output folder's cache/, not in the working directory.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import shutil
import sys
import time
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from implementations.progress import listening
from implementations.storage import locked
from verify import external
from verify.catalogue import CATALOGUE, DTYPES, ClaimSpec
from verify.display import SilentDisplay
from verify.html_report import render_html
from verify.interrupts import deferred
from verify.registry import Claim, Context, load_checks, matches, record_header, run_claim
from verify.report import render_report
from verify.results import (
    HTML,
    JSON,
    JSONL,
    REPORT,
    SCHEMA,
    TORN,
    append_record,
    build_document,
    environment,
    read_records,
    repair_torn_tail,
    write_atomic,
    write_document,
)


def resolve_device(name: str) -> str:
    """'auto' → 'cuda' when a CUDA device is present, else 'cpu'; 'cuda' without one is an error."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but torch sees no CUDA device (use --device cpu or auto)")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"device must be cpu, cuda[:N] or auto, got {name!r}")
    return name


def select(patterns: Iterable[str] = (), paper: str | None = None) -> list[ClaimSpec]:
    """Catalogue claims whose ID matches any of ``patterns`` (exact IDs or shell globs) and ``paper``.

    An empty pattern list selects everything; a pattern matching nothing is an error (a typo must not
    silently run zero claims).
    """
    catalogue = CATALOGUE + external.specs()  # the built-in claims and those of the l2o_verify.claims entry points
    papers = external.papers()
    if paper is not None and paper not in papers:
        raise ValueError(f"paper must be one of {sorted(papers)}, got {paper!r}")
    specs = [s for s in catalogue if paper is None or s.paper == paper]
    patterns = list(patterns)
    if not patterns:
        return specs
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(s.id, pattern) for s in catalogue):
            near = difflib.get_close_matches(pattern, [s.id for s in catalogue], n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise ValueError(f"no claim ID matches {pattern!r}{hint} (see `verify list`)")
    return [s for s in specs if any(fnmatch.fnmatchcase(s.id, p) for p in patterns)]


def not_implemented_record(spec: ClaimSpec, ctx: Context) -> dict:
    """The record of a claim without a check."""
    return {**record_header(spec, ctx), "verdict": "not-implemented", "matches": matches(spec, "not-implemented"),
            "duration_s": 0.0}


RUNS = Path("runs")  # default parent of output folders (git-ignored): reports/ changes only by an explicit --out


def default_out(budget: str) -> Path:
    """Where a run writes when no output folder is given: runs/<budget>."""
    return RUNS / budget


@dataclass
class RunConfig:
    """What to run and where. ``threads``: torch (and BLAS) threads of every claim, in the serial path and in
    each of the ``jobs`` worker processes alike. ``scheduler``: the address of a running Dask scheduler whose
    workers run the claims (``jobs`` is then the cluster's business), instead of an embedded LocalCluster."""

    patterns: list[str] = field(default_factory=list)
    paper: str | None = None
    budget: str = "quick"
    device: str = "cpu"
    seed: int = 0
    out: Path = RUNS / "quick"
    resume: bool = False
    jobs: int = 1
    gpu_claims_on_cpu: bool = False
    update: bool = False
    threads: int = 1
    dtype: str = "float64"
    scheduler: str | None = None

    def __post_init__(self) -> None:
        for name in ("jobs", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.scheduler is not None and (not isinstance(self.scheduler, str) or not self.scheduler.strip()):
            raise ValueError(f"scheduler must be a Dask scheduler address such as tcp://HOST:8786, got "
                             f"{self.scheduler!r}")
        if self.update and self.resume:
            raise ValueError("update and resume exclude each other: update re-runs the selected claims, resume "
                             "skips the recorded ones")


CACHE = "cache"
RUN_AGAIN_ON_RESUME = ("error", "skipped")  # no result yet: a crashed check, or a GPU claim skipped on a CPU
RUN_LOCK = ".verify-run"  # the lock file is .verify-run.lock
MARKER = ".verify-output"  # names a folder as a verify output folder, which a fresh run may clear


def _holds_results_document(out: Path) -> bool:
    try:
        return json.loads((out / JSON).read_text(encoding="utf-8")).get("schema") == SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


def is_output_folder(out: Path) -> bool:
    """True for a folder a verify run wrote (its marker, run lock, results.jsonl or a results.json of this
    schema)."""
    return any((out / name).exists() for name in (MARKER, f"{RUN_LOCK}.lock", JSONL)) or _holds_results_document(out)


def prepare_output(out: Path) -> None:
    """Create ``out`` (and mark it) or check that it may be used: not a file, and either empty or a verify
    output folder, since a fresh run deletes its cache/ and results.jsonl."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {out} is a file; give --out a folder")
    if out.is_dir() and any(out.iterdir()) and not is_output_folder(out):
        raise ValueError(f"output folder {out} holds other files and no verify results (no {MARKER}, {JSONL} or "
                         f"{JSON}); a run clears cache/ and {JSONL} in its folder, so give --out a new or empty one")
    out.mkdir(parents=True, exist_ok=True)
    marker = out / MARKER
    if not marker.exists():
        marker.write_text("a verify output folder: a fresh `verify run` here replaces results.jsonl and cache/\n",
                          encoding="utf-8")


@contextmanager
def thread_budget(threads: int) -> Iterator[None]:
    """torch and the BLAS/OpenMP libraries (threadpoolctl) compute with ``threads`` threads inside the block."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def hypothesis_home(path: Path) -> Iterator[None]:
    """Hypothesis writes its files (character maps, constants) under ``path`` instead of ./.hypothesis."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(path)
    try:
        yield
    finally:
        set_hypothesis_home_dir(None)


@contextmanager
def exclusive_output(out: Path) -> Iterator[None]:
    """Hold ``out/.verify-run.lock`` (implementations.storage.locked) for the run; a second run on the same
    folder gets a ValueError at once (two writers would overwrite each other's results.json and race on the
    figure folders)."""
    with ExitStack() as held:
        try:
            held.enter_context(locked(out / RUN_LOCK, blocking=False))
        except BlockingIOError:
            raise ValueError(f"another verify run is writing to {out} (it holds {out / RUN_LOCK}.lock); wait for "
                             "it to finish, or give this run another --out (use --jobs N to run claims in "
                             "parallel within one run)") from None
        yield


def _context(config: RunConfig, device: str, spec: ClaimSpec) -> Context:
    out = Path(config.out)
    return Context(budget=config.budget, device=device, seed=config.seed, claim_id=spec.id, dtype_name=config.dtype,
                   figure_dir=str(out / "figures" / spec.id), cache_dir=str(out / CACHE),
                   gpu_claims_on_cpu=config.gpu_claims_on_cpu)


def execute(spec: ClaimSpec, ctx: Context, out: Path, checks: dict[str, Claim] | None = None) -> dict:
    """The record of one claim: run its check (or mark it not implemented), drop its figure folder if the
    check left it empty, and store its figures relative to ``out``. ``checks``: default ``load_checks()``."""
    claim = (load_checks() if checks is None else checks).get(spec.id)
    figure_dir = Path(ctx.figure_dir)
    figure_dir.mkdir(parents=True, exist_ok=True)
    record = run_claim(claim, ctx) if claim else not_implemented_record(spec, ctx)
    import torch

    record["environment"] = {"torch_threads": torch.get_num_threads()}
    if not any(figure_dir.iterdir()):
        figure_dir.rmdir()
    record["figures"] = [str(Path(p).resolve().relative_to(out.resolve()))
                         if Path(p).resolve().is_relative_to(out.resolve()) else p
                         for p in record.get("evidence", {}).get("figures", [])]
    return record


def throttled(send, claim_id: str, every: float = 0.5):
    """A progress listener passing on at most one event every ``every`` seconds (and every loop's last)."""
    last = [0.0]

    def listener(label: str, done: int, steps: int | None, elapsed: float) -> None:
        now = time.monotonic()
        if now - last[0] >= every or (steps is not None and done >= steps):
            last[0] = now
            send(claim_id, label, done, steps, elapsed)

    return listener


def _in_parallel(todo: list[ClaimSpec], config: RunConfig, device: str, display) -> Iterator[tuple[ClaimSpec, dict]]:
    """(spec, record) of each claim as it finishes, run as tasks of a Dask cluster (verify.cluster): an embedded
    LocalCluster of ``config.jobs`` single-threaded workers, or the running one at ``config.scheduler``."""
    from verify.cluster import run_claims

    contexts = {spec.id: _context(config, device, spec) for spec in todo}
    yield from run_claims(todo, contexts, Path(config.out), config.threads, config.jobs, config.scheduler, display)


def run(config: RunConfig, display=None) -> dict:
    """Run the selected claims and return the final results document (also written to ``config.out``).

    ``config.jobs`` > 1 runs that many claims at a time in worker processes; records are written in the order
    claims finish and the report keeps the catalogue order. ``display`` (verify.display.RunDisplay, or
    anything with its methods; default: silent) is told of every claim's start, loop progress and record."""
    display = display or SilentDisplay()
    device = resolve_device(config.device)
    specs = select(config.patterns, config.paper)
    out = Path(config.out)
    prepare_output(out)
    with exclusive_output(out), hypothesis_home(out / CACHE / "hypothesis"):
        return _run_locked(config, device, specs, out, display)


def _run_locked(config: RunConfig, device: str, specs: list[ClaimSpec], out: Path, display) -> dict:
    done: dict[str, dict] = {}
    torn = repair_torn_tail(out)
    if torn is not None:
        display.message(f"{out / JSONL} ended in a torn line (a run killed while writing); it is set aside in "
                        f"{out / TORN}", "yellow")
    if config.resume or config.update:
        latest = {record["id"]: record for record in read_records(out)
                  if record.get("budget") == config.budget and record.get("seed") == config.seed
                  and record.get("requested", record).get("dtype", "float64") == config.dtype}
    if config.resume:
        done = {claim_id: record for claim_id, record in latest.items()
                if record.get("verdict") not in RUN_AGAIN_ON_RESUME}
    elif config.update:
        selected = {s.id for s in specs}
        done = {claim_id: record for claim_id, record in latest.items() if claim_id not in selected}
        specs = [s for s in CATALOGUE + external.specs() if s.id in selected or s.id in done]
        shutil.rmtree(out / CACHE, ignore_errors=True)
    else:
        (out / JSONL).unlink(missing_ok=True)
        shutil.rmtree(out / CACHE, ignore_errors=True)

    with thread_budget(config.threads):
        run_info = {
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "finished": None,
            "complete": False,
            "budget": config.budget,
            "device": device,
            "dtype": config.dtype,
            "seed": config.seed,
            "jobs": config.jobs,
            "scheduler": config.scheduler,
            "threads": config.threads,
            "selection": {"patterns": config.patterns, "paper": config.paper},
            "command": " ".join(sys.argv),
            "resumed": sorted(done) if config.resume else [],
            "kept": sorted(done) if config.update else [],
            "environment": environment(),
        }
    records = [done[s.id] for s in specs if s.id in done]

    def publish() -> dict:
        order = {s.id: i for i, s in enumerate(specs)}
        document = build_document(run_info, sorted(records, key=lambda r: order.get(r["id"], 1 << 30)))
        write_document(out, document)
        write_atomic(out / REPORT, render_report(document, out))
        write_atomic(out / HTML, render_html(document, out))
        return document

    def one_at_a_time() -> Iterator[tuple[ClaimSpec, dict]]:
        checks = load_checks()
        with thread_budget(config.threads):
            for index, spec in enumerate(todo, start=1):
                display.claim_started(spec.id, index, len(todo))
                with listening(throttled(display.claim_progress, spec.id, every=0.2)):
                    record = execute(spec, _context(config, device, spec), out, checks)
                yield spec, record

    publish()
    todo = [s for s in specs if s.id not in done]
    display.run_started(len(todo), f"{len(todo)} claims to run ({len(done)} kept), {config.jobs} at a time with "
                                   f"{config.threads} thread(s) each; results in {out}")
    started = time.perf_counter()
    # one claim under --jobs still goes to the cluster: its pieces of work (verify.cluster.spread) use every worker
    finished = (_in_parallel(todo, config, device, display) if todo and (config.scheduler or config.jobs > 1)
                else one_at_a_time())
    with closing(finished):
        for index, (_spec, record) in enumerate(finished, start=1):
            record["code"] = run_info["environment"]["code"]
            with deferred():
                append_record(out, record)
                records.append(record)
                publish()
            display.claim_finished(index, len(todo), record)
    run_info["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    run_info["complete"] = True
    run_info["duration_s"] = round(time.perf_counter() - started, 2)
    return publish()
