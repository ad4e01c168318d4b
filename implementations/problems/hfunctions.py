"""H-function regressions (THEORY.md §1.4, the authors' fl2o/data.py): fit a 1–50–1 tanh MLP (no output bias)
to h(z) on 100 points z ~ U[−1, 1] with the loss ½ Σ_i (ŷ_i − h(z_i))².

  h₁(z) = sin(5πz),   h₂(z) = sin(2πz) e^(−z²),   h₃(z) = 1[z > 0] + 0.2 sin(2πz).
"""

from __future__ import annotations

import math

import torch

from implementations.problems.flat_mlp import FlatMLPObjective
from implementations.validation import check_choice, check_device, check_dtype, check_generator, check_positive_int

H_FUNCTIONS = {
    "h1": lambda z: torch.sin(5 * math.pi * z),
    "h2": lambda z: torch.sin(2 * math.pi * z) * torch.exp(-z * z),
    "h3": lambda z: (z > 0).to(z.dtype) + 0.2 * torch.sin(2 * math.pi * z),
}


def h_function(name: str, z: torch.Tensor) -> torch.Tensor:
    """h₁, h₂ or h₃ evaluated at z (elementwise)."""
    check_choice("name", name, tuple(H_FUNCTIONS))
    return H_FUNCTIONS[name](z)


def hfunction_regression(name: str, n: int = 100, hidden: int = 50, generator: torch.Generator | None = None,
                         dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> FlatMLPObjective:
    """The regression objective for h-function ``name`` on n points z ~ U[−1, 1] (drawn with ``generator``)."""
    check_choice("name", name, tuple(H_FUNCTIONS))
    check_positive_int("n", n)
    check_positive_int("hidden", hidden)
    check_generator("generator", generator)
    check_dtype("dtype", dtype)
    check_device("device", device)
    z = (2 * torch.rand(n, 1, generator=generator, dtype=dtype) - 1).to(device)
    return FlatMLPObjective.create((1, hidden, 1), "tanh", False, z, h_function(name, z), "half-sse")
