"""The on-disk results of a verification run: streamed JSON lines, then an atomic ``results.json``.

Layout of an output folder:
- ``results.jsonl``: one claim record a line, appended and fsynced as each claim finishes, so an interrupted
  run loses nothing; ``verify run --resume`` skips the claims recorded there for the same budget and seed
  (except those that ended in an error or were skipped), ``--update`` keeps the records of the claims it
  does not re-run;
- ``results.json``: the whole run (schema ``SCHEMA``), rewritten atomically after every claim;
- ``report.md``: the Markdown report, likewise rewritten atomically (see verify.report);
- ``figures/<claim id>/``: plots written by the checks.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Iterable

from implementations.storage import atomic_write

SCHEMA = "l2o-verify/results/v1"
JSONL = "results.jsonl"
JSON = "results.json"
REPORT = "report.md"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through implementations.storage.atomic_write (temporary file in the
    same folder, fsync, atomic rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def append_record(out: Path, record: dict[str, Any]) -> None:
    """Append one claim record to results.jsonl and fsync it."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / JSONL, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_records(out: Path) -> list[dict[str, Any]]:
    """Records of results.jsonl; a torn last line (a run killed mid-write) is ignored."""
    path = out / JSONL
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


SOURCE_PATHS = ("implementations", "theory", "verify", "pyproject.toml")


def code_version() -> str | None:
    """The git commit of this checkout (short hash; "+modified" when the source — implementations/, theory/,
    verify/, pyproject.toml — differs from it, reports and notebooks aside), or None outside a git checkout:
    hypothesis draws also depend on the project's source, so a record names its code."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *SOURCE_PATHS], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return commit.stdout.strip() + ("+modified" if dirty.stdout.strip() else "")


def environment() -> dict[str, Any]:
    """Library versions and machine facts recorded with every run."""
    import hypothesis
    import mpmath
    import numpy
    import scipy
    import sympy
    import torch

    import verify

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "sympy": sympy.__version__,
        "mpmath": mpmath.__version__,
        "hypothesis": hypothesis.__version__,
        "l2o_verify": verify.__version__,
        "code": code_version(),
    }


def build_document(run: dict[str, Any], records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    records = list(records)
    counts: dict[str, int] = {}
    for record in records:
        counts[record["verdict"]] = counts.get(record["verdict"], 0) + 1
    return {
        "schema": SCHEMA,
        "run": run,
        "summary": {
            "verdicts": counts,
            "matching": sum(r.get("matches") is True for r in records),
            "contradicting": [r["id"] for r in records if r.get("matches") is False],
            "known_findings": [r["id"] for r in records if r.get("known_finding")],
            "unexpected": [r["id"] for r in records if r.get("matches") is False and not r.get("known_finding")],
        },
        "claims": records,
    }


def write_document(out: Path, document: dict[str, Any]) -> None:
    write_atomic(out / JSON, json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def load_document(out: Path) -> dict[str, Any]:
    path = out / JSON
    if not path.exists():
        raise FileNotFoundError(f"no {JSON} in {out}: run `verify run --out {out}` first")
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("schema") != SCHEMA:
        raise ValueError(f"{path} has schema {document.get('schema')!r}, expected {SCHEMA!r}")
    return document
