"""A step-size model for CWSS-BFGS written outside l2o-verify: P from each coordinate's last secant pair.

BFGS with coordinate-wise step sizes takes x⁺ = x − P H ∇f(x) with a diagonal P (Lin, Song, Xu, arXiv
2412.00059). Barzilai and Borwein (IMA J. Numer. Anal. 8, 1988) pick a step from the secant pair
s = x_k − x_{k−1}, y = g_k − g_{k−1}; this model lets a small network read that pair per coordinate: its input
for coordinate i is the library's features of (x_i, g_i, (Hg)_i) (implementations.bfgs.step_features) and the
same log-magnitude/sign preprocessing of (s_i, y_i), its encoder one tanh layer shared by all coordinates.
Head and output map are StepSizeModel's: a zero-initialised linear head o and P = clip(2σ(o), low, high), so
the untrained model gives P ≡ I and every P lies in the declared interval [low, high] ⊂ (0, 2).
"""

from __future__ import annotations

import torch
from torch import nn

from implementations.bfgs import StepSizeModel, bounded_steps, preprocess, step_features
from implementations.bfgs.model import FEATURES

SECANT_FEATURES = 4  # preprocessed s_i and y_i, two numbers each


def secant_difference(current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """current − previous, with an overflow (two finite numbers of opposite sign near the largest float)
    clamped to ± the largest finite number, so the features stay finite for every finite input."""
    largest = torch.finfo(current.dtype).max
    return (current - previous).clamp(-largest, largest)


class SecantSteps(StepSizeModel):
    """P from (x_i, g_i, (Hg)_i) and the secant pair (s_i, y_i) of the previous call (zero on the first call,
    or when the shape changes). State: the previous (x, g). ``hidden``: width of the tanh layer; ``interval``
    and ``coordinatewise`` as for every StepSizeModel (checked there: 0 ≤ low < 1 < high ≤ 2)."""

    def __init__(self, hidden: int = 6, interval: tuple[float, float] = (0.25, 1.75),
                 coordinatewise: bool = True) -> None:
        super().__init__(hidden, interval, coordinatewise, body=nn.Linear(FEATURES + SECANT_FEATURES, hidden))

    def forward(self, x, g, d, state=None):
        """(P like x, clipped fraction per instance, (x, g)) for x, g, d = Hg of shape (B, d) or (d,)."""
        x, features = step_features(x, g, d)  # validates x, g, d (finite, one shape); ValueError otherwise
        g = torch.as_tensor(g, dtype=x.dtype, device=x.device)
        if state is None or state[0].shape != x.shape:
            state = (x, g)
        s, y = secant_difference(x, state[0]), secant_difference(g, state[1])
        inputs = torch.cat([features, preprocess(s), preprocess(y)], dim=-1).to(self.head.weight.dtype)
        raw = self.head(torch.tanh(self.body(inputs))).reshape(x.shape)
        P, clipped = bounded_steps(raw, self.interval, self.coordinatewise)
        return P.to(x.dtype), clipped.to(x.dtype), (x.detach().clone(), g.detach().clone())


def randomise(model: StepSizeModel, generator: torch.Generator, scale: float = 1.0) -> StepSizeModel:
    """Every parameter of ``model`` redrawn N(0, scale²) in place from ``generator`` (a CPU generator; the
    draws are moved to each parameter's device and dtype), so that P is not the untrained P ≡ I."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale >= 0:
        raise ValueError(f"scale must be a number >= 0, got {scale!r}")
    with torch.no_grad():
        for parameter in model.parameters():
            draw = torch.randn(parameter.shape, generator=generator, dtype=torch.float64)
            parameter.copy_((scale * draw).to(device=parameter.device, dtype=parameter.dtype))
    return model
