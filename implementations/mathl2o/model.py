"""The coordinate-wise Math-L2O step-size model (THEORY.md §3.1; paper §3–5, code `coord_math_dnn.py`).

A bias-free ReLU MLP g_W applied to every coordinate's input z = (∇F(X)_j, X_j) ∈ R²:
  h_0 = z,  h_l = ReLU(h_{l−1} W_l) for l = 1..L−1,  P = 2·sigmoid(h_{L−1} W_L) ∈ (0, 2).
Layer sizes 2 → 2 → H → … → H → 1 (depth L = number of weight matrices; the code has L = 3, H = N·d).
Weights act on the right (x @ W), as in the code, so W_l has shape (fan_in, fan_out).

Deterministic initialisation (paper §5, code `non_singular.py`): inner layers e·Q with Q orthogonal
(torch.nn.init.orthogonal_, i.e. QR of a Gaussian; orthonormal rows when fan_in < fan_out), optionally made
non-negative (|Q|, as the paper states; the code does not), and W_L = 0, so P ≡ 1 and the untrained model is
gradient descent. ``init="random"`` is PyTorch's nn.Linear default (Kaiming-uniform, bound 1/√fan_in) on every
layer, W_L included; ``init="random_last"`` keeps the deterministic inner layers but draws W_L the same
random way (non-zero W_L): the baselines of the paper's Fig. 2 claim.
"""

from __future__ import annotations

import math

import torch

from implementations.mathl2o.kernels import planar_relu_layer
from implementations.validation import check_bool, check_device, check_dtype, check_positive_int, check_seed

INITS = ("deterministic", "random_last", "random")
KERNELS = ("auto", "dense", "planar")


def layer_sizes(width: int, depth: int, first_width: int = 2) -> list[int]:
    """[2, F, H, …, H, 1] with ``depth`` weight matrices and a first hidden layer of F = ``first_width`` units
    (the code's F = 2; depth 2: [2, H, 1])."""
    if depth == 2:
        return [2, width, 1]
    return [2, first_width] + [width] * (depth - 2) + [1]


class MathL2O(torch.nn.Module):
    """P = 2σ(g_W(z)) per coordinate; see the module docstring for the layers and initialisations.

    width H ≥ 1, e ≥ 1 (expansion coefficient), depth L ≥ 2, init ∈ INITS, ``first_width`` the units of the
    first hidden layer for depth ≥ 3 (the code's 2; a wider one gives the penultimate features full row rank in
    the theorem's class). ``kernel``: "dense" materialises the N·d×H activations; "planar" (depth 3 with a
    2-unit first layer only; the default there) computes the same output exactly in O((N·d + H) log) with
    implementations.mathl2o.kernels (not usable under torch.func transforms).
    """

    def __init__(self, width: int, e: float = 1.0, depth: int = 3, init: str = "deterministic",
                 nonnegative: bool = False, seed: int = 0, dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu", kernel: str = "auto", first_width: int = 2):
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        check_positive_int("width", width)
        check_positive_int("depth", depth, minimum=2)
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e) or e < 1:
            raise ValueError(f"e (expansion coefficient) must be a finite number >= 1, got {e!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        check_bool("nonnegative", nonnegative)
        check_seed("seed", seed)
        check_dtype("dtype", dtype)
        check_device("device", device)
        check_positive_int("first_width", first_width)
        self.width, self.e, self.depth, self.init, self.nonnegative = width, float(e), depth, init, nonnegative
        self.first_width = first_width
        code_layers = depth == 3 and first_width == 2
        if kernel == "planar" and not code_layers:
            raise ValueError(f"kernel='planar' needs the 2→2→H→1 layers (depth 3, first_width 2), got depth {depth}, "
                             f"first_width {first_width}")
        self.kernel = ("planar" if code_layers else "dense") if kernel == "auto" else kernel
        sizes = layer_sizes(width, depth, first_width)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        weights = [self._initial_weight(fan_in, fan_out, last=(i == depth - 1), gen=gen)
                   for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]))]
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(w.to(dtype=dtype, device=device)) for w in weights])

    def _initial_weight(self, fan_in: int, fan_out: int, last: bool, gen: torch.Generator) -> torch.Tensor:
        if self.init == "random" or (last and self.init == "random_last"):
            bound = 1.0 / math.sqrt(fan_in)
            return (torch.rand(fan_in, fan_out, generator=gen, dtype=torch.float64, device=gen.device) * 2 - 1) * bound
        if last:
            return torch.zeros(fan_in, fan_out, dtype=torch.float64, device=gen.device)
        q = torch.nn.init.orthogonal_(torch.empty(fan_in, fan_out, dtype=torch.float64, device=gen.device),
                                      generator=gen)
        return self.e * (q.abs() if self.nonnegative else q)

    @property
    def inner(self) -> list[torch.nn.Parameter]:
        """W_1 … W_{L−1}."""
        return list(self.weights)[:-1]

    @property
    def last(self) -> torch.nn.Parameter:
        """W_L, shape (H, 1)."""
        return self.weights[-1]

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """h_{L−1}: the (L−1)-th layer's output for inputs z (…, 2), shape (…, H)."""
        if z.shape[-1] != 2:
            raise ValueError(f"model inputs must have a last dimension of 2 (gradient, iterate), got {tuple(z.shape)}")
        h = z
        for w in self.inner:
            h = torch.relu(h @ w)
        return h

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """o = h_{L−1} W_L, shape (…,)."""
        return (self.features(z) @ self.last).squeeze(-1)

    def forward(self, z: torch.Tensor, kernel: str | None = None) -> torch.Tensor:
        """P = 2·sigmoid(o) ∈ (0, 2), shape (…,); ``kernel`` overrides the model's ("dense" for torch.func)."""
        if (kernel or self.kernel) == "planar":
            if z.shape[-1] != 2:
                raise ValueError(f"model inputs must have a last dimension of 2, got {tuple(z.shape)}")
            h = torch.relu(z @ self.weights[0])
            return 2.0 * torch.sigmoid(planar_relu_layer(h, self.weights[1], self.last))
        return 2.0 * torch.sigmoid(self.logits(z))
