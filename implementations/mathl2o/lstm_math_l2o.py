"""The LSTM Math-L2O of Liu et al. (ICML 2023, Eqs. 18–19) as the paper's Fig. 2 trains it on the QP: the
authors' ``optimizers/coord_math_lstm.py`` run by ``main_train_anlys.py`` with ``--p-use --p-norm sigmoid``
(scripts ``scripts/math_l2o_train/0_qp_math_l2o_p_unroll_length_moti_*.sh``); written here from that description.

Coordinate-wise: every coordinate j of every instance i is one sequence of an LSTM (2 inputs, ``hidden`` units,
``layers`` layers, biases) fed z_t = (∇F(X_{t−1})_ij, X_{t−1,ij}) at step t (detached, as the code does), with
features h̃_t = ReLU(W h_t + c) and heads (s_i = 0.9999/β_i, Z₀ = X₀ = 0):
  P_t = 2σ(w_pᵀh̃ + c_p) ∈ (0, 2),  B_t = b·(w_bᵀh̃ + c_b),  B1_t = b₁·(w_b1ᵀh̃ + c_b1),  B2_t = b₂·(w_b2ᵀh̃ + c_b2),
  U_t = B_t ⊙ (X_{t−1} − s P_t ⊙ ∇F(X_{t−1})) + (1 − B_t) ⊙ (Z_{t−1} − s P_t ⊙ ∇F(Z_{t−1})) + B1_t,
  X_t = U_t + B2_t,  Z_t = U_t   (the QP has no non-smooth part, so the code's proximal map is the identity).
The scales b, b₁, b₂ are learned and start at 1. The momentum head A is off (the scripts' config sets a-use false);
the B heads are on in the authors' Fig. 2 runs although the config file sets b-use false, because
main_train_anlys.py passes only the p_* and a_* options to CoordMathLSTM, whose b_use/b1_use/b2_use default to True.
``biases=False`` drops them: X_t = X_{t−1} − s P_t ⊙ ∇F(X_{t−1}) (Math-L2O-P proper).

The LSTM state is carried through the T steps (gradients flow through it) and starts, per coordinate, at N(0, 1)
draws (the code's ``reset_state``: ``torch.randn``); here the draws come from ``state_seed`` at every rollout, so
one model gives one deterministic trajectory (the code draws a new state at every SGD step), or at 0 with
``state_init="zeros"``.

Initialisations: ``"random"`` is PyTorch's default (every weight and bias U(−1/√fan_in, 1/√fan_in), the LSTM's
U(−1/√hidden, 1/√hidden)), the authors' Fig. 2 set-up; ``"zero_last"`` also sets the P, B1 and B2 heads to 0, so
P ≡ 1, B1 = B2 = 0, X_t = Z_t, and the untrained model is gradient descent (the paper's deterministic idea applied
to this model).
"""

from __future__ import annotations

import torch

from implementations.mathl2o.qp import QP
from implementations.mathl2o.solvers import UnrolledSolver, fan_in_bound, uniform_
from implementations.validation import (
    check_bool,
    check_choice,
    check_device,
    check_dtype,
    check_positive_int,
    check_seed,
)

INITS = ("random", "zero_last")
STATE_INITS = ("random", "zeros")
BIAS_HEADS = ("linear_b", "linear_b1", "linear_b2")


class LSTMMathL2O(UnrolledSolver):
    """See the module docstring. hidden ≥ 1 units (the authors' runs: 20), layers ≥ 1 (their default: 2)."""

    def __init__(self, hidden: int = 20, layers: int = 2, init: str = "random", state_init: str = "random",
                 biases: bool = True, seed: int = 0, state_seed: int | None = None,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"):
        super().__init__()
        check_positive_int("hidden", hidden)
        check_positive_int("layers", layers)
        check_choice("init", init, INITS)
        check_choice("state_init", state_init, STATE_INITS)
        check_bool("biases", biases)
        check_seed("seed", seed)
        if state_seed is not None:
            check_seed("state_seed", state_seed)
        check_dtype("dtype", dtype)
        device = check_device("device", device)
        self.hidden, self.layers, self.init, self.state_init, self.biases = hidden, layers, init, state_init, biases
        self.state_seed = int(seed) + 1 if state_seed is None else int(state_seed)
        self.lstm = torch.nn.LSTM(2, hidden, layers, dtype=dtype, device=device)
        self.linear = torch.nn.Linear(hidden, hidden, dtype=dtype, device=device)
        self.linear_p = torch.nn.Linear(hidden, 1, dtype=dtype, device=device)
        heads = [self.linear, self.linear_p]
        if biases:
            for name in BIAS_HEADS:
                setattr(self, name, torch.nn.Linear(hidden, 1, dtype=dtype, device=device))
                heads.append(getattr(self, name))
            for name in ("b_scale", "b1_scale", "b2_scale"):
                setattr(self, name, torch.nn.Parameter(torch.ones((), dtype=dtype, device=device)))
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        for parameter in self.lstm.parameters():
            uniform_(parameter, fan_in_bound(hidden), gen)
        for layer in heads:
            uniform_(layer.weight, fan_in_bound(hidden), gen)
            uniform_(layer.bias, fan_in_bound(hidden), gen)
        if init == "zero_last":
            with torch.no_grad():
                for layer in heads[1:2] + heads[3:]:
                    layer.weight.zero_()
                    layer.bias.zero_()

    def initial_state(self, coordinates: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(h₀, c₀), each (layers, coordinates, hidden): N(0, 1) from ``state_seed`` (h₀ drawn first, as the
        code's reset_state), or zeros."""
        check_positive_int("coordinates", coordinates)
        shape = (self.layers, coordinates, self.hidden)
        like = self.linear_p.weight
        if self.state_init == "zeros":
            return like.new_zeros(shape), like.new_zeros(shape)
        gen = torch.Generator(device="cpu").manual_seed(self.state_seed)
        h0 = torch.randn(shape, generator=gen, dtype=torch.float64, device=gen.device)
        c0 = torch.randn(shape, generator=gen, dtype=torch.float64, device=gen.device)
        return h0.to(like), c0.to(like)

    def heads(self, z: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """({"P", "B", "B1", "B2"} each (N, d); only "P" without biases, new state) for the inputs z (N, d, 2)."""
        n, d, _ = z.shape
        out, state = self.lstm(z.reshape(1, n * d, 2), state)
        features = torch.relu(self.linear(out))
        values = {"P": 2.0 * torch.sigmoid(self.linear_p(features)).reshape(n, d)}
        if self.biases:
            for key, name, scale in (("B", "linear_b", self.b_scale), ("B1", "linear_b1", self.b1_scale),
                                     ("B2", "linear_b2", self.b2_scale)):
                values[key] = getattr(self, name)(features).reshape(n, d) * scale
        return values, state

    def trajectory(self, qp: QP, T: int, detach_inputs: bool = True, step_scale: float = 0.9999,
                   keep_inputs: bool = False):
        """F(X_t) for t = 0..T, X_T and (if ``keep_inputs``) the inputs z_t; see the module docstring."""
        n, _, d = qp.shape
        step = (step_scale / qp.beta).unsqueeze(-1)
        X = Z = qp.zeros()
        r = qp.residual(X)
        values, inputs = [0.5 * (r * r).sum()], []
        state = self.initial_state(n * d)
        for _ in range(T):
            g = qp.rmatvec(r)
            z = torch.stack((g, X), dim=-1)
            if detach_inputs:
                z = z.detach()
            if keep_inputs:
                inputs.append(z.detach())
            h, state = self.heads(z, state)
            if self.biases:
                B = h["B"]
                U = B * (X - step * h["P"] * g) + (1 - B) * (Z - step * h["P"] * qp.gradient(Z)) + h["B1"]
                X, Z = U + h["B2"], U
            else:
                X = X - step * h["P"] * g
            r = qp.residual(X)
            values.append(0.5 * (r * r).sum())
        return torch.stack(values), X, inputs
