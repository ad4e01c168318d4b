"""verify.pytest_plugin (the pytest11 entry point l2o_verify): its options, fixtures and markers reach a project
outside this repository, once each."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from verify.pytest_plugin import profile_name

TESTS = '''
import pytest


def test_fixtures(device, budget):
    print(f"DEVICE={device} BUDGET={budget}")


@pytest.mark.slow
def test_slow():
    pass


@pytest.mark.gpu
def test_gpu():
    pass
'''


def _pytest(folder, *args):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-rs", "--strict-markers",
                           *args], capture_output=True, text=True, cwd=folder, timeout=300)


def test_a_project_without_a_conftest_gets_the_options_fixtures_and_markers(tmp_path):
    (tmp_path / "test_other_project.py").write_text(textwrap.dedent(TESTS), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    plain = _pytest(tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "DEVICE=cpu BUDGET=quick" in plain.stdout and "slow: run with --runslow" in plain.stdout
    slow = _pytest(tmp_path, "--runslow", "--budget", "full")
    assert "DEVICE=cpu BUDGET=full" in slow.stdout and "slow: run with --runslow" not in slow.stdout
    assert slow.returncode == 0 and ("2 passed" if "needs a CUDA device" in slow.stdout else "3 passed") in \
        slow.stdout.splitlines()[-1]
    bad = _pytest(tmp_path, "--budget", "medium")
    assert bad.returncode == 4 and "invalid choice: 'medium'" in bad.stderr


def test_each_option_and_marker_is_registered_once_in_this_repository():
    helped = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--help"], capture_output=True,
                            text=True, timeout=300)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.count("--runslow") == 1 and helped.stdout.count("--budget=") == 1
    markers = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--markers"],
                             capture_output=True, text=True, timeout=300).stdout
    assert markers.count("@pytest.mark.slow:") == 1 and markers.count("@pytest.mark.gpu:") == 1


def test_the_hypothesis_profile_follows_the_environment():
    assert profile_name({}) == "default"
    assert profile_name({"CI": "true"}) == "ci"
    assert profile_name({"CI": "true", "HYPOTHESIS_PROFILE": "thorough"}) == "thorough"
