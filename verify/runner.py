"""Select claims, run them one by one, stream each record to disk, and keep the report current.

The run is interrupt-safe: every finished claim is already in results.jsonl, results.json and report.md
(both rewritten atomically after each claim); ``resume=True`` skips the claims that results.jsonl holds for
the same budget and seed. Checks keep long intermediate state (meta-training checkpoints) under cache/ in the
output folder: a resumed run continues from it, a fresh run deletes it first.
"""

from __future__ import annotations

import fnmatch
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from verify.catalogue import CATALOGUE, PAPERS, ClaimSpec
from verify.registry import Claim, Context, load_checks, matches, run_claim
from verify.report import render_report
from verify.results import (JSONL, REPORT, append_record, build_document, environment, read_records,
                            write_atomic, write_document)


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
    if paper is not None and paper not in PAPERS:
        raise ValueError(f"paper must be one of {sorted(PAPERS)}, got {paper!r}")
    specs = [s for s in CATALOGUE if paper is None or s.paper == paper]
    patterns = list(patterns)
    if not patterns:
        return specs
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(s.id, pattern) for s in CATALOGUE):
            raise ValueError(f"no claim ID matches {pattern!r} (see `verify list`)")
    return [s for s in specs if any(fnmatch.fnmatchcase(s.id, p) for p in patterns)]


def not_implemented_record(spec: ClaimSpec, ctx: Context) -> dict:
    return {
        "id": spec.id, "paper": spec.paper, "source": spec.source, "check": spec.check, "expect": spec.expect,
        "statement": spec.statement, "reference": spec.reference, "seed": ctx.seed, "device": ctx.device,
        "dtype": ctx.dtype_name, "budget": ctx.budget, "verdict": "not-implemented",
        "matches": matches(spec, "not-implemented"), "duration_s": 0.0,
    }


@dataclass
class RunConfig:
    patterns: list[str] = field(default_factory=list)
    paper: str | None = None
    budget: str = "quick"
    device: str = "cpu"
    seed: int = 0
    out: Path = Path("reports/quick")
    resume: bool = False


CACHE = "cache"

ProgressHook = Callable[[int, int, ClaimSpec, dict | None], None]


def run(config: RunConfig, progress: ProgressHook | None = None) -> dict:
    """Run the selected claims and return the final results document (also written to ``config.out``)."""
    device = resolve_device(config.device)
    specs = select(config.patterns, config.paper)
    checks: dict[str, Claim] = load_checks()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    done: dict[str, dict] = {}
    if config.resume:
        for record in read_records(out):
            if record.get("budget") == config.budget and record.get("seed") == config.seed:
                done[record["id"]] = record
    else:
        (out / JSONL).unlink(missing_ok=True)
        shutil.rmtree(out / CACHE, ignore_errors=True)

    run_info = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "finished": None,
        "complete": False,
        "budget": config.budget,
        "device": device,
        "dtype": "float64",
        "seed": config.seed,
        "selection": {"patterns": config.patterns, "paper": config.paper},
        "command": " ".join(sys.argv),
        "resumed": sorted(done),
        "environment": environment(),
    }
    records = [done[s.id] for s in specs if s.id in done]

    def publish() -> dict:
        order = {s.id: i for i, s in enumerate(specs)}
        document = build_document(run_info, sorted(records, key=lambda r: order.get(r["id"], 1 << 30)))
        write_document(out, document)
        write_atomic(out / REPORT, render_report(document))
        return document

    publish()
    todo = [s for s in specs if s.id not in done]
    started = time.perf_counter()
    for index, spec in enumerate(todo, start=1):
        ctx = Context(budget=config.budget, device=device, seed=config.seed, claim_id=spec.id,
                      figure_dir=str(out / "figures" / spec.id), cache_dir=str(out / CACHE))
        if progress:
            progress(index, len(todo), spec, None)
        claim = checks.get(spec.id)
        figure_dir = Path(ctx.figure_dir)
        figure_dir.mkdir(parents=True, exist_ok=True)
        record = run_claim(claim, ctx) if claim else not_implemented_record(spec, ctx)
        if not any(figure_dir.iterdir()):
            figure_dir.rmdir()
        record["figures"] = [str(Path(p).resolve().relative_to(out.resolve()))
                             if Path(p).resolve().is_relative_to(out.resolve()) else p
                             for p in record.get("evidence", {}).get("figures", [])]
        append_record(out, record)
        records.append(record)
        publish()
        if progress:
            progress(index, len(todo), spec, record)
    run_info["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    run_info["complete"] = True
    run_info["duration_s"] = round(time.perf_counter() - started, 2)
    return publish()
