"""Small MLP objectives as functions of one flat parameter vector (so that coordinate-wise methods such as
the Caputo gradient apply), built on ``torch.func.functional_call``.

The parameter vector x concatenates the layers' tensors in ``nn.Sequential`` order (weight then bias per
linear layer), each flattened row-major. ``value`` accepts x of shape (d,) and composes with vmap/jvp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call

from implementations.validation import check_finite, check_positive_int, check_shape

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
LOSSES = ("half-sse", "cross-entropy")


def build_mlp(sizes: tuple[int, ...], activation: str, output_bias: bool) -> nn.Sequential:
    """Linear layers sizes[0]→…→sizes[-1] with ``activation`` between them (none after the last)."""
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    for width in sizes:
        check_positive_int("layer width", width)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(n_in, n_out, bias=output_bias or not last))
        if not last:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class FlatMLPObjective:
    """f(x) = loss(MLP_x(inputs), targets) with the MLP's parameters read from the flat vector x.

    loss "half-sse": ½ Σ_i (ŷ_i − y_i)² (the authors' H-function loss, sum reduction);
    loss "cross-entropy": mean cross-entropy of the logits against integer labels.
    """

    sizes: tuple[int, ...]
    activation: str
    output_bias: bool
    inputs: torch.Tensor
    targets: torch.Tensor
    loss: str
    module: nn.Module = field(repr=False, compare=False)

    @classmethod
    def create(cls, sizes, activation: str, output_bias: bool, inputs: torch.Tensor, targets: torch.Tensor,
               loss: str) -> "FlatMLPObjective":
        sizes = tuple(int(s) for s in sizes)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        check_shape("inputs", check_finite("inputs", inputs), (None, sizes[0]))
        if targets.shape[0] != inputs.shape[0]:
            raise ValueError(f"targets must have {inputs.shape[0]} rows like inputs, got shape {tuple(targets.shape)}")
        module = build_mlp(sizes, activation, output_bias).to(device=inputs.device, dtype=inputs.dtype)
        return cls(sizes, activation, output_bias, inputs, targets, loss, module)

    @property
    def shapes(self) -> dict[str, torch.Size]:
        return {name: p.shape for name, p in self.module.named_parameters()}

    @property
    def dim(self) -> int:
        return sum(math.prod(shape) for shape in self.shapes.values())

    def layer_slices(self) -> dict[str, slice]:
        """Where each named parameter tensor sits in the flat vector."""
        slices, start = {}, 0
        for name, shape in self.shapes.items():
            slices[name] = slice(start, start + math.prod(shape))
            start += math.prod(shape)
        return slices

    def unflatten(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: x[sl].reshape(self.shapes[name]) for name, sl in self.layer_slices().items()}

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, self.unflatten(x), (self.inputs,))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """The objective at the flat parameter vector x of shape (d,)."""
        return self.loss_of(self.predict(x))

    def loss_of(self, out: torch.Tensor) -> torch.Tensor:
        """½ Σ (out − y)², or mean_i [logsumexp(out_i) − out_i,y_i] (cross-entropy written out: the fused
        kernel has no fast batched forward-mode rule under vmap)."""
        if self.loss == "half-sse":
            return 0.5 * ((out - self.targets) ** 2).sum()
        picked = torch.gather(out, -1, self.targets.unsqueeze(-1)).squeeze(-1)
        return (torch.logsumexp(out, dim=-1) - picked).mean()

    __call__ = value

    @property
    def has_coordinate_structure(self) -> bool:
        """True when coordinate_line/coordinate_partials apply (one hidden layer)."""
        return len(self.sizes) == 3

    def coordinate_line(self, x: torch.Tensor, index: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """f(x + t e_index) for one coordinate index (0-d long tensor) and scalar t, computed from the base
        forward pass at x plus a rank-one correction (one-hidden-layer MLPs only; derived):
        a first-layer weight W1[a, b] (or bias b1[a]) moves only hidden unit a, so the output becomes
        O + (σ(Z_a + t·u_b) − σ(Z_a)) W2[:, a]ᵀ (u_b = input column b, or 1 for the bias); a second-layer weight
        W2[o, a] (or bias b2[o]) adds t·H_a (or t) to output o. Composes with vmap over (index, t), where the
        base pass, which does not depend on them, is computed once. Raises ValueError for deeper MLPs."""
        if len(self.sizes) != 3:
            raise ValueError(f"coordinate_line needs a one-hidden-layer MLP, got sizes {self.sizes}")
        layer, row, col = self._coordinate_table(x.device).unbind(0)
        layer, row, col = layer[index], row[index], col[index]
        params = list(self.unflatten(x).values())
        W1, b1, W2 = params[0], params[1], params[2]
        Z = self.inputs @ W1.T + b1
        H = self.module[1](Z)
        O = H @ W2.T + (params[3] if self.output_bias else 0)
        n_in, n_hidden, n_out = self.sizes
        dtype = x.dtype
        hidden_row = (torch.arange(n_hidden, device=x.device) == row).to(dtype)
        input_col = (torch.arange(n_in, device=x.device) == col).to(dtype)
        out_row = (torch.arange(n_out, device=x.device) == row).to(dtype)
        hidden_col = (torch.arange(n_hidden, device=x.device) == col).to(dtype)
        bias = (col < 0).to(dtype)
        z_a = Z @ hidden_row
        u = self.inputs @ input_col + bias
        first = O + (self.module[1](z_a + t * u) - self.module[1](z_a)).unsqueeze(-1) * (W2 @ hidden_row)
        second = O + t * (H @ hidden_col + bias).unsqueeze(-1) * out_row
        return self.loss_of(torch.where(layer == 0, first, second))

    def coordinate_partials(self, x: torch.Tensor, index: torch.Tensor, t: torch.Tensor
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """(φ_j'(t_i), φ_j''(t_i)) for φ_j(t) = f(x + t e_j), j = index[i], in closed form (derived; one-hidden-layer
        MLPs). With out_i(t) the network output on sample i, ∇ℓ_i, ∇²ℓ_i the loss's gradient/Hessian in out_i:
          first layer W1[a, b] / b1[a]: dout_i/dt = σ'(p_i) u_i W2[:, a], d²out_i/dt² = σ''(p_i) u_i² W2[:, a],
            p_i = Z_ia + t u_i, u_i = input_ib (or 1), so φ' = Σ_i σ'(p_i)u_i ∇ℓ_i·w, and
            φ'' = Σ_i [σ''(p_i)u_i² ∇ℓ_i·w + (σ'(p_i)u_i)² wᵀ∇²ℓ_i w],  w = W2[:, a];
          second layer W2[o, a] / b2[o]: dout_i/dt = v_i e_o (v_i = H_ia or 1): φ' = Σ v_i ∂_o ℓ_i, φ'' = Σ v_i² ∂²_oo ℓ_i.
        half-sse: ∇ℓ = out − y, ∇²ℓ = I; cross-entropy (mean over n): ∇ℓ = (q − y)/n, ∇²ℓ = (diag q − qqᵀ)/n,
        q = softmax(out). Agrees with differentiating coordinate_line (tested); ~10 elementwise passes over
        (points, n, outputs) instead of nested forward-mode AD."""
        if len(self.sizes) != 3:
            raise ValueError(f"coordinate_partials needs a one-hidden-layer MLP, got sizes {self.sizes}")
        layer, row, col = self._coordinate_table(x.device)[:, index]
        params = list(self.unflatten(x).values())
        W1, b1, W2 = params[0], params[1], params[2]
        Z = self.inputs @ W1.T + b1
        H = self.module[1](Z)
        O = H @ W2.T + (params[3] if self.output_bias else 0)
        first_order = torch.empty_like(t)
        second_order = torch.empty_like(t)
        hidden = layer == 0
        if hidden.any():
            a, b, shift = row[hidden], col[hidden], t[hidden]
            u = torch.where((b >= 0).unsqueeze(-1), self.inputs[:, b.clamp_min(0)].T, torch.ones_like(shift).unsqueeze(-1))
            z = Z[:, a].T
            pre = z + shift.unsqueeze(-1) * u
            slope, bend = self._activation_derivatives(pre)
            w = W2[:, a].T.unsqueeze(1)
            out = O + (self.module[1](pre) - self.module[1](z)).unsqueeze(-1) * w
            grad_w, curvature = self._loss_directional(out, w)
            k = slope * u
            first_order[hidden] = (k * grad_w).sum(-1)
            second_order[hidden] = (bend * u * u * grad_w + k * k * curvature).sum(-1)
        if (~hidden).any():
            o, a, shift = row[~hidden], col[~hidden], t[~hidden]
            v = torch.where((a >= 0).unsqueeze(-1), H[:, a.clamp_min(0)].T, torch.ones_like(shift).unsqueeze(-1))
            e = torch.nn.functional.one_hot(o, self.sizes[2]).to(x.dtype).unsqueeze(1)
            out = O + (shift.unsqueeze(-1) * v).unsqueeze(-1) * e
            grad_e, curvature = self._loss_directional(out, e)
            first_order[~hidden] = (v * grad_e).sum(-1)
            second_order[~hidden] = (v * v * curvature).sum(-1)
        return first_order, second_order

    def _activation_derivatives(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """σ'(pre), σ''(pre): tanh: 1 − tanh², −2 tanh(1 − tanh²); relu: 1[pre > 0], 0 (a.e.)."""
        if self.activation == "tanh":
            th = torch.tanh(pre)
            return 1 - th * th, -2 * th * (1 - th * th)
        return (pre > 0).to(pre.dtype), torch.zeros_like(pre)

    def _loss_directional(self, out: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per sample: ∇ℓ·w and wᵀ∇²ℓ w, for outputs out (B, n, o) and directions w (B, 1, o)."""
        if self.loss == "half-sse":
            return ((out - self.targets) * w).sum(-1), (w * w).sum(-1).expand(out.shape[:-1])
        n = out.shape[-2]
        q = torch.softmax(out, dim=-1)
        qw = (q * w).sum(-1)
        picked = torch.gather(w.expand_as(out), -1, self.targets.expand(out.shape[0], n).unsqueeze(-1)).squeeze(-1)
        return (qw - picked) / n, ((q * w * w).sum(-1) - qw * qw) / n

    def _coordinate_table(self, device) -> torch.Tensor:
        """(3, d) long tensor: for each flat coordinate its layer (0 or 1), row, and column (−1 for a bias)."""
        rows = []
        for position, (name, shape) in enumerate(self.shapes.items()):
            layer = 0 if name.startswith("0.") else 1
            if len(shape) == 2:
                r, c = torch.meshgrid(torch.arange(shape[0]), torch.arange(shape[1]), indexing="ij")
                rows.append(torch.stack([torch.full((r.numel(),), layer), r.reshape(-1), c.reshape(-1)]))
            else:
                rows.append(torch.stack([torch.full((shape[0],), layer), torch.arange(shape[0]),
                                         torch.full((shape[0],), -1)]))
        return torch.cat(rows, dim=1).to(device)

    def initial_point(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """PyTorch's default Linear initialisation, U(−1/√fan_in, 1/√fan_in) for weights and biases."""
        parts = []
        for name, shape in self.shapes.items():
            fan_in = shape[1] if len(shape) == 2 else self.shapes[name.replace("bias", "weight")][1]
            bound = 1 / math.sqrt(fan_in)
            draw = torch.rand(math.prod(shape), generator=generator, dtype=self.inputs.dtype)
            parts.append((2 * draw - 1) * bound)
        return torch.cat(parts).to(self.inputs.device)
