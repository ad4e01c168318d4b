"""Pytest set-up: hypothesis profiles, --device/--budget/--runslow options, slow and gpu markers."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

import verify.profiles  # noqa: F401  (registers the profiles)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
torch.set_default_dtype(torch.float64)


def pytest_addoption(parser):
    parser.addoption("--device", default="cpu", help="device for claims and device-aware tests: cpu|cuda|auto")
    parser.addoption("--budget", default="quick", choices=("quick", "full"), help="budget for claim tests")
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("--device cuda requested but no CUDA device is available")
    return name


@pytest.fixture
def device(request) -> str:
    return resolve_device(request.config.getoption("--device"))


@pytest.fixture
def budget(request) -> str:
    return request.config.getoption("--budget")


def pytest_collection_modifyitems(config, items):
    """GPU tests without a CUDA device are skipped as such (whatever else they are marked); slow tests are
    skipped unless --runslow, except GPU tests asked for with --device cuda (``pytest --device cuda -m gpu``)."""
    cuda = torch.cuda.is_available()
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
