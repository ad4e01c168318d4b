"""A torch function mode that audits where this project's code creates tensors (used by test_device_dtype.py).

On a CPU-only machine every tensor lands on the CPU whether a check asked for ``ctx.torch_device`` or not, so
the audit looks at the *calls*: a factory call (torch.zeros, torch.tensor, torch.randn, an nn.Module's
parameters, ...) made from a file under implementations/ or verify/ is recorded when

- it names no device (``device=`` absent or None) and its device is not derived from a tensor argument: on a
  CUDA context it would land on the default device, the CPU, not on ``ctx.torch_device``;
- its result is floating with a dtype other than the context's although no ``dtype=`` was asked for (the
  default dtype leaked in; the audit sets the default to the *other* float dtype so that this shows);
- with ``strict_dtype``: it asks explicitly for a floating dtype other than the context's (a hard-coded
  float64 in a check that claims to honour float32), unless it also names the CPU as its device (a deliberate
  host computation, e.g. instances drawn in float64 from a CPU generator and then cast and moved).

Calls made inside torch itself (optimizer state, autograd) are torch's own business and are not recorded,
except module constructors (torch/nn/modules), which are attributed to the project frame that built the module.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tuple(str(ROOT / name) + "/" for name in ("implementations", "verify"))
TORCH = str(Path(torch.__file__).resolve().parent) + "/"
MODULES = TORCH + "nn/modules/"
FACTORIES = frozenset(_device_constructors()) | {torch.from_numpy}
DERIVING = frozenset({torch.tensor, torch.as_tensor, torch.asarray})  # device and dtype follow a tensor argument


@dataclass(frozen=True)
class Finding:
    """One suspicious factory call: the torch function, the project line that made it, why, and which rule
    it breaks (``kind``: "device" or "dtype")."""

    function: str
    where: str
    reason: str
    kind: str

    def __str__(self) -> str:
        return f"{self.where}: torch.{self.function}: {self.reason}"


def _project_frame(frame) -> str | None:
    """'path:line' of the project frame responsible for a factory call whose innermost Python frame is
    ``frame``, or None when the call is torch's own (or not from implementations/ or verify/)."""
    name = frame.f_code.co_filename
    if name.startswith(TORCH):
        if not name.startswith(MODULES):
            return None
        while frame is not None and frame.f_code.co_filename.startswith(TORCH):
            frame = frame.f_back
        if frame is None:
            return None
        name = frame.f_code.co_filename
    if not name.startswith(PROJECT):
        return None
    return f"{Path(name).relative_to(ROOT).as_posix()}:{frame.f_lineno}"


def _on_host(device) -> bool:
    """Whether a factory call names the CPU explicitly: a deliberate host computation (random instances drawn
    in float64 on a CPU generator, then cast and moved; a number rounded to a dtype and back)."""
    return device is not None and torch.device(device).type == "cpu"


class FactoryAudit(TorchFunctionMode):
    """Record (in ``findings``) the factory calls of project code that would not honour ``device``/``dtype``."""

    def __init__(self, dtype: torch.dtype, strict_dtype: bool = False):
        super().__init__()
        self.dtype = dtype
        self.strict_dtype = strict_dtype
        self.findings: set[Finding] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if func in FACTORIES:
            where = _project_frame(sys._getframe(1))
            if where is not None:
                for kind, reason in self._reasons(func, args, kwargs, result):
                    self.findings.add(Finding(func.__name__, where, reason, kind))
        return result

    def _reasons(self, func, args, kwargs, result) -> list[tuple[str, str]]:
        derived = func in DERIVING and bool(args) and isinstance(args[0], torch.Tensor)
        reasons = []
        if kwargs.get("device") is None and not derived:
            reasons.append(("device", "no device= (lands on the default device, not ctx.torch_device)"))
        if isinstance(result, torch.Tensor) and result.is_floating_point() and result.dtype != self.dtype:
            asked = kwargs.get("dtype")
            if asked is None and not derived:
                reasons.append(("dtype", f"no dtype=: got {result.dtype}, context is {self.dtype}"))
            elif asked is not None and self.strict_dtype and not _on_host(kwargs.get("device")):
                reasons.append(("dtype", f"dtype={asked} hard-coded, context is {self.dtype}"))
        return reasons
