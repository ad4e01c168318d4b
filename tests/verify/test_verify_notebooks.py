"""The notebook runner executes notebooks in a fresh kernel, passes the scale, and records failures."""

import nbformat
import pytest

from verify.notebooks import execute_all, execute_notebook


def write(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return path


def test_notebook_runs_with_the_requested_scale(tmp_path):
    path = write(tmp_path / "ok.ipynb", "import os\nprint(os.environ['L2O_NOTEBOOK_SCALE'])")
    result = execute_notebook(path, tmp_path / "out", scale="smoke")
    assert result.ok
    executed = nbformat.read(result.output, as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "smoke"


def test_failing_notebook_is_recorded_not_raised(tmp_path):
    write(tmp_path / "a_bad.ipynb", "raise ValueError('broken cell')")
    write(tmp_path / "b_ok.ipynb", "x = 1")
    results = execute_all(tmp_path, tmp_path / "out", scale="smoke")
    assert [(r.name, r.ok) for r in results] == [("a_bad", False), ("b_ok", True)]
    assert "broken cell" in results[0].error


def test_unknown_notebook_name_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no notebook named"):
        execute_all(tmp_path, tmp_path / "out", names=["missing"])
