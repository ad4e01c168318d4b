"""Shared-file helpers: a second holder of a lock is refused or waits; saves are all-or-nothing."""

import os

import pytest
import torch

from implementations.storage import atomic_torch_save, locked


def test_a_lock_held_by_one_holder_refuses_a_non_blocking_second_one_until_released(tmp_path):
    path = tmp_path / "thing"
    with locked(path):
        with pytest.raises(BlockingIOError):
            with locked(path, blocking=False):
                pass
    with locked(path, blocking=False):
        assert (tmp_path / "thing.lock").exists()


def test_an_interrupted_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.pt"
    atomic_torch_save({"x": torch.ones(2)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("interrupted mid-save")

    with pytest.raises(RuntimeError, match="interrupted"):
        atomic_torch_save({"x": Unpicklable()}, path)
    assert torch.equal(torch.load(path)["x"], torch.ones(2))
    assert os.listdir(tmp_path) == ["state.pt"]
