"""Pytest set-up specific to this repository: tensors default to float64. The options (--device, --budget,
--runslow), the slow and gpu markers, their skip logic and the Hypothesis profile come from the l2o-verify
pytest plugin (verify/pytest_plugin.py, the pytest11 entry point of pyproject.toml)."""

from __future__ import annotations

import torch

torch.set_default_dtype(torch.float64)
