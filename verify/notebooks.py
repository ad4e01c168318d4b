"""Execute the open-question notebooks (notebooks/*.ipynb) with nbclient and save the executed copies.

A notebook reads its scale from the environment variable ``L2O_NOTEBOOK_SCALE``: ``smoke`` (seconds, used by
the tests so a notebook that stops running is caught), ``quick`` (the default, minutes on a CPU) or ``full``.
Executed notebooks are written to ``<out>/<name>.ipynb`` (``verify notebooks``: runs/notebooks by default, the committed
copies in reports/notebooks only when named with ``--out``); a notebook that raises is recorded
with its error and the others still run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

SCALES = ("smoke", "quick", "full")
SCALE_VARIABLE = "L2O_NOTEBOOK_SCALE"


@dataclass
class NotebookResult:
    name: str
    ok: bool
    seconds: float
    output: Path | None
    error: str = ""


def execute_notebook(path: Path, out_dir: Path, scale: str = "quick", timeout_s: int = 1800) -> NotebookResult:
    """Run every cell of ``path`` in a fresh kernel, cwd = the notebook's folder; save the executed copy."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    previous = os.environ.get(SCALE_VARIABLE)
    os.environ[SCALE_VARIABLE] = scale
    started = time.perf_counter()
    error = ""
    try:
        NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
    except CellExecutionError as exc:
        error = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__
    finally:
        if previous is None:
            os.environ.pop(SCALE_VARIABLE, None)
        else:
            os.environ[SCALE_VARIABLE] = previous
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    nbformat.write(notebook, output)
    return NotebookResult(path.stem, not error, round(time.perf_counter() - started, 2), output, error)


def execute_all(notebook_dir: Path, out_dir: Path, scale: str = "quick", names: list[str] | None = None
                ) -> list[NotebookResult]:
    """Execute every notebook of ``notebook_dir`` (or those whose stem is in ``names``), in name order."""
    paths = sorted(Path(notebook_dir).glob("*.ipynb"))
    if names:
        unknown = set(names) - {p.stem for p in paths}
        if unknown:
            raise ValueError(f"no notebook named {sorted(unknown)} in {notebook_dir}")
        paths = [p for p in paths if p.stem in names]
    return [execute_notebook(p, Path(out_dir), scale) for p in paths]
