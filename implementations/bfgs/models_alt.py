"""Alternative step-size models for CWSS-BFGS (THEORY.md §2.3, "LSTM vs MLP vs Transformer").

Both are :class:`~implementations.bfgs.model.StepSizeModel` subclasses, so they share with the LSTM the
per-coordinate features (preprocessed x_i, g_i, (Hg)_i: ``step_features``), the zero-initialised linear head
(untrained model: P ≡ I) and the output map P = clip(2σ(o), low, high) (``bounded_steps``); they plug into
``LearnedSteps`` and ``meta_train`` unchanged. Only the encoder differs:

- :class:`StepSizeMLP`: a per-coordinate MLP 6 → hidden → … → hidden (tanh), shared by all coordinates,
  with no memory across iterations (state None): each P_k depends only on the current (x, g, Hg).
- :class:`StepSizeTransformer`: one token per coordinate (a linear embedding of its 6 features), ``layers``
  pre-LayerNorm Transformer encoder layers (``heads``-head self-attention *across the coordinates of one
  instance*, feed-forward width 2·hidden, no dropout) and a final LayerNorm; no positional encoding, so the
  model is permutation-equivariant in the coordinates like the LSTM and the MLP, and no memory across
  iterations. Attention costs O(d²·hidden) time per instance and iteration (the order of the BFGS update
  itself), against O(d·hidden) for the LSTM and the MLP; PyTorch's fused attention kernel (used here)
  saves only O(d·hidden) activations for the backward pass (see :func:`saved_activation_bytes`).
"""

from __future__ import annotations

import torch
from torch import nn

from implementations.bfgs.model import FEATURES, StepSizeModel
from implementations.validation import check_positive_int

ACTIVATION = nn.Tanh


class StepSizeMLP(StepSizeModel):
    """P from a coordinate-wise MLP (``depth`` hidden layers of width ``hidden``, tanh) over (x, g, Hg)."""

    def __init__(self, hidden: int = 40, depth: int = 2, interval: tuple[float, float] = (0.1, 1.9),
                 coordinatewise: bool = True) -> None:
        check_positive_int("hidden", hidden)
        check_positive_int("depth", depth)
        layers: list[nn.Module] = []
        for index in range(depth):
            layers += [nn.Linear(FEATURES if index == 0 else hidden, hidden), ACTIVATION()]
        super().__init__(hidden, interval, coordinatewise, body=nn.Sequential(*layers))
        self.depth = depth

    def encode(self, features, state):
        return self.body(features), None


class StepSizeTransformer(StepSizeModel):
    """P from a Transformer encoder whose tokens are the coordinates of one instance (attention across
    coordinates), over the same per-coordinate features as the LSTM."""

    def __init__(self, hidden: int = 16, heads: int = 2, layers: int = 1, interval: tuple[float, float] = (0.1, 1.9),
                 coordinatewise: bool = True) -> None:
        check_positive_int("hidden", hidden)
        check_positive_int("heads", heads)
        check_positive_int("layers", layers)
        if hidden % heads:
            raise ValueError(f"hidden must be a multiple of heads, got hidden={hidden}, heads={heads}")
        blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(layers))
        super().__init__(hidden, interval, coordinatewise, embed=nn.Linear(FEATURES, hidden), blocks=blocks,
                         norm=nn.LayerNorm(hidden))
        self.heads, self.layers = heads, layers

    def encode(self, features, state):
        tokens = self.embed(features if features.dim() == 3 else features.unsqueeze(0))   # (B, d, hidden)
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        return (tokens if features.dim() == 3 else tokens.squeeze(0)), None


def parameter_count(model: nn.Module) -> int:
    """Number of trainable scalars of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def saved_activation_bytes(model: StepSizeModel, x: torch.Tensor, g: torch.Tensor, d: torch.Tensor, state=None) -> int:
    """Bytes of the tensors autograd saves for the backward pass of one forward call of ``model`` (the
    activation memory an online update needs), measured with ``torch.autograd.graph.saved_tensors_hooks``;
    parameters saved by reference are not counted."""
    parameters = {p.data_ptr() for p in model.parameters()}
    total = 0

    def pack(tensor):
        nonlocal total
        if tensor.data_ptr() not in parameters:
            total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(x, g, d, state)
    return total
