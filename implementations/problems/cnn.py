"""A ~1.5k-parameter CNN on real 8×8 digits as a function of one flat parameter vector (THEORY.md §2).

Architecture (the BFGS paper's "two conv layers of 2 and 3 channels"; the rest is chosen here to give
about 1.5k parameters): conv 1→2 (3×3) → tanh → conv 2→3 (3×3) → tanh → flatten (48) → linear 48→24 →
tanh → linear 24→10; 1503 parameters. tanh keeps the objective smooth (BFGS theory needs C²).
f(w) = mean cross-entropy over the samples + (reg/2)‖w‖². Evaluated with torch.func.functional_call;
``value``/``gradient`` accept w of shape (d,) or (B, d) (vmapped over B).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from implementations.problems.digits import load_digit_data
from implementations.problems.summary import TensorSummaryRepr
from implementations.validation import (
    check_device,
    check_dtype,
    check_instance,
    check_nonnegative,
    check_real_tensor,
    check_seed,
    check_shape,
)

CLASSES = 10


class DigitCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.conv2 = nn.Conv2d(2, 3, 3)
        self.fc1 = nn.Linear(48, 24)
        self.fc2 = nn.Linear(24, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (n, 10) of images (n, 1, 8, 8) in the layers' dtype (shape and dtype checked, not the values:
        this runs inside every objective evaluation)."""
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (1, 8, 8):
            raise ValueError(f"images must be a tensor of shape (n, 1, 8, 8), got "
                             f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
        if images.dtype != self.fc2.weight.dtype:
            raise TypeError(f"images must have the layers' dtype {self.fc2.weight.dtype}, got {images.dtype}")
        hidden = torch.tanh(self.conv2(torch.tanh(self.conv1(images))))
        return self.fc2(torch.tanh(self.fc1(hidden.flatten(1))))


@dataclass(frozen=True, repr=False)
class DigitCNNObjective(TensorSummaryRepr):
    images: torch.Tensor
    labels: torch.Tensor
    reg: float = 1e-4
    module: DigitCNN = field(default_factory=DigitCNN, compare=False, repr=False)

    def __post_init__(self) -> None:
        """images (n, 1, 8, 8) finite real floating, labels (n,) integer classes in [0, 10), reg a finite number
        >= 0, module a DigitCNN."""
        check_shape("images", check_real_tensor("images", self.images), (None, 1, 8, 8))
        if not isinstance(self.labels, torch.Tensor) or self.labels.dtype != torch.long:
            raise TypeError(f"labels must be a torch.long tensor of classes, got "
                            f"{getattr(self.labels, 'dtype', type(self.labels).__name__)}")
        check_shape("labels", self.labels, (self.images.shape[0],))
        if bool(((self.labels < 0) | (self.labels >= CLASSES)).any()):
            raise ValueError(f"labels must lie in [0, {CLASSES - 1}], got the range "
                             f"[{int(self.labels.min())}, {int(self.labels.max())}]")
        check_nonnegative("reg", self.reg)
        check_instance("module", self.module, DigitCNN)

    @classmethod
    def create(cls, n: int = 256, reg: float = 1e-4, seed: int = 0, dtype: torch.dtype = torch.float64,
               device: torch.device | str = "cpu") -> "DigitCNNObjective":
        """``n`` seeded digits from scikit-learn (images (n, 1, 8, 8) in [0, 1])."""
        check_nonnegative("reg", reg)
        check_seed("seed", seed)
        check_dtype("dtype", dtype)
        check_device("device", device)
        images, labels = load_digit_data(n=n, flatten=False, dtype=dtype, device=device, seed=seed)
        module = DigitCNN().to(dtype=dtype, device=device)
        return cls(images, labels, float(reg), module)

    @property
    def shapes(self) -> list[tuple[str, torch.Size]]:
        return [(name, p.shape) for name, p in self.module.named_parameters()]

    @property
    def dim(self) -> int:
        return sum(shape.numel() for _, shape in self.shapes)

    def unflatten(self, w: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named parameter tensors of the flat vector w (d,)."""
        check_shape("w", w, (self.dim,))
        params, offset = {}, 0
        for name, shape in self.shapes:
            params[name] = w[offset: offset + shape.numel()].reshape(shape)
            offset += shape.numel()
        return params

    def initial_point(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """PyTorch's default layer initialisation (uniform ±1/√fan_in), flattened."""
        parts = []
        for name, shape in self.shapes:
            fan_in = shape[1:].numel() if name.endswith("weight") else \
                dict(self.shapes)[name.replace("bias", "weight")][1:].numel()
            bound = 1.0 / fan_in ** 0.5
            parts.append((2 * torch.rand(shape.numel(), generator=generator, dtype=self.images.dtype) - 1) * bound)
        return torch.cat(parts).to(self.images.device)

    def _single_value(self, w: torch.Tensor) -> torch.Tensor:
        logits = functional_call(self.module, self.unflatten(w), (self.images,))
        return F.cross_entropy(logits, self.labels) + 0.5 * self.reg * (w * w).sum()

    def value(self, w: torch.Tensor) -> torch.Tensor:
        return self._single_value(w) if w.dim() == 1 else vmap(self._single_value)(w)

    def gradient(self, w: torch.Tensor) -> torch.Tensor:
        return grad(self._single_value)(w) if w.dim() == 1 else vmap(grad(self._single_value))(w)

    def accuracy(self, w: torch.Tensor) -> float:
        with torch.no_grad():
            logits = functional_call(self.module, self.unflatten(w), (self.images,))
        return float((logits.argmax(-1) == self.labels).double().mean())
