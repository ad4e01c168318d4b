"""A small MLP classifier on real digit data (THEORY.md §1.4): the paper's 784–20–10 ReLU MNIST net becomes
64–20–10 ReLU on scikit-learn's 8×8 digits (MNIST cannot be downloaded here); mean cross-entropy, full batch
over a seeded subset of n samples.
"""

from __future__ import annotations

import torch

from implementations.problems.digits import load_digit_data
from implementations.problems.flat_mlp import FlatMLPObjective
from implementations.validation import check_positive_int


def digit_classifier(n: int = 512, hidden: int = 20, seed: int = 0, dtype: torch.dtype = torch.float64,
                     device: torch.device | str = "cpu") -> FlatMLPObjective:
    """64–hidden–10 ReLU MLP (with output bias) on n digits, mean cross-entropy."""
    check_positive_int("hidden", hidden)  # n, seed, dtype and device are load_digit_data's
    inputs, labels = load_digit_data(n=n, dtype=dtype, device=device, seed=seed)
    return FlatMLPObjective.create((64, hidden, 10), "relu", True, inputs, labels, "cross-entropy")
