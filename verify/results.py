"""The on-disk results of a verification run: streamed JSON lines, then an atomic ``results.json``.

Layout of an output folder:
- ``results.jsonl``: one claim record a line, appended and fsynced as each claim finishes, so an interrupted
  run loses nothing; ``verify run --resume`` skips the claims recorded there for the same budget and seed
  (except those that ended in an error or were skipped), ``--update`` keeps the records of the claims it
  does not re-run;
- ``results.json``: the whole run (schema ``SCHEMA``), rewritten atomically after every claim;
- ``report.md`` and ``report.html``: the Markdown and the self-contained HTML report, likewise rewritten
  atomically (verify.report, verify.html_report);
- ``figures/<claim id>/``: plots written by the checks.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

from implementations.storage import atomic_write

SCHEMA = "l2o-verify/results/v1"
JSONL = "results.jsonl"
JSON = "results.json"
REPORT = "report.md"
HTML = "report.html"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through implementations.storage.atomic_write (temporary file in the
    same folder, fsync, atomic rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with naming_the_file(path):
        atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


@contextmanager
def naming_the_file(path: Path) -> Iterator[None]:
    """An OSError raised inside the block without a file name (a failed write or fsync: ENOSPC, EIO) gets
    ``path`` as its file name, so the message says which file could not be written."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


TORN = "results.jsonl.torn"


def repair_torn_tail(out: Path) -> str | None:
    """Make results.jsonl end on a line break, as a run killed while appending may leave it unterminated.

    An unterminated last line that parses as a record is kept (its line break is added); one that does not
    (torn mid-write) is moved, with the time it was found, to ``results.jsonl.torn`` and cut off, so the next
    record starts on a fresh line and every complete record stays readable. Returns the torn text, or None."""
    path = out / JSONL
    if not path.is_file():
        return None
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return None
        handle.seek(max(0, size - (1 << 20)))
        tail = handle.read()
        start = tail.rfind(b"\n") + 1
        torn = tail[start:]
        try:
            json.loads(torn.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            with open(out / TORN, "a", encoding="utf-8") as aside:
                aside.write(f"# torn last line of {JSONL}, cut off at {stamp}\n")
                aside.write(torn.decode("utf-8", errors="replace") + "\n")
                aside.flush()
                os.fsync(aside.fileno())
            handle.truncate(size - len(torn))
            return torn.decode("utf-8", errors="replace")
        handle.write(b"\n")
        handle.flush()
        os.fsync(handle.fileno())
        return None


def append_record(out: Path, record: dict[str, Any]) -> None:
    """Append one claim record to results.jsonl, starting on a fresh line (repair_torn_tail), and fsync it."""
    out.mkdir(parents=True, exist_ok=True)
    repair_torn_tail(out)
    with naming_the_file(out / JSONL), open(out / JSONL, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_records(out: Path) -> list[dict[str, Any]]:
    """Records of results.jsonl; a line that is not a JSON object (a torn last line of a run killed
    mid-write, which the next append sets aside) is ignored; so is a results.jsonl that is not a regular file."""
    path = out / JSONL
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "id" in record:
            records.append(record)
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


SCHEMA_FILE = "results.schema.json"  # shipped in the verify package: the JSON Schema of SCHEMA


@lru_cache(maxsize=1)
def _validator():
    from importlib.resources import files

    from jsonschema import Draft202012Validator

    schema = json.loads(files("verify").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(document: Any) -> list[str]:
    """Where ``document`` breaks the results schema (verify/results.schema.json), as 'path: message' lines;
    empty when it conforms."""
    return [f"{error.json_path}: {error.message[:200]}" for error in
            sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))]


def write_document(out: Path, document: dict[str, Any]) -> None:
    """Write results.json atomically, after checking the document against the results schema (a document
    that breaks it is a bug in the writer, reported as ValueError before anything is written)."""
    errors = schema_errors(document)
    if errors:
        raise ValueError(f"the results document breaks {SCHEMA_FILE}: " + "; ".join(errors[:5]))
    write_atomic(out / JSON, json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def load_document(out: Path) -> dict[str, Any]:
    """The results document of ``out``; ValueError naming the file when it is not one (unreadable, not
    JSON, another schema, or without its run and claim records)."""
    path = out / JSON
    if not path.exists():
        raise FileNotFoundError(f"no {JSON} in {out}: run `verify run --out {out}` first")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); rebuild it from {JSONL} with "
                         f"`verify run --resume --out {out}`") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        schema = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"{path} has schema {schema!r}, expected {SCHEMA!r}")
    errors = schema_errors(document)
    if errors:
        raise ValueError(f"{path} breaks the results schema ({SCHEMA_FILE}): {errors[0]}"
                         + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    return document
