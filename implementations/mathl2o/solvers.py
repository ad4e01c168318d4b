"""The common interface of the learned solvers of the paper's Fig. 2 (the LSTM Math-L2O, LISTA-CPSS), so that
``unroll``, ``rollout`` and ``train`` of implementations.mathl2o.unroll take them as they take ``MathL2O``.

A solver is a torch module whose ``trajectory(qp, T, detach_inputs, step_scale, keep_inputs)`` runs T steps from
X₀ = 0 on the instances of ``qp`` and returns (F(X_t) for t = 0..T as a 1-d tensor, X_T, the model inputs of each
step when ``keep_inputs``). Weights are drawn from a ``torch.Generator`` seeded by the constructor's ``seed`` (on
the CPU in float64, then moved), so a model is the same on every device and in every process.
"""

from __future__ import annotations

import math

import torch

from implementations.mathl2o.qp import QP


class UnrolledSolver(torch.nn.Module):
    """Base class: subclasses implement :meth:`trajectory` (see the module docstring)."""

    def trajectory(self, qp: QP, T: int, detach_inputs: bool = True, step_scale: float = 0.9999,
                   keep_inputs: bool = False) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        raise NotImplementedError

    @property
    def reference(self) -> torch.Tensor:
        """One weight tensor: its dtype and device are the solver's."""
        return next(self.parameters())


def uniform_(tensor: torch.Tensor, bound: float, gen: torch.Generator) -> torch.Tensor:
    """Fill ``tensor`` in place with U(−bound, bound) drawn from ``gen`` (CPU, float64, then cast and moved):
    PyTorch's default initialisation of nn.Linear and nn.LSTM, made reproducible by a generator."""
    values = (torch.rand(tuple(tensor.shape), generator=gen, dtype=torch.float64, device=gen.device) * 2 - 1) * bound
    with torch.no_grad():
        tensor.copy_(values.to(dtype=tensor.dtype, device=tensor.device))
    return tensor


def fan_in_bound(fan_in: int) -> float:
    """1/√fan_in: the bound of PyTorch's default uniform initialisation (Kaiming-uniform with a = √5 for the
    weights of nn.Linear, and its bias; 1/√hidden for every weight of nn.LSTM)."""
    return 1.0 / math.sqrt(fan_in)
