"""A repr for problem dataclasses that summarises tensor fields by shape and dtype instead of printing them.

torch.func.vmap names the function it maps by calling repr on it, and a bound method's repr includes its
instance's: with the dataclass default, every vmap over an objective formatted its data matrices (measured: a
third of an H-function meta-training run went into tensor formatting).
"""

from __future__ import annotations

import dataclasses

import torch


class TensorSummaryRepr:
    """Mixin for dataclasses declared with ``repr=False``: ClassName(field=value, …) with each tensor field
    shown as ``tensor(shape, dtype)``; fields declared with ``field(repr=False)`` are left out."""

    def __repr__(self) -> str:
        parts = []
        for item in dataclasses.fields(self):
            if not item.repr:
                continue
            value = getattr(self, item.name)
            if isinstance(value, torch.Tensor):
                text = f"tensor({tuple(value.shape)}, {str(value.dtype).removeprefix('torch.')})"
            else:
                text = repr(value)
            parts.append(f"{item.name}={text}")
        return f"{type(self).__name__}({', '.join(parts)})"
