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
