"""A run's cached results are computed once per output folder and loaded afterwards."""

import subprocess
import sys
import textwrap

import torch

from verify.cache import cache_file, cached_result
from verify.registry import Context


def test_a_cached_result_is_computed_once_and_then_loaded_from_the_cache_folder(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"traces": [torch.arange(3.0)], "seconds": 1.5}

    ctx = Context(cache_dir=str(tmp_path / "cache"), claim_id="a")
    first = cached_result(ctx, "study", compute)
    second = cached_result(Context(cache_dir=str(tmp_path / "cache"), claim_id="b"), "study", compute)
    assert calls == [1] and (tmp_path / "cache" / "study.pt").exists()
    assert torch.equal(second["traces"][0], first["traces"][0]) and second["seconds"] == 1.5


def test_without_a_cache_folder_the_result_is_computed_every_time():
    calls = []
    for _ in range(2):
        cached_result(Context(), "study", lambda: calls.append(1))
    assert calls == [1, 1]


def test_a_second_process_waits_for_the_first_and_loads_its_result(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from verify.cache import cached_result
        from verify.registry import Context
        def compute():
            open({str(tmp_path / "log")!r}, "a").write(sys.argv[1] + "\\n")
            time.sleep(2)
            return sys.argv[1]
        print(cached_result(Context(cache_dir={str(tmp_path / "cache")!r}), "study", compute))
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script, name], stdout=subprocess.PIPE, text=True)
            for name in ("one", "two")]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    computed = (tmp_path / "log").read_text().split()
    assert len(computed) == 1 and outputs == computed * 2


def test_a_cache_file_is_named_by_its_key_and_absent_without_a_cache_folder(tmp_path):
    ctx = Context(cache_dir=str(tmp_path / "cache"), claim_id="a")
    first, other = cache_file(ctx, "train", "(1, 2)"), cache_file(ctx, "train", "(1, 3)")
    assert first == cache_file(ctx, "train", "(1, 2)") != other and (tmp_path / "cache").is_dir()
    assert first.startswith(str(tmp_path / "cache" / "train-")) and first.endswith(".pt")
    assert cache_file(Context(), "train", "(1, 2)") is None


class _RunsCode:
    """Unpickling this calls os.system: what a crafted cache file does under torch.load(weights_only=False)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def _plant_code(path, marker):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": _RunsCode(marker)}, path)


def test_a_crafted_cache_file_is_rejected_by_name_and_runs_no_code(tmp_path):
    import pytest

    from implementations.storage import UnsafeFileError

    marker = tmp_path / "code-ran"
    _plant_code(tmp_path / "cache" / "study.pt", marker)
    with pytest.raises(UnsafeFileError, match="study.pt"):
        cached_result(Context(cache_dir=str(tmp_path / "cache")), "study", lambda: 1)
    assert not marker.exists()


def test_checkpoint_loaders_reject_a_crafted_file_and_run_no_code(tmp_path):
    import pytest

    from implementations.cfgd.training import load_checkpoint, meta_train, reduced_config
    from implementations.mathl2o import QP, MathL2O, train
    from implementations.storage import UnsafeFileError

    marker = tmp_path / "code-ran"
    path = tmp_path / "checkpoint.pt"
    _plant_code(path, marker)
    with pytest.raises(UnsafeFileError, match="checkpoint.pt"):
        load_checkpoint(str(path))
    with pytest.raises(UnsafeFileError, match="checkpoint.pt"):
        meta_train(reduced_config("least-squares"), checkpoint_path=str(path))
    with pytest.raises(UnsafeFileError, match="checkpoint.pt"):
        train(MathL2O(8, 1.0), QP.random(2, 3, 2, seed=0), 2, 1e-3, 2,
              checkpoint_path=str(path))
    assert not marker.exists()


def test_a_cached_result_of_other_types_goes_through_its_plain_encoding(tmp_path):
    from implementations.bfgs.experiments import QUICK, TaskResult, run_task

    ctx = Context(cache_dir=str(tmp_path / "cache"))
    small = type(QUICK)(**{**QUICK.as_dict(), "train": 1, "test": 1, "iterations": 5})
    fresh = cached_result(ctx, "task", lambda: run_task("least_squares", small, 0), encode=TaskResult.to_plain,
                          decode=TaskResult.from_plain)
    loaded = cached_result(ctx, "task", lambda: None, encode=TaskResult.to_plain, decode=TaskResult.from_plain)
    assert set(loaded.traces) == set(fresh.traces) and loaded.f_star == fresh.f_star
    for method, traces in fresh.traces.items():
        assert (loaded.traces[method][0].values_with_start() == traces[0].values_with_start()).all()
