"""The pytest plugin of l2o-verify, registered as the ``pytest11`` entry point ``l2o_verify`` (pyproject.toml), so
every project whose environment has l2o-verify installed gets it, this one and ``examples/own_claim`` alike
(``-p no:l2o_verify`` turns it off):

- options ``--device cpu|cuda|auto`` (default cpu), ``--budget quick|full`` (default quick), ``--runslow``, and
  the fixtures ``device`` (the resolved name; a test asking for CUDA without one is skipped) and ``budget``;
- markers ``slow`` (skipped unless ``--runslow``) and ``gpu`` (skipped when torch sees no CUDA device, whatever
  else the test is marked; a slow GPU test runs without ``--runslow`` when ``--device cuda`` asks for it);
- the Hypothesis profiles of verify.profiles: ``ci`` when the environment variable CI is set, ``default``
  otherwise, or the one HYPOTHESIS_PROFILE names; Hypothesis's own ``--hypothesis-profile`` wins over both.

torch is imported only when a hook needs it, so loading the plugin costs no torch import.
"""

from __future__ import annotations

import os

import pytest

BUDGET_CHOICES = ("quick", "full")
MARKERS = ("slow: long-running (meta-training, paper-scale runs); skipped unless --runslow",
           "gpu: needs a CUDA device; skipped cleanly without one")


def pytest_addoption(parser):
    group = parser.getgroup("l2o-verify", "l2o-verify claims (verify.pytest_plugin)")
    group.addoption("--device", default="cpu", help="device for claims and device-aware tests: cpu|cuda|auto")
    group.addoption("--budget", default="quick", choices=BUDGET_CHOICES, help="budget for claim tests")
    group.addoption("--runslow", action="store_true", help="also run tests marked slow")


def profile_name(environ=None) -> str:
    """The Hypothesis profile for a test run: HYPOTHESIS_PROFILE if set, else 'ci' under CI, else 'default'."""
    environ = os.environ if environ is None else environ
    return environ.get("HYPOTHESIS_PROFILE", "ci" if environ.get("CI") else "default")


def pytest_configure(config):
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    from hypothesis import settings

    import verify.profiles  # noqa: F401  (registers the profiles)

    if not config.getoption("--hypothesis-profile", default=None):
        settings.load_profile(profile_name())


def resolve_device(name: str) -> str:
    """'auto' → 'cuda' when torch sees a CUDA device, else 'cpu'; a CUDA device asked for without one skips the
    test."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("--device cuda requested but no CUDA device is available")
    return name


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.fixture
def device(request) -> str:
    return resolve_device(request.config.getoption("--device"))


@pytest.fixture
def budget(request) -> str:
    return request.config.getoption("--budget")


def pytest_collection_modifyitems(config, items):
    """GPU tests without a CUDA device are skipped as such (whatever else they are marked); slow tests are
    skipped unless --runslow, except GPU tests asked for with --device cuda (``pytest --device cuda -m gpu``)."""
    cuda = any("gpu" in item.keywords for item in items) and _cuda_available()  # no torch import without GPU tests
    gpu_requested = config.getoption("--device").startswith("cuda") or (config.getoption("--device") == "auto"
                                                                         and cuda)
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device, and torch sees none")
    for item in items:
        if "gpu" in item.keywords and not cuda:
            item.add_marker(skip_gpu)
        elif "slow" in item.keywords and not config.getoption("--runslow") and not (
                "gpu" in item.keywords and gpu_requested):
            item.add_marker(skip_slow)
