"""NA- and AT-CFGD for any objective of a flat vector, with the step-size rules the paper uses
(THEORY.md §1.4): exact line search (quadratics), a look-ahead grid search (H-functions), a fixed η (MLP).

NA-CFGD: fixed terminal c.  AT-CFGD: c^(t) = x^(t−L), with L given initial terminals for t < L (the authors'
code keeps a queue of L past iterates seeded with random initial points).
Update: x^(t+1) = x^(t) − η_t D f(x^(t)), D the scaled Caputo gradient (implementations.cfgd.caputo).
A run whose loss turns non-finite (or grows by more than ``blowup``×) stops and records ``diverged_at``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch
from torch.func import grad, jvp, vmap

from implementations.cfgd.caputo import caputo_gradient
from implementations.problems.flat_mlp import ACTIVATION_FUNCTIONS
from implementations.validation import (
    as_tensor,
    check_callable,
    check_finite,
    check_generator,
    check_instance,
    check_positive,
    check_positive_int,
    check_real_tensor,
)

Objective = Callable[[torch.Tensor], torch.Tensor]


def has_closed_form_derivatives(f: Objective) -> bool:
    """Whether f provides ``gradient(x)`` and ``hessian_vector_product(x, v)`` (e.g. LeastSquares)."""
    return callable(getattr(f, "gradient", None)) and callable(getattr(f, "hessian_vector_product", None))


def gradient_of(f: Objective, x: torch.Tensor) -> torch.Tensor:
    """∇f(x): f.gradient(x) when f has closed-form derivatives, else torch.func.grad(f)(x)."""
    return f.gradient(x) if has_closed_form_derivatives(f) else grad(f)(x)


def gradient_and_curvature(f: Objective, x: torch.Tensor, direction: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∇f(x), ∇²f(x) d): the closed forms when f has them, else one jvp of torch.func.grad(f) (forward over
    reverse mode, no Hessian formed)."""
    if has_closed_form_derivatives(f):
        return f.gradient(x), f.hessian_vector_product(x, direction)
    return jvp(grad(f), (x,), (direction,))


class StepSize(Protocol):
    def __call__(self, f: Objective, x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor: ...


def check_step_arguments(f: Objective, x, direction) -> None:
    """What a step-size rule is called with: a callable f and finite floating tensors x and d of one shape."""
    check_callable("f", f)
    check_real_tensor("x", x)
    check_real_tensor("direction", direction)
    if direction.shape != x.shape:
        raise ValueError(f"direction must have the shape of x, {tuple(x.shape)}, got {tuple(direction.shape)}")


@dataclass(frozen=True)
class FixedStep:
    """η_t = eta (the authors' rule on the MLP classifier, η = 0.1)."""

    eta: float

    def __post_init__(self) -> None:
        check_positive("eta", self.eta)

    def __call__(self, f: Objective, x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.eta, dtype=x.dtype, device=x.device)


@dataclass(frozen=True)
class ExactLineSearch:
    """η = ∇f(x)ᵀd / dᵀ∇²f(x)d, the exact minimiser of f(x − ηd) when f is quadratic (the authors'
    get_optimal_lr, without their +1e-6 in the denominator); ∇²f d by gradient_and_curvature. Returns 0 when
    dᵀ∇²f d ≤ 0 (no minimiser along d). The step is computed on detached x and d (as in the code)."""

    def __call__(self, f: Objective, x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        check_step_arguments(f, x, direction)
        x, direction = x.detach(), direction.detach()
        gradient, curvature_dir = gradient_and_curvature(f, x, direction)
        curvature = (direction * curvature_dir).sum()
        slope = (gradient * direction).sum()
        return torch.where(curvature > 0, slope / curvature.clamp_min(torch.finfo(x.dtype).tiny),
                           torch.zeros_like(slope))


def authors_lookahead_grid() -> tuple[float, ...]:
    """The code's default grid: t·10^(−k), t ∈ {1/4, 1/2, 3/4, 1}, k = 1..7 (28 values, at most 0.1)."""
    return tuple(t * 10.0 ** (-k) for t in (0.25, 0.5, 0.75, 1.0) for k in range(1, 8))


@dataclass(frozen=True)
class LookaheadGridSearch:
    """η = argmin_{η ∈ grid} f(x − ηd) (one-step look-ahead; all grid points evaluated in one vmap).
    The code applies it to the hidden layer and an exact line search to the (quadratic) output layer of the
    H-function MLP; here one η for all coordinates (documented simplification)."""

    grid: tuple[float, ...] = field(default_factory=authors_lookahead_grid)

    def __post_init__(self) -> None:
        check_instance("grid", self.grid, (tuple, list), "tuple of positive step sizes")
        if len(self.grid) == 0:
            raise ValueError("grid must contain at least one step size")
        for eta in self.grid:
            check_positive("grid entry", eta)

    def __call__(self, f: Objective, x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        check_step_arguments(f, x, direction)
        x, direction = x.detach(), direction.detach()
        etas = torch.tensor(self.grid, dtype=x.dtype, device=x.device)
        values = vmap(f)(x - etas.unsqueeze(-1) * direction)
        values = torch.where(torch.isfinite(values), values, torch.full_like(values, math.inf))
        return etas[torch.argmin(values)]


@dataclass(frozen=True)
class LayerwiseLookahead:
    """The authors' step-size rule on the one-hidden-layer H-function MLPs ("code": their
    parallel_n_step_lookahead_lr_search_hfunc_tanh_twolayer_optee in fl2o/training.py), written out here: for each
    η of the grid the first layer (W1, b1) moves by −η D₁; at the moved first layer the loss is quadratic in the
    output weights W2, which take their exact line-search step along their part D₂ of the direction,
    η₂(η) = ∇_{W2} f·D₂ / (D₂ᵀ ∇²_{W2} f D₂ + 1e-6) (their get_optimal_lr, with its 1e-6); the η whose two-layer step
    gives the lowest loss is kept (the first such; non-finite losses never). Returns per-coordinate step sizes:
    η on the first layer's coordinates, η₂(η) on the output layer's. For a FlatMLPObjective with sizes
    (n_in, h, 1), no output bias and the half-SSE loss (the H-function regressions)."""

    grid: tuple[float, ...] = field(default_factory=authors_lookahead_grid)

    def __post_init__(self) -> None:
        LookaheadGridSearch(self.grid)  # the same checks of the grid

    def __call__(self, f: Objective, x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        check_step_arguments(f, x, direction)
        sizes = getattr(f, "sizes", None)
        if (sizes is None or len(sizes) != 3 or sizes[2] != 1 or getattr(f, "output_bias", True)
                or getattr(f, "loss", None) != "half-sse"):
            raise ValueError("f must be a one-hidden-layer half-SSE FlatMLPObjective with one output and no output "
                             "bias for LayerwiseLookahead")
        x, direction = x.detach(), direction.detach()
        n_in, hidden, _ = sizes
        first = hidden * n_in + hidden
        W1, b1, W2 = x[:hidden * n_in].reshape(hidden, n_in), x[hidden * n_in:first], x[first:]
        dW1, db1, dW2 = (direction[:hidden * n_in].reshape(hidden, n_in), direction[hidden * n_in:first],
                         direction[first:])
        etas = torch.tensor(self.grid, dtype=x.dtype, device=x.device)
        pre = (f.inputs @ W1.T + b1) - etas.view(-1, 1, 1) * (f.inputs @ dW1.T + db1)      # (E, n, h)
        H = ACTIVATION_FUNCTIONS[f.activation](pre)
        targets = f.targets[:, 0]
        residual = H @ W2 - targets                                                       # (E, n)
        moved = H @ dW2
        eta2 = (residual * moved).sum(-1) / ((moved * moved).sum(-1) + 1e-6)
        values = 0.5 * ((residual - eta2.unsqueeze(-1) * moved) ** 2).sum(-1)
        values = torch.where(torch.isfinite(values), values, torch.full_like(values, math.inf))
        best = int(torch.argmin(values))
        eta = torch.full_like(x, float(etas[best]))
        eta[first:] = eta2[best]
        return eta


@dataclass
class CFGDHistory:
    """losses[t] = f(x^(t)) for t = 0..T (shorter if the run diverged), the final x, the step sizes used (a list
    per step for a per-coordinate rule such as LayerwiseLookahead)."""

    losses: list[float]
    x: torch.Tensor
    step_sizes: list[float]
    diverged_at: int | None = None

    @property
    def summed_loss(self) -> float:
        return float(sum(self.losses))


class TerminalSchedule:
    """c^(t): constant (NA) or the iterate L steps back (AT), seeded with L initial terminals."""

    def __init__(self, variant: str, x0: torch.Tensor, c=None, initial_terminals: torch.Tensor | None = None):
        if variant not in ("NA", "AT"):
            raise ValueError(f"variant must be 'NA' or 'AT', got {variant!r}")
        self.variant = variant
        if variant == "NA":
            if initial_terminals is not None:
                raise ValueError("initial_terminals apply to variant='AT' only (NA-CFGD keeps the terminal c)")
            self.c = check_finite("c", as_tensor("c", 0.0 if c is None else c, like=x0))
            self.queue: list[torch.Tensor] = []
        else:
            if c is not None:
                raise ValueError("c applies to variant='NA' only (AT-CFGD's terminal is the iterate L steps back)")
            if initial_terminals is not None:
                check_real_tensor("initial_terminals", initial_terminals, finite=False)
            if initial_terminals is None or initial_terminals.dim() != 2 or initial_terminals.shape[1] != x0.shape[0]:
                raise ValueError("AT-CFGD needs initial_terminals of shape (L, d) with L >= 1")
            check_finite("initial_terminals", initial_terminals)
            self.queue = [t.to(x0) for t in initial_terminals]

    def current(self) -> torch.Tensor:
        return self.c if self.variant == "NA" else self.queue[0]

    def advance(self, x: torch.Tensor) -> None:
        if self.variant == "AT":
            self.queue.pop(0)
            self.queue.append(x.detach().clone())


def start_value(f: Objective, x0: torch.Tensor) -> float:
    """f(x0) as a float: finite, from a scalar tensor (ValueError naming f or x0 otherwise)."""
    try:
        value = f(x0)
    except torch.OutOfMemoryError:
        raise
    except (RuntimeError, IndexError) as exc:
        raise ValueError(f"f(x0) failed for x0 of shape {tuple(x0.shape)}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise ValueError(f"f must return a scalar tensor, got {type(value).__name__} "
                         f"{tuple(value.shape) if isinstance(value, torch.Tensor) else ''}")
    if not math.isfinite(float(value)):
        raise ValueError(f"f(x0) must be finite, got {float(value)}")
    return float(value)


def random_initial_terminals(history: int, x0: torch.Tensor, generator: torch.Generator | None = None,
                             scale: float = 1.0) -> torch.Tensor:
    """L random initial terminals x0 + scale·N(0, I) (the code seeds AT-CFGD with random points)."""
    check_positive_int("history", history)
    noise = torch.randn(history, x0.shape[0], generator=generator, dtype=x0.dtype).to(x0.device)
    return x0.detach() + scale * noise


def cfgd(f: Objective, x0: torch.Tensor, steps: int, alpha, beta=0.0, c=None, variant: str = "NA",
         initial_terminals: torch.Tensor | None = None, step_size: StepSize | None = None, nodes: int = 1,
         hessian: str = "exact", probes: int = 5, generator: torch.Generator | None = None,
         blowup: float = 1e12) -> CFGDHistory:
    """Run NA-CFGD (fixed c) or AT-CFGD (c^(t) = x^(t−L)) for ``steps`` steps from x0 (paper §2–3, THEORY.md
    §1.4). α, β, c: scalars or per-coordinate tensors (held fixed: the static baselines). ``probes``
    defaults to 5, the code's count for the static baselines. Stops at the first non-finite loss or loss
    above ``blowup`` × max(1, f(x0)) and records diverged_at = that step."""
    check_positive_int("steps", steps)
    check_positive("blowup", blowup)
    check_callable("f", f)
    check_real_tensor("x0", x0, finite=False)
    if x0.dim() != 1:
        raise ValueError("x0 must be a flat tensor of shape (d,)")
    check_finite("x0", x0)
    step_size = ExactLineSearch() if step_size is None else check_callable("step_size", step_size)
    check_generator("generator", generator)
    terminals = TerminalSchedule(variant, x0, c, initial_terminals)
    x = x0.detach().clone()
    losses = [start_value(f, x)]
    limit = blowup * max(1.0, abs(losses[0]))
    etas: list[float] = []
    for t in range(steps):
        direction = caputo_gradient(f, x, alpha, beta, terminals.current(), nodes=nodes, hessian=hessian,
                                    probes=probes, generator=generator)
        eta = step_size(f, x, direction)
        terminals.advance(x)
        x = x - eta * direction
        loss = float(f(x))
        etas.append(float(eta) if eta.numel() == 1 else eta.detach().tolist())
        if not math.isfinite(loss) or abs(loss) > limit or not bool(torch.isfinite(x).all()):
            return CFGDHistory(losses, x, etas, diverged_at=t + 1)
        losses.append(loss)
    return CFGDHistory(losses, x, etas)
