"""Real digit data shipped with scikit-learn (8×8 images, 1797 samples, 10 classes).

MNIST cannot be downloaded on the machines this suite runs on; scikit-learn's digits are real handwritten
digits that install with the package, so every experiment that the papers ran on MNIST runs on them here.
"""

from __future__ import annotations

import torch

from implementations.validation import check_bool, check_device, check_dtype, check_positive_int, check_seed

SAMPLES = 1797


def load_digit_data(n: int | None = None, flatten: bool = True, dtype: torch.dtype = torch.float64,
                    device: torch.device | str = "cpu", seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels): pixel values scaled to [0, 1]; ``flatten`` gives (n, 64), else (n, 1, 8, 8).

    ``n`` takes a seeded random subset of that many samples (all 1797 when None); n (None or an int in
    [1, 1797]), flatten (bool), dtype (floating), device and seed (int) are checked.
    """
    from sklearn.datasets import load_digits

    if n is not None:
        check_positive_int("n", n, maximum=SAMPLES)
    check_bool("flatten", flatten)
    check_dtype("dtype", dtype)
    check_device("device", device)
    check_seed("seed", seed)

    data = load_digits()
    images = torch.as_tensor(data.images, dtype=dtype) / 16.0
    labels = torch.as_tensor(data.target, dtype=torch.long)
    if n is not None:
        if not 1 <= n <= len(labels):
            raise ValueError(f"n must lie in [1, {len(labels)}], got {n}")
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:n]
        images, labels = images[order], labels[order]
    inputs = images.reshape(len(labels), -1) if flatten else images.unsqueeze(1)
    return inputs.to(device), labels.to(device)
