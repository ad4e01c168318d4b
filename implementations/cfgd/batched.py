"""Static NA-/AT-CFGD for many runs at once: B runs (each its own problem, start, α, β and terminal) advanced as
one tensor program (THEORY.md §1.4). The grid searches of the static baselines (training.grid_search_static) and
their test runs use it; ``implementations.cfgd.optimizers.cfgd`` stays the one-run reference it is tested against.

Problems: least squares f_b = ½‖A_b x − y_b‖² (LeastSquares) and one-hidden-layer MLPs with the half-SSE loss
(FlatMLPObjective, the H-function regressions), stacked along a leading batch axis.

With one Gauss–Jacobi node and the exact ∂²_jj the scaled Caputo direction of caputo_gradient is
  D_j = C_α w₁ [∂_j f + β (x_j − c_j) ∂²_jj f](x; x_j := τ_j),  τ_j = c_j + (x_j − c_j)(1 + u₁)/2,
(u₁, w₁) = (α/(2 − α), 2^(1−α)/(1 − α)) (gauss_jacobi(1, α)), C_α = (1 − α)/2^(1−α); derived, THEORY.md §1.2.
The one-coordinate partials come in closed form (the formulas of LeastSquares.coordinate_partials and
FlatMLPObjective.coordinate_partials, with a batch axis): least squares ∂_j f(x + t e_j) = ∇f(x)_j + t Q_jj,
∂²_jj = Q_jj (Q = AᵀA); the MLP as derived there (first layer: p = Z_a + t u, φ' = Σ_i σ'(p) u (w·r),
φ'' = Σ_i [σ''(p) u² (w·r) + σ'(p)² u² ‖w‖²]; second layer: φ' = Σ_i v (r_o + t v), φ'' = Σ_i v²).
Step sizes: the exact line search η = ∇fᵀD / DᵀQD (0 when DᵀQD ≤ 0) and the look-ahead grid
η = argmin_{η ∈ grid} f(x − ηD) (first minimiser; non-finite values count as +inf), as in optimizers.py.
A run stops (diverged_at = t) at the first step t whose loss is non-finite or above blowup·max(1, |f(x⁰)|) or
whose iterate is non-finite, exactly as cfgd() does; its later entries are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from implementations.cfgd.caputo import reduce_probes
from implementations.cfgd.gauss_jacobi import gauss_jacobi
from implementations.cfgd.optimizers import ExactLineSearch, LookaheadGridSearch
from implementations.problems.flat_mlp import ACTIVATION_FUNCTIONS, FlatMLPObjective
from implementations.problems.least_squares import LeastSquares
from implementations.validation import (
    check_choice,
    check_instance,
    check_positive,
    check_positive_int,
    check_real_tensor,
)

VARIANTS = ("NA", "AT")
#: Entries of the largest intermediate tensor of one chunk of look-ahead evaluations (512 kB in float64: in cache;
#: measured fastest of 2^14..2^22 for 54 runs of the quick h₂ task).
CHUNK_ELEMENTS = 2 ** 16


class LeastSquaresBatch:
    """B least-squares problems f_b(x) = ½‖A_b x − y_b‖², evaluated on x of shape (B, d) (or (B, E, d) for
    ``value``: E points per problem). Runs that share a problem object (a grid's configurations on one problem)
    share its matrix: the products with A are one matrix–matrix product per distinct problem (runs as columns)
    instead of one matrix–vector product per run."""

    def __init__(self, problems: Sequence[LeastSquares]):
        distinct: dict[int, int] = {}
        for problem in problems:
            distinct.setdefault(id(problem), len(distinct))
        order = sorted(distinct, key=distinct.get)
        by_id = {id(p): p for p in problems}
        self.distinct = [by_id[key] for key in order]
        self.index = torch.tensor([distinct[id(p)] for p in problems], device=problems[0].A.device)
        self.groups = [torch.nonzero(self.index == k).flatten() for k in range(len(self.distinct))]
        self.y = torch.stack([p.y for p in problems])
        self.curvature = torch.stack([(p.A * p.A).sum(-2) for p in self.distinct])[self.index]   # Q_jj, (B, d)
        self.count, self.dim = len(problems), problems[0].A.shape[-1]
        # every run its own problem (the seeds of a meta-training): one batched product is cheaper than a loop
        self.stacked = torch.stack([p.A for p in problems]) if len(self.distinct) == len(problems) else None

    def _apply(self, x: torch.Tensor, transpose: bool) -> torch.Tensor:
        """A_b x_b (transpose: A_bᵀ x_b) for every run b; x (B, …, k) → (B, …, k')."""
        shape = x.shape
        flat = x.reshape(shape[0], -1, shape[-1])
        if self.stacked is not None:
            out = flat @ (self.stacked if transpose else self.stacked.transpose(-1, -2))
            return out.reshape(*shape[:-1], out.shape[-1])
        out_dim = self.dim if transpose else self.distinct[0].A.shape[0]
        out = flat.new_empty(shape[0], flat.shape[1], out_dim)
        for problem, rows in zip(self.distinct, self.groups):
            matrix = problem.A if transpose else problem.A.T
            out[rows] = flat[rows] @ matrix
        return out.reshape(*shape[:-1], out_dim)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """f_b at x (B, d) → (B,), or at x (B, E, d) → (B, E)."""
        residual = self._apply(x, False) - (self.y if x.dim() == 2 else self.y.unsqueeze(1))
        return 0.5 * (residual * residual).sum(-1)

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        return self._apply(self._apply(x, False) - self.y, True)

    def values_along(self, x: torch.Tensor, direction: torch.Tensor, etas: torch.Tensor) -> torch.Tensor:
        """f_b(x_b − η_e D_b) for every run b and step size η_e: (B, E)."""
        return self.value(x.unsqueeze(1) - etas[None, :, None] * direction.unsqueeze(1))

    def partials(self, x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(∂_j f, ∂²_jj f) at x with x_j := tau_j, for every j (B, d)."""
        return self.gradient(x) + (tau - x) * self.curvature, self.curvature

    def probed_partials(self, x: torch.Tensor, tau: torch.Tensor, probe_vectors: torch.Tensor,
                        hessian: str = "hutchinson") -> tuple[torch.Tensor, torch.Tensor]:
        """(∂_j f, Hutchinson's estimate of ∂²_jj f) at x with x_j := tau_j (B, d), with probes (B, K, d) per
        problem: (1/K) Σ_k v_kj (Q v_k)_j, Q v = Aᵀ(A v) (or its |·| per probe, hessian="hutchinson-abs"; the
        same at every point, Q being constant); LeastSquares.coordinate_partials with a batch axis."""
        mixed = self._apply(self._apply(probe_vectors, False), True)                  # (B, K, d)
        return self.partials(x, tau)[0], reduce_probes(hessian, probe_vectors * mixed, probe_axis=1)

    def curvature_along(self, x: torch.Tensor, direction: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(∇fᵀD, DᵀQD) per problem, Q D computed as Aᵀ(A D) (as ExactLineSearch does through the closed HVP)."""
        hvp = self._apply(self._apply(direction, False), True)
        return (self.gradient(x) * direction).sum(-1), (direction * hvp).sum(-1)


class MLPBatch:
    """B one-hidden-layer half-SSE MLP regressions (FlatMLPObjective with sizes (n_in, h, n_out)), stacked:
    inputs (B, n, n_in), targets (B, n, n_out); x (B, d) in FlatMLPObjective's flat layout (W1 row-major, b1,
    W2 row-major, b2 if there is an output bias)."""

    def __init__(self, problems: Sequence[FlatMLPObjective]):
        first = problems[0]
        self.sizes, self.output_bias, self.activation = tuple(first.sizes), first.output_bias, first.activation
        self.inputs = torch.stack([p.inputs for p in problems])
        self.targets = torch.stack([p.targets for p in problems])
        n_in, hidden, n_out = self.sizes
        self.split = [hidden * n_in, hidden, n_out * hidden] + ([n_out] if self.output_bias else [])
        device = self.inputs.device
        # first-layer coordinates k = a·n_in + b (weights) then h biases: hidden unit a(k) and input column b(k)
        self.unit = torch.cat([torch.arange(hidden, device=device).repeat_interleave(n_in),
                               torch.arange(hidden, device=device)])
        ones = torch.ones_like(self.inputs[..., :1])
        columns = self.inputs.repeat(1, 1, hidden)                                  # (B, n, h·n_in): X[:, b(k)]
        self.u = torch.cat([columns, ones.expand(-1, -1, hidden)], dim=-1).transpose(1, 2)  # (B, K1, n)

    def _unpack(self, x: torch.Tensor):
        n_in, hidden, n_out = self.sizes
        parts = torch.split(x, self.split, dim=-1)
        W1 = parts[0].reshape(*x.shape[:-1], hidden, n_in)
        W2 = parts[2].reshape(*x.shape[:-1], n_out, hidden)
        b2 = parts[3] if self.output_bias else None
        return W1, parts[1], W2, b2

    def _sigma(self, pre: torch.Tensor) -> torch.Tensor:
        return ACTIVATION_FUNCTIONS[self.activation](pre)

    def _sigma_derivatives(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """σ', σ'' as FlatMLPObjective._activation_derivatives."""
        if self.activation == "tanh":
            th = torch.tanh(pre)
            return 1 - th * th, -2 * th * (1 - th * th)
        return (pre > 0).to(pre.dtype), torch.zeros_like(pre)

    def _forward(self, x: torch.Tensor, rows: slice = slice(None)):
        """Z = XW1ᵀ + b1 (B, …, n, h), H = σ(Z), O = HW2ᵀ (+ b2) (B, …, n, n_out), for x (B, d) or (B, E, d)
        of the problems ``rows``."""
        W1, b1, W2, b2 = self._unpack(x)
        inputs = self.inputs[rows] if x.dim() == 2 else self.inputs[rows].unsqueeze(1)
        Z = inputs @ W1.transpose(-1, -2) + b1.unsqueeze(-2)
        H = self._sigma(Z)
        outputs = H @ W2.transpose(-1, -2)
        if b2 is not None:
            outputs = outputs + b2.unsqueeze(-2)
        return Z, H, outputs, W2

    def value(self, x: torch.Tensor, rows: slice = slice(None)) -> torch.Tensor:
        """½ Σ_i ‖out_i − y_i‖² per problem: x (B, d) → (B,), x (B, E, d) → (B, E); ``rows``: the problems x
        belongs to (all by default)."""
        _, _, outputs, _ = self._forward(x, rows)
        targets = self.targets[rows] if x.dim() == 2 else self.targets[rows].unsqueeze(1)
        return 0.5 * ((outputs - targets) ** 2).sum((-1, -2))

    def values_along(self, x: torch.Tensor, direction: torch.Tensor, etas: torch.Tensor) -> torch.Tensor:
        """f_b(x_b − η_e D_b) for every run b and step size η_e: (B, E). The hidden pre-activations are affine
        in η, Z(η) = Z(x) − η·(X dW1ᵀ + db1), and the output weights W2 − η dW2, so the inputs are multiplied
        once per run instead of once per η; in chunks of runs whose (runs, E, n, h) tensors hold at most
        CHUNK_ELEMENTS entries."""
        n_in, hidden, n_out = self.sizes
        per_run = etas.shape[0] * self.inputs.shape[1] * hidden
        chunk = max(1, CHUNK_ELEMENTS // per_run)
        W1, b1, W2, b2 = self._unpack(x)
        dW1, db1, dW2, db2 = self._unpack(direction)
        base = self.inputs @ W1.transpose(-1, -2) + b1.unsqueeze(-2)                  # (B, n, h)
        slope = self.inputs @ dW1.transpose(-1, -2) + db1.unsqueeze(-2)
        eta = etas.view(1, -1, 1, 1)
        parts = []
        for start in range(0, x.shape[0], chunk):
            rows = slice(start, start + chunk)
            H = self._sigma(base[rows].unsqueeze(1) - eta * slope[rows].unsqueeze(1))  # (b, E, n, h)
            out_weights = W2[rows].unsqueeze(1) - eta * dW2[rows].unsqueeze(1)       # (b, E, o, h)
            outputs = H @ out_weights.transpose(-1, -2)
            if b2 is not None:
                outputs = outputs + (b2[rows].unsqueeze(1)
                                     - etas.view(1, -1, 1) * db2[rows].unsqueeze(1)).unsqueeze(-2)
            parts.append(0.5 * ((outputs - self.targets[rows].unsqueeze(1)) ** 2).sum((-1, -2)))
        return torch.cat(parts)

    def _line_terms(self, x: torch.Tensor, tau: torch.Tensor) -> dict:
        """What the partials of t ↦ f(x + t e_j) at t = tau_j − x_j share (shapes per problem b):
        first layer (K1 = h·n_in + h coordinates, unit a(k), input column u): pre-activation p = Z_a + t u,
        output O + (σ(p) − σ(Z_a)) w with w = W2[:, a]; second layer: W2[o, a] moves output o by t·H_a, b2[o]
        by t (v = H_a or 1, rows: the output o of each coordinate)."""
        n_in, hidden, n_out = self.sizes
        Z, H, outputs, W2 = self._forward(x)
        shift = tau - x
        first_count = hidden * n_in + hidden
        residual = (outputs - self.targets).transpose(1, 2)                         # (B, o, n)
        z = Z[..., self.unit].transpose(1, 2)                                       # (B, K1, n)
        pre = z + shift[:, :first_count].unsqueeze(-1) * self.u
        slope, bend = self._sigma_derivatives(pre)
        w = W2[..., self.unit].transpose(1, 2)                                      # (B, K1, o)
        moved = self._sigma(pre) - H[..., self.unit].transpose(1, 2)              # σ(p) − σ(Z_a)
        grad_w = (w.unsqueeze(-1) * (residual.unsqueeze(1) + w.unsqueeze(-1) * moved.unsqueeze(2))).sum(2)
        v = H.transpose(1, 2).repeat(1, n_out, 1)                                   # (B, o·h, n): H_a for (o, a)
        rows = torch.arange(n_out, device=x.device).repeat_interleave(hidden)
        if self.output_bias:
            v = torch.cat([v, torch.ones_like(v[:, :n_out])], dim=1)
            rows = torch.cat([rows, torch.arange(n_out, device=x.device)])
        t2 = shift[:, first_count:].unsqueeze(-1)
        return dict(Z=Z, H=H, W2=W2, residual=residual, slope=slope, bend=bend, w=w, moved=moved, grad_w=grad_w,
                    k=slope * self.u, v=v, rows=rows, t2=t2, r2=residual[:, rows] + t2 * v)

    @staticmethod
    def _first_partials(terms: dict) -> torch.Tensor:
        """∂_j f at the points of :meth:`_line_terms`: first layer Σ_i k_i (w·grad_i), second layer Σ_i v_i r2_i."""
        return torch.cat([(terms["k"] * terms["grad_w"]).sum(-1), (terms["v"] * terms["r2"]).sum(-1)], dim=-1)

    def partials(self, x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(∂_j f, ∂²_jj f) at x with x_j := tau_j, for every flat coordinate j (B, d), in closed form."""
        terms = self._line_terms(x, tau)
        k, w, v = terms["k"], terms["w"], terms["v"]
        h1 = (terms["bend"] * self.u * self.u * terms["grad_w"] + k * k * (w * w).sum(-1, keepdim=True)).sum(-1)
        return self._first_partials(terms), torch.cat([h1, (v * v).sum(-1)], dim=-1)

    def probed_partials(self, x: torch.Tensor, tau: torch.Tensor, probe_vectors: torch.Tensor,
                        hessian: str = "hutchinson") -> tuple[torch.Tensor, torch.Tensor]:
        """(∂_j f, Hutchinson's estimate (1/K) Σ_k v_kj (H(y_j) v_k)_j) at the points y_j = x with x_j := tau_j
        (B, d), with probes (B, K, d) per problem (|·| per probe for hessian="hutchinson-abs"):
        FlatMLPObjective.coordinate_partials's mixed partials (derived there) for the half-SSE loss (∇²ℓ = I),
        with a batch axis and every coordinate at once. With the probe's tangents P = XV1ᵀ + vb1,
        dH = σ'(Z)⊙P, D = V2Hᵀ + W2dHᵀ + vb2:
          first layer: Σ_i k_i [V2_a·(r_i + w moved_i) + D_i·w + moved_i (V2_a·w) + (σ'(p_i) − σ'(Z_ia)) P_ia ‖w‖²]
                       + σ''(p_i) u_i (w·grad_i) P_ia,
          second layer W2[o, a]: Σ_i H_ia (D_oi + t dH_ia) + dH_ia (r_oi + t H_ia); b2[o]: Σ_i D_oi."""
        terms = self._line_terms(x, tau)
        n_in, hidden, n_out = self.sizes
        V1, vb1, V2, vb2 = self._unpack(probe_vectors)                              # (B, K, …)
        P = self.inputs.unsqueeze(1) @ V1.transpose(-1, -2) + vb1.unsqueeze(-2)       # (B, K, n, h)
        slope_Z = self._sigma_derivatives(terms["Z"])[0]                            # σ'(Z), (B, n, h)
        dH = slope_Z.unsqueeze(1) * P
        D = V2 @ terms["H"].transpose(-1, -2).unsqueeze(1) + terms["W2"].unsqueeze(1) @ dH.transpose(-1, -2)
        if vb2 is not None:
            D = D + vb2.unsqueeze(-1)                                               # (B, K, o, n)
        w, moved, k = terms["w"], terms["moved"], terms["k"]
        # the sums over the samples i of the formula above, regrouped so that only the P_ia term is formed per
        # (coordinate, probe, sample); the others are products over the few outputs o of sums over i
        V2_a = V2[..., self.unit].permute(0, 3, 1, 2)                               # (B, K1, K, o)
        V2_a_w = (V2_a * w.unsqueeze(2)).sum(-1)                                    # (B, K1, K)
        k_r = k @ terms["residual"].transpose(1, 2)                                  # (B, K1, o): Σ_i k_i r_oi
        k_D = (k @ D.flatten(1, 2).transpose(1, 2)).unflatten(-1, D.shape[1:3])     # (B, K1, K, o)
        slope_Z_a = slope_Z[..., self.unit].transpose(1, 2)                         # (B, K1, n)
        weight = (k * (terms["slope"] - slope_Z_a) * (w * w).sum(-1, keepdim=True)
                  + terms["bend"] * self.u * terms["grad_w"])                       # (B, K1, n)
        P_a = P[..., self.unit].permute(0, 3, 1, 2)                                 # (B, K1, K, n)
        mixed1 = ((V2_a * k_r.unsqueeze(2)).sum(-1) + 2 * V2_a_w * (k * moved).sum(-1, keepdim=True)
                  + (k_D * w.unsqueeze(2)).sum(-1) + (weight.unsqueeze(2) * P_a).sum(-1))   # (B, K1, K)
        dv = dH.transpose(-1, -2).repeat(1, 1, n_out, 1)                             # (B, K, o·h, n): dH_a
        if vb2 is not None:
            dv = torch.cat([dv, torch.zeros_like(dv[:, :, :n_out])], dim=2)
        D_rows = D[:, :, terms["rows"]].transpose(1, 2)                             # (B, K2, K, n)
        v, slope2 = terms["v"], terms["t2"] * terms["v"] + terms["r2"]
        mixed2 = (v.unsqueeze(2) * D_rows).sum(-1) + (slope2.unsqueeze(2) * dv.transpose(1, 2)).sum(-1)
        mixed = torch.cat([mixed1, mixed2], dim=1).transpose(1, 2)                  # (B, K, d)
        return self._first_partials(terms), reduce_probes(hessian, probe_vectors * mixed, probe_axis=1)


def stack_problems(problems: Sequence) -> LeastSquaresBatch | MLPBatch:
    """The batch of ``problems``: all LeastSquares with one (m, d), or all one-hidden-layer half-SSE
    FlatMLPObjectives of one architecture, dtype and device (ValueError otherwise)."""
    check_instance("problems", problems, (list, tuple), "non-empty list of problems")
    if len(problems) == 0:
        raise ValueError("problems must hold at least one problem")
    if not supports_batching(problems):
        raise ValueError("problems must all be LeastSquares with A of one shape (m, d), or all one-hidden-layer "
                         "half-SSE FlatMLPObjectives of one architecture, dtype and device")
    if isinstance(problems[0], LeastSquares):
        return LeastSquaresBatch(problems)
    return MLPBatch(problems)


def supports_batching(problems: Sequence) -> bool:
    """Whether :func:`stack_problems` takes ``problems`` (see there)."""
    if not isinstance(problems, (list, tuple)) or len(problems) == 0:
        return False
    first = problems[0]
    if isinstance(first, LeastSquares):
        return all(isinstance(p, LeastSquares) and p.A.dim() == 2 and p.A.shape == first.A.shape
                   and p.A.dtype == first.A.dtype and p.A.device == first.A.device for p in problems)
    if isinstance(first, FlatMLPObjective):
        def same(p) -> bool:
            return (isinstance(p, FlatMLPObjective) and tuple(p.sizes) == tuple(first.sizes)
                    and p.output_bias == first.output_bias and p.activation == first.activation
                    and p.loss == "half-sse" and p.inputs.shape == first.inputs.shape
                    and p.inputs.dtype == first.inputs.dtype and p.inputs.device == first.inputs.device)
        return len(first.sizes) == 3 and all(same(p) for p in problems)
    return False


@dataclass
class BatchRuns:
    """losses (B, steps + 1): f_b(x^(t)), NaN after a run diverged; diverged_at[b]: the step it diverged at
    (None if it did not); step_sizes (B, steps); x (B, d): the last finite iterate of each run."""

    losses: torch.Tensor
    diverged_at: list[int | None]
    step_sizes: torch.Tensor
    x: torch.Tensor

    @property
    def summed_loss(self) -> torch.Tensor:
        """Σ_t f(x^(t)) per run over the steps it completed (what CFGDHistory.summed_loss gives)."""
        return torch.nan_to_num(self.losses, nan=0.0).sum(-1)

    @property
    def final_loss(self) -> torch.Tensor:
        """The last finite loss of each run."""
        index = (~torch.isnan(self.losses)).sum(-1) - 1
        return self.losses.gather(-1, index.unsqueeze(-1)).squeeze(-1)


def batched_direction(problems, x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor,
                      c: torch.Tensor) -> torch.Tensor:
    """The one-node scaled Caputo direction with exact ∂²_jj for every run: x, c (B, d); alpha, beta (B,)
    (formula in the module docstring)."""
    u, w = gauss_jacobi(1, alpha)                                                   # (B, 1) each
    constant = (1 - alpha) / torch.pow(2.0, 1 - alpha)
    offset = x - c
    tau = c + offset * (1 + u) / 2
    g, h = problems.partials(x, tau)
    return (constant * w[:, 0]).unsqueeze(-1) * (g + beta.unsqueeze(-1) * offset * h)


def batched_step_size(problems, x: torch.Tensor, direction: torch.Tensor, rule) -> torch.Tensor:
    """η per run (B,) by ``rule``: ExactLineSearch on least squares, LookaheadGridSearch on either family."""
    if isinstance(rule, ExactLineSearch):
        if not isinstance(problems, LeastSquaresBatch):
            raise ValueError("step_size ExactLineSearch is batched for least squares only")
        slope, curvature = problems.curvature_along(x, direction)
        return torch.where(curvature > 0, slope / curvature.clamp_min(torch.finfo(x.dtype).tiny),
                           torch.zeros_like(slope))
    etas = torch.tensor(rule.grid, dtype=x.dtype, device=x.device)
    values = problems.values_along(x, direction, etas)
    values = torch.where(torch.isfinite(values), values, torch.full_like(values, math.inf))
    return etas[torch.argmin(values, dim=-1)]


def _check_run_arguments(problems, x0, steps, alpha, beta, c, variant, initial_terminals, step_size, blowup):
    check_instance("problems", problems, (LeastSquaresBatch, MLPBatch), "LeastSquaresBatch or MLPBatch "
                   "(stack_problems)")
    count = problems.count if isinstance(problems, LeastSquaresBatch) else problems.inputs.shape[0]
    check_real_tensor("x0", x0, dim=2)
    if x0.shape[0] != count:
        raise ValueError(f"x0 must have one row per problem ({count}), got shape {tuple(x0.shape)}")
    check_positive_int("steps", steps)
    for name, value in (("alpha", alpha), ("beta", beta)):
        check_real_tensor(name, value, dim=1)
        if value.shape[0] != count:
            raise ValueError(f"{name} must hold one value per run ({count}), got shape {tuple(value.shape)}")
    if bool(((alpha <= 0) | (alpha >= 1)).any()):
        raise ValueError("alpha must lie in (0, 1) for every run")
    check_choice("variant", variant, VARIANTS)
    if variant == "NA":
        check_real_tensor("c", c, dim=2)
        if c.shape != x0.shape:
            raise ValueError(f"c must have x0's shape {tuple(x0.shape)}, got {tuple(c.shape)}")
    else:
        check_real_tensor("initial_terminals", initial_terminals, dim=3)
        if initial_terminals.shape[0] != count or initial_terminals.shape[2] != x0.shape[1]:
            raise ValueError(f"initial_terminals must have shape ({count}, L, {x0.shape[1]}), got "
                             f"{tuple(initial_terminals.shape)}")
    check_instance("step_size", step_size, (ExactLineSearch, LookaheadGridSearch),
                   "ExactLineSearch or LookaheadGridSearch")
    check_positive("blowup", blowup)


def static_runs(problems, x0: torch.Tensor, steps: int, alpha: torch.Tensor, beta: torch.Tensor,
                c: torch.Tensor | None = None, variant: str = "NA", initial_terminals: torch.Tensor | None = None,
                step_size=None, blowup: float = 1e12) -> BatchRuns:
    """B static NA-/AT-CFGD runs in one tensor program (one node, exact ∂²_jj; what cfgd() computes run by run).

    problems: stack_problems(...) of B problems; x0 (B, d); alpha, beta (B,); NA: c (B, d); AT: initial_terminals
    (B, L, d), c^(t) = x^(t−L) after the first L steps. step_size: ExactLineSearch (least squares) or
    LookaheadGridSearch (default: ExactLineSearch for least squares, the default look-ahead grid otherwise).
    Divergence as in cfgd() (module docstring); a diverged run is frozen at its last finite iterate."""
    if step_size is None:
        step_size = ExactLineSearch() if isinstance(problems, LeastSquaresBatch) else LookaheadGridSearch()
    _check_run_arguments(problems, x0, steps, alpha, beta, c, variant, initial_terminals, step_size, blowup)
    x = x0.detach().clone()
    count = x.shape[0]
    losses = torch.full((count, steps + 1), math.nan, dtype=x.dtype, device=x.device)
    etas = torch.full((count, steps), math.nan, dtype=x.dtype, device=x.device)
    losses[:, 0] = problems.value(x)
    if not bool(torch.isfinite(losses[:, 0]).all()):
        raise ValueError("f(x0) must be finite for every run")
    limit = blowup * torch.clamp(losses[:, 0].abs(), min=1.0)
    active = torch.ones(count, dtype=torch.bool, device=x.device)
    diverged_at: list[int | None] = [None] * count
    queue = None if variant == "NA" else initial_terminals.to(x).clone()
    for t in range(steps):
        terminal = c if variant == "NA" else queue[:, 0]
        direction = batched_direction(problems, x, alpha, beta, terminal)
        eta = batched_step_size(problems, x, direction, step_size)
        if queue is not None:
            queue = torch.cat([queue[:, 1:], x.unsqueeze(1)], dim=1)
        candidate = x - eta.unsqueeze(-1) * direction
        loss = problems.value(candidate)
        bad = active & (~torch.isfinite(loss) | (loss.abs() > limit) | ~torch.isfinite(candidate).all(-1))
        for b in torch.nonzero(bad).flatten().tolist():
            diverged_at[b] = t + 1
        active = active & ~bad
        x = torch.where(active.unsqueeze(-1), candidate, x)
        losses[:, t + 1] = torch.where(active, loss, torch.full_like(loss, math.nan))
        etas[:, t] = torch.where(active, eta, torch.full_like(eta, math.nan))
        if not bool(active.any()):
            break
    return BatchRuns(losses, diverged_at, etas, x)
