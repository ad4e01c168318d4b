"""Every open-question notebook under notebooks/ executes end to end at the ``smoke`` scale."""

from pathlib import Path

import pytest

from verify.notebooks import execute_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_at_smoke_scale(path, tmp_path):
    result = execute_notebook(path, tmp_path, scale="smoke", timeout_s=300)
    assert result.ok, f"{path.name}: {result.error}"
