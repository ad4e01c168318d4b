"""Small MLP objectives as functions of one flat parameter vector (so that coordinate-wise methods such as
the Caputo gradient apply).

The parameter vector x concatenates the layers' tensors in ``nn.Sequential`` order (weight then bias per
linear layer), each flattened row-major. ``value`` accepts x of shape (d,) and composes with vmap/jvp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import torch
from torch import nn

from implementations.problems.summary import TensorSummaryRepr
from implementations.validation import (
    check_bool,
    check_choice,
    check_instance,
    check_positive_int,
    check_real_tensor,
    check_shape,
)

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
ACTIVATION_FUNCTIONS = {"tanh": torch.tanh, "relu": torch.relu}
LOSSES = ("half-sse", "cross-entropy")


def check_sizes(sizes) -> tuple[int, ...]:
    """Layer widths: a tuple or list of at least two ints >= 1 (input width first); returned as a tuple."""
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(f"sizes must be a tuple of layer widths, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    return tuple(check_positive_int("sizes entry (a layer width)", width) for width in sizes)


def _check_inputs(inputs, sizes: tuple[int, ...]) -> torch.Tensor:
    """inputs: a finite real floating (n, sizes[0]) tensor."""
    check_real_tensor("inputs", inputs, dim=2)
    if inputs.shape[1] != sizes[0]:
        raise ValueError(f"inputs must have shape (*, {sizes[0]}) to match the input width sizes[0] = {sizes[0]}, "
                         f"got {tuple(inputs.shape)}")
    return inputs


def _parameter_shapes(sizes: tuple[int, ...], output_bias: bool) -> list[tuple[int, ...]]:
    """The shapes of build_mlp's parameters, in order: weight (out, in), then bias (out,) where there is one."""
    shapes = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes.append((n_out, n_in))
        if output_bias or i < len(sizes) - 2:
            shapes.append((n_out,))
    return shapes


def build_mlp(sizes: tuple[int, ...], activation: str, output_bias: bool) -> nn.Sequential:
    """Linear layers sizes[0]→…→sizes[-1] with ``activation`` between them (none after the last)."""
    sizes = check_sizes(sizes)
    check_choice("activation", activation, tuple(ACTIVATIONS))
    check_bool("output_bias", output_bias)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(n_in, n_out, bias=output_bias or not last))
        if not last:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def _probe_dot(per_probe: torch.Tensor, per_point: torch.Tensor) -> torch.Tensor:
    """Σ_o per_probe[k, o, n] per_point[b, o, n] as (B, K, n) (a loop over the few probes: einsum's batched
    matmul over n is several times slower here on the CPU)."""
    return torch.stack([(tangent * per_point).sum(-2) for tangent in per_probe], dim=1)


@dataclass(frozen=True, repr=False)
class FlatMLPObjective(TensorSummaryRepr):
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

    def __post_init__(self) -> None:
        """sizes (ints >= 1), activation, output_bias (bool) and loss as :meth:`create` takes them; inputs (n,
        sizes[0]) finite real floating; targets (n, sizes[-1]) finite of inputs' dtype for half-sse, or integer
        classes (n,) in [0, sizes[-1]) for cross-entropy; module a torch.nn.Module with build_mlp's parameter
        shapes."""
        check_sizes(self.sizes)
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        check_bool("output_bias", self.output_bias)
        check_choice("loss", self.loss, LOSSES)
        _check_inputs(self.inputs, self.sizes)
        self._check_targets()
        check_instance("module", self.module, nn.Module)
        shapes = [tuple(p.shape) for p in self.module.parameters()]
        if shapes != _parameter_shapes(tuple(self.sizes), self.output_bias):
            raise ValueError(f"module must be build_mlp(sizes, activation, output_bias) (parameter shapes "
                             f"{_parameter_shapes(tuple(self.sizes), self.output_bias)}), got {shapes}")

    def _check_targets(self) -> None:
        rows, outputs = self.inputs.shape[0], self.sizes[-1]
        if self.loss == "half-sse":
            check_shape("targets", check_real_tensor("targets", self.targets), (rows, outputs))
            if self.targets.dtype != self.inputs.dtype:
                raise ValueError(f"targets must have inputs' dtype {self.inputs.dtype}, got {self.targets.dtype}")
            return
        if not isinstance(self.targets, torch.Tensor) or self.targets.dtype != torch.long:
            raise TypeError(f"targets must be a torch.long tensor of classes for cross-entropy, got "
                            f"{getattr(self.targets, 'dtype', type(self.targets).__name__)}")
        check_shape("targets", self.targets, (rows,))
        if bool(((self.targets < 0) | (self.targets >= outputs)).any()):
            raise ValueError(f"targets must be classes in [0, {outputs - 1}] (sizes[-1] = {outputs} outputs)")

    @classmethod
    def create(cls, sizes, activation: str, output_bias: bool, inputs: torch.Tensor, targets: torch.Tensor,
               loss: str) -> "FlatMLPObjective":
        """The MLP ``build_mlp(sizes, activation, output_bias)`` on ``inputs`` against ``targets`` (checked as
        in the constructor)."""
        sizes = check_sizes(sizes)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        _check_inputs(inputs, sizes)
        if not isinstance(targets, torch.Tensor):
            raise TypeError(f"targets must be a torch tensor, got {type(targets).__name__}")
        if targets.shape[0] != inputs.shape[0]:
            raise ValueError(f"targets must have {inputs.shape[0]} rows like inputs, got shape {tuple(targets.shape)}")
        module = build_mlp(sizes, activation, output_bias).to(device=inputs.device, dtype=inputs.dtype)
        return cls(sizes, activation, output_bias, inputs, targets, loss, module)

    @cached_property
    def _layout(self) -> tuple[tuple[str, slice, torch.Size], ...]:
        """(name, slice in the flat vector, shape) per parameter tensor, in nn.Sequential order."""
        layout, start = [], 0
        for name, p in self.module.named_parameters():
            layout.append((name, slice(start, start + p.numel()), p.shape))
            start += p.numel()
        return tuple(layout)

    @property
    def shapes(self) -> dict[str, torch.Size]:
        return {name: shape for name, _, shape in self._layout}

    @property
    def dim(self) -> int:
        return self._layout[-1][1].stop

    def layer_slices(self) -> dict[str, slice]:
        """Where each named parameter tensor sits in the flat vector."""
        return {name: sl for name, sl, _ in self._layout}

    def unflatten(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: x[sl].reshape(shape) for name, sl, shape in self._layout}

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The network's outputs on ``inputs``: linear layers read from x with the activation between them
        (the forward pass of ``module`` written out; torch.func.functional_call costs more than the layers
        themselves at these sizes)."""
        tensors = iter(x[sl].reshape(shape) for _, sl, shape in self._layout)
        out = self.inputs
        layers = len(self.sizes) - 1
        for i in range(layers):
            last = i == layers - 1
            weight = next(tensors)
            bias = next(tensors) if self.output_bias or not last else None
            out = torch.nn.functional.linear(out, weight, bias)
            if not last:
                out = self._activate(out)
        return out

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

    @property
    def coordinate_chunk(self) -> int:
        """Points per chunk inside coordinate_partials: about 2^17 elements per (points, outputs, samples)
        tensor, which keeps the closed form's elementwise passes in cache (measured: benchmarks/cfgd_caputo_step.md)."""
        return max(1, 2 ** 17 // (self.inputs.shape[0] * self.sizes[-1]))

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
        W2 = list(self.unflatten(x).values())[2]
        Z, H, outputs = self._forward_parts(x)
        n_in, n_hidden, n_out = self.sizes
        dtype = x.dtype
        hidden_row = (torch.arange(n_hidden, device=x.device) == row).to(dtype)
        input_col = (torch.arange(n_in, device=x.device) == col).to(dtype)
        out_row = (torch.arange(n_out, device=x.device) == row).to(dtype)
        hidden_col = (torch.arange(n_hidden, device=x.device) == col).to(dtype)
        bias = (col < 0).to(dtype)
        z_a = Z @ hidden_row
        u = self.inputs @ input_col + bias
        first = outputs + (self._activate(z_a + t * u) - self._activate(z_a)).unsqueeze(-1) * (W2 @ hidden_row)
        second = outputs + t * (H @ hidden_col + bias).unsqueeze(-1) * out_row
        return self.loss_of(torch.where(layer == 0, first, second))

    def coordinate_partials(self, x: torch.Tensor, index: torch.Tensor, t: torch.Tensor,
                            probe_vectors: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Closed-form derivatives of φ_j(t) = f(x + t e_j), j = index[i], at the points y_i = x + t_i e_j
        (derived; one-hidden-layer MLPs). Returns (φ_j'(t_i), φ_j''(t_i)), or, with probe_vectors (K, d),
        (φ_j'(t_i), M) with M[i, k] = (H(y_i) v_k)_j = ∂_ε φ_j'(t_i; x + ε v_k), the mixed second derivative a
        Hutchinson probe needs.

        Chain rule: with out_i the network output on sample i and ∇ℓ_i, ∇²ℓ_i the loss's gradient/Hessian in
        out_i, φ' = Σ_i ∇ℓ_i·∂_t out_i, φ'' = Σ_i [∇ℓ_i·∂²_t out_i + ∂_t out_iᵀ∇²ℓ_i ∂_t out_i] and
        (Hv)_j = Σ_i [∇ℓ_i·∂_v∂_t out_i + ∂_v out_iᵀ∇²ℓ_i ∂_t out_i]. Writing Z = XW1ᵀ + b1, H = σ(Z),
        P = XV1ᵀ + vb1 (the probe's pre-activation tangent), D = HV2ᵀ + (σ'(Z)⊙P)W2ᵀ + vb2 (the output tangent
        at x), and w = W2[:, a]:
          first layer W1[a, b] / b1[a] (u_i = input_ib, or 1): p_i = Z_ia + t u_i, out = O + (σ(p) − σ(Z_a))w,
            ∂_t out = σ'(p)u w, ∂²_t out = σ''(p)u² w, ∂_v∂_t out = σ'(p)u V2[:, a] + σ''(p)u P_a w,
            ∂_v out = D + (σ(p) − σ(Z_a))V2[:, a] + (σ'(p) − σ'(Z_a))P_a w;
          second layer W2[o, a] / b2[o] (v_i = H_ia, or 1): out = O + t v e_o, ∂_t out = v e_o, ∂²_t out = 0,
            ∂_v∂_t out = (σ'(Z_a)P_a) e_o (0 for the bias), ∂_v out = D + t(σ'(Z_a)P_a) e_o (D for the bias).
        half-sse: ∇ℓ = out − y, ∇²ℓ = I; cross-entropy (mean over n): ∇ℓ = (q − y)/n, ∇²ℓ = (diag q − qqᵀ)/n,
        q = softmax(out). Agrees with differentiating coordinate_line and with nested forward-mode AD on full
        copies (tested); elementwise passes over (points, probes, n, outputs) instead of one network
        evaluation per point.
        """
        if len(self.sizes) != 3:
            raise ValueError(f"coordinate_partials needs a one-hidden-layer MLP, got sizes {self.sizes}")
        layer, row, col = self._coordinate_table(x.device)[:, index]
        W2 = list(self.unflatten(x).values())[2]
        Z, H, outputs = self._forward_parts(x)
        slope_Z = self._activation_derivatives(Z)[0]
        # outputs are laid out (…, o, n), samples last: reductions over the few outputs vectorise far better
        outputs = outputs.T
        tangents = None
        if probe_vectors is not None:
            V = [list(self.unflatten(v).values()) for v in probe_vectors]
            V1, vb1, V2 = (torch.stack([p[i] for p in V]) for i in range(3))
            P = self.inputs @ V1.transpose(1, 2) + vb1.unsqueeze(1)                         # (K, n, h)
            dH = slope_Z * P
            D = V2 @ H.T + W2 @ dH.transpose(1, 2)                                          # (K, o, n)
            if self.output_bias:
                D = D + torch.stack([p[3] for p in V]).unsqueeze(-1)
            tangents = (P, dH, V2, D)
        first = torch.empty_like(t)
        second = torch.empty(t.shape + (() if probe_vectors is None else (probe_vectors.shape[0],)),
                             dtype=t.dtype, device=t.device)
        # the shared passes above once, the per-point corrections in cache-sized chunks
        for start in range(0, t.shape[0], self.coordinate_chunk):
            points = torch.arange(start, min(start + self.coordinate_chunk, t.shape[0]), device=t.device)
            hidden, output = points[layer[points] == 0], points[layer[points] != 0]
            if hidden.numel():
                first[hidden], second[hidden] = self._hidden_partials(row[hidden], col[hidden], t[hidden], Z,
                                                                      outputs, slope_Z, W2, tangents)
            if output.numel():
                first[output], second[output] = self._output_partials(row[output], col[output], t[output], H,
                                                                      outputs, tangents)
        return first, second

    def _forward_parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Z = XW1ᵀ + b1, H = σ(Z), O = HW2ᵀ (+ b2) of the one-hidden-layer MLP at x."""
        params = list(self.unflatten(x).values())
        Z = self.inputs @ params[0].T + params[1]
        H = self._activate(Z)
        return Z, H, H @ params[2].T + (params[3] if self.output_bias else 0)

    def _hidden_partials(self, a, b, shift, Z, outputs, slope_Z, W2, tangents):
        """coordinate_partials for first-layer coordinates W1[a, b] (b ≥ 0) or b1[a] (b = −1); outputs is
        (o, n)."""
        u = torch.where((b >= 0).unsqueeze(-1), self.inputs[:, b.clamp_min(0)].T, torch.ones_like(shift).unsqueeze(-1))
        z = Z[:, a].T                                                                       # (B, n)
        pre = z + shift.unsqueeze(-1) * u
        slope, bend = self._activation_derivatives(pre)
        w = W2[:, a].T.unsqueeze(-1)                                                        # (B, o, 1)
        moved = self._activate(pre) - self._activate(z)
        grad, hessian_times = self._loss_derivatives(outputs + w * moved.unsqueeze(1))
        k = slope * u
        grad_w = (grad * w).sum(-2)
        hw = hessian_times(w)                                                               # (B, o, n) = ∇²ℓ w
        w_hw = (w * hw).sum(-2)
        first = (k * grad_w).sum(-1)
        if tangents is None:
            return first, (bend * u * u * grad_w + k * k * w_hw).sum(-1)
        P, _, V2, D = tangents
        P_a = P[:, :, a].permute(2, 0, 1)                                                   # (B, K, n)
        V2_a = V2[:, :, a].permute(2, 0, 1)                                                 # (B, K, o)
        # ∂_v outᵀ ∇²ℓ w with ∂_v out = D + (σ(p) − σ(Z_a))V2[:, a] + (σ'(p) − σ'(Z_a))P_a w, term by term
        d_out_hw = (_probe_dot(D, hw) + moved.unsqueeze(1) * (V2_a @ hw)
                    + (slope - slope_Z[:, a].T).unsqueeze(1) * P_a * w_hw.unsqueeze(1))
        mixed = k.unsqueeze(1) * (V2_a @ grad + d_out_hw) + (bend * u * grad_w).unsqueeze(1) * P_a
        return first, mixed.sum(-1)

    def _output_partials(self, o, a, shift, H, outputs, tangents):
        """coordinate_partials for second-layer coordinates W2[o, a] (a ≥ 0) or b2[o] (a = −1); outputs is
        (o, n)."""
        weight = (a >= 0).unsqueeze(-1)
        v = torch.where(weight, H[:, a.clamp_min(0)].T, torch.ones_like(shift).unsqueeze(-1))    # (B, n)
        e = torch.nn.functional.one_hot(o, self.sizes[2]).to(H.dtype).unsqueeze(-1)        # (B, o, 1)
        grad, hessian_times = self._loss_derivatives(outputs + e * (shift.unsqueeze(-1) * v).unsqueeze(1))
        grad_e = (grad * e).sum(-2)
        he = hessian_times(e)
        e_he = (e * he).sum(-2)
        first = (v * grad_e).sum(-1)
        if tangents is None:
            return first, (v * v * e_he).sum(-1)
        _, dH, _, D = tangents
        dH_a = dH[:, :, a.clamp_min(0)].permute(2, 0, 1) * weight.unsqueeze(1)             # (B, K, n)
        # ∂_v outᵀ ∇²ℓ e_o with ∂_v out = D + t(σ'(Z_a)P_a) e_o
        d_out_he = _probe_dot(D, he) + shift[:, None, None] * dH_a * e_he.unsqueeze(1)
        mixed = v.unsqueeze(1) * d_out_he + dH_a * grad_e.unsqueeze(1)
        return first, mixed.sum(-1)

    def _activate(self, pre: torch.Tensor) -> torch.Tensor:
        """σ(pre), the activation between the layers."""
        return ACTIVATION_FUNCTIONS[self.activation](pre)

    def _activation_derivatives(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """σ'(pre), σ''(pre): tanh: 1 − tanh², −2 tanh(1 − tanh²); relu: 1[pre > 0], 0 (a.e.)."""
        if self.activation == "tanh":
            th = torch.tanh(pre)
            return 1 - th * th, -2 * th * (1 - th * th)
        return (pre > 0).to(pre.dtype), torch.zeros_like(pre)

    def _loss_derivatives(self, out: torch.Tensor):
        """Per-sample ∇ℓ at the outputs out (B, o, n) (outputs before samples), and w ↦ ∇²ℓ w per sample (w
        broadcastable to out): half-sse: out − y and w; cross-entropy: (q − y)/n and (q⊙w − (q·w)q)/n,
        q = softmax(out) over the outputs."""
        if self.loss == "half-sse":
            return out - self.targets.T, lambda w: w.expand_as(out)
        n = out.shape[-1]
        q = torch.softmax(out, dim=-2)
        labels = torch.nn.functional.one_hot(self.targets, out.shape[-2]).to(out.dtype).T
        return (q - labels) / n, lambda w: (q * w - (q * w).sum(-2, keepdim=True) * q) / n

    def _coordinate_table(self, device) -> torch.Tensor:
        """(3, d) long tensor: for each flat coordinate its layer (0 or 1), row, and column (−1 for a bias)."""
        rows = []
        for _position, (name, shape) in enumerate(self.shapes.items()):
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
