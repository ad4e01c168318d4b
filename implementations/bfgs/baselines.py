"""Scalar-step baselines for CWSS-BFGS (THEORY.md §2): BFGS with a line search, a hypergradient tuner of
the diagonal P, L-BFGS (torch.optim.LBFGS, strong Wolfe) and Adam. All return a :class:`Trace`.
"""

from __future__ import annotations

import math
import time

import torch

from implementations.bfgs.diagnostics import Trace
from implementations.bfgs.line_search import backtracking_armijo, strong_wolfe
from implementations.bfgs.update import SAFEGUARDS, safeguarded_update
from implementations.validation import (
    as_tensor,
    check_choice,
    check_finite,
    check_nonnegative,
    check_objective,
    check_positive,
    check_positive_int,
    check_subinterval,
)

LINE_SEARCHES = ("armijo", "wolfe")


def _start(objective, x0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x0 (finite, shape (d,)) and f, ∇f there, checked: an objective with value and gradient that maps x0 to a
    finite scalar and a finite gradient of x0's shape (a run cannot start where f is not defined)."""
    check_objective("objective", objective)
    x = check_finite("x0", as_tensor("x0", x0)).detach().clone()
    if x.dim() != 1 or x.numel() == 0:
        raise ValueError(f"x0 must have shape (d,) with d >= 1, got {tuple(x.shape)}")
    try:
        with torch.no_grad():
            f, g = objective.value(x), objective.gradient(x)
    except torch.OutOfMemoryError:
        raise
    except (RuntimeError, IndexError) as exc:  # typically x0 of another size than the objective's
        raise ValueError(f"objective could not be evaluated at x0 of shape {tuple(x.shape)}: "
                         f"{type(exc).__name__}: {exc}") from exc
    if not (isinstance(f, torch.Tensor) and f.numel() == 1 and isinstance(g, torch.Tensor) and g.shape == x.shape):
        raise ValueError(f"objective must map x0 of shape {tuple(x.shape)} to a scalar value and a gradient of that "
                         f"shape, got {type(f).__name__} and {tuple(getattr(g, 'shape', ()))}")
    if not (bool(torch.isfinite(f).all()) and bool(torch.isfinite(g).all())):
        raise ValueError(f"the objective's value and gradient at x0 must be finite, got f(x0) = {float(f)}")
    return x, f, g


def _blew_up(f: torch.Tensor, g: torch.Tensor, x: torch.Tensor, limit: float) -> bool:
    """The divergence criterion of cwss_bfgs: f, ∇f or x non-finite, or |f| above ``limit``."""
    return not (math.isfinite(float(f)) and abs(float(f)) <= limit and bool(torch.isfinite(g).all())
                and bool(torch.isfinite(x).all()))


def bfgs_line_search(objective, x0, iterations: int, line_search: str = "wolfe", safeguard: str = "skip",
                     gtol: float = 0.0, blowup: float = 1e12) -> Trace:
    """BFGS x⁺ = x − α H∇f with α from ``line_search`` ('armijo' or 'wolfe'); H_0 = I, then the
    Shanno–Phua scaling before the first update (N&W Eq. 6.20, as scipy's BFGS does not but N&W advise).
    A failed line search is recorded (``line_search_failed``) and the step still taken if it decreased f,
    otherwise the run stops there. Stops early when ‖g‖ ≤ gtol. Single instance, x0 of shape (d,).

    Divergence is recorded, never raised, with the criterion and convention of ``cwss_bfgs``: the run diverges
    at iteration k when f(x_{k+1}), ∇f(x_{k+1}) or x_{k+1} is non-finite or |f(x_{k+1})| > blowup·max(1, |f(x_0)|)
    (f unbounded below, e.g. an indefinite or linear objective, where the strong-Wolfe search runs up to its
    alpha_max); then ``diverged_at`` = [k], that row's f is NaN, x stays at x_k and the run stops.
    """
    check_choice("line_search", line_search, LINE_SEARCHES)
    check_choice("safeguard", safeguard, SAFEGUARDS)
    check_positive_int("iterations", iterations)
    check_nonnegative("gtol", gtol)
    check_positive("blowup", blowup)
    started = time.perf_counter()
    x, f, g = _start(objective, x0)
    limit = blowup * max(1.0, abs(float(f)))
    H = torch.eye(x.shape[0], dtype=x.dtype, device=x.device)
    spare = None  # the buffer the next H is written into
    trace = Trace(f0=f.reshape(1).clone(), grad_norm0=torch.linalg.vector_norm(g).reshape(1), started=started)
    trace.diverged_at = torch.tensor([-1], device=x.device)
    evaluations = 1
    for k in range(iterations):
        if float(torch.linalg.vector_norm(g)) <= gtol:
            break
        p = -(H @ g)
        if line_search == "armijo":
            result = backtracking_armijo(objective, x, f, g, p)
        else:
            result = strong_wolfe(objective, x, f, g, p)
        evaluations += result.evaluations
        if result.alpha == 0.0 or not (float(result.f) < float(f)):
            trace.record(f=f, grad_norm=torch.linalg.vector_norm(g), line_search_failed=x.new_tensor(1.0),
                         step_length=x.new_tensor(0.0))
            break
        x_next = x + result.alpha * p
        g_next = result.g if result.g is not None else objective.gradient(x_next)
        if result.g is None:
            evaluations += 1
        if _blew_up(result.f, g_next, x_next, limit):
            trace.record(f=x.new_tensor(float("nan")), grad_norm=torch.linalg.vector_norm(g),
                         step_length=x.new_tensor(result.alpha),
                         line_search_failed=x.new_tensor(float(not result.success)))
            trace.diverged_at = torch.tensor([k], device=x.device)
            break
        s, y = x_next - x, g_next - g
        bs = -result.alpha * g  # s = α p = −α H g, so H⁻¹s = −α g: Powell damping needs no solve
        if k == 0 and float(y @ y) > 0 and float(y @ s) > 0:
            scale = float(y @ s) / float(y @ y)
            H, bs = scale * H, bs / scale
        if spare is None or spare.shape != H.shape or not H.is_contiguous():
            H, spare = H.contiguous(), torch.empty_like(H, memory_format=torch.contiguous_format)
        # ping-pong between two d×d buffers: a fresh d×d result per iteration costs more than the update itself
        updated, fired = safeguarded_update(H, s, y, safeguard, bs=bs, out=spare if safeguard != "none" else None)
        H, spare = updated, H
        x, f, g = x_next, result.f, g_next
        trace.record(f=f, grad_norm=torch.linalg.vector_norm(g), p_dev_inf=x.new_tensor(abs(result.alpha - 1)),
                     ys=y @ s, descent=x.new_tensor(1.0), safeguard_fired=fired.to(x.dtype),
                     step_length=x.new_tensor(result.alpha), line_search_failed=x.new_tensor(float(not result.success)))
    trace.evaluations, trace.wall_time = evaluations, time.perf_counter() - started
    trace.x, trace.H = x.unsqueeze(0), H.unsqueeze(0)
    return trace


class HypergradientSteps:
    """Hypergradient-descent tuning of the diagonal P (Baydin et al. 2018, applied to CWSS here):
    ∂f(x_k)/∂P_{k−1} = −g_k ⊙ d_{k−1}, so P_k = clip(P_{k−1} + β h_k / mean_i|h_{k,i}|, interval),
    h_k = g_k ⊙ d_{k−1} (normalised so β is scale free; P_0 = 1). A step-size policy for ``cwss_bfgs``."""

    learns = False

    def __init__(self, beta: float = 0.05, interval: tuple[float, float] = (0.1, 1.9)) -> None:
        check_positive("beta", beta)
        interval = check_subinterval("interval", interval, 0.0, 2.0)
        self.beta, self.interval = beta, interval
        self.P = None
        self.previous_d = None

    def propose(self, k, x, g, d):
        if k == 0 or self.P is None:
            self.P = torch.ones_like(x)
        else:
            h = g * self.previous_d
            scale = h.abs().mean(-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
            raw = self.P + self.beta * h / scale
            self.P = raw.clamp(*self.interval)
        self.previous_d = d
        clipped = ((self.P <= self.interval[0]) | (self.P >= self.interval[1])).to(x.dtype).mean(-1)
        return self.P, clipped

    def learn(self, f_next, f, g, d, P):  # pragma: no cover - never called
        raise NotImplementedError


def lbfgs_torch(objective, x0, iterations: int, history: int = 10, gtol: float = 0.0) -> Trace:
    """torch.optim.LBFGS with line_search_fn='strong_wolfe' (≤ 25 line-search evaluations), one outer
    iteration per recorded step; stops early once ‖∇f‖₂ ≤ ``gtol``."""
    check_positive_int("iterations", iterations)
    check_positive_int("history", history)
    check_nonnegative("gtol", gtol)
    started = time.perf_counter()
    x, f, g = _start(objective, x0)
    trace = Trace(f0=f.reshape(1).clone(), grad_norm0=torch.linalg.vector_norm(g).reshape(1), started=started)
    w = x.clone().requires_grad_(True)
    # max_eval must be given: its default max_iter·5//4 = 1 would leave the line search no evaluations.
    optimiser = torch.optim.LBFGS([w], lr=1, max_iter=1, max_eval=26, history_size=history,
                                  line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)

    def closure():
        optimiser.zero_grad()
        loss = objective.value(w)
        loss.backward()
        return loss

    for _ in range(iterations):
        optimiser.step(closure)
        with torch.no_grad():
            f, g = objective.value(w), objective.gradient(w)
        if not torch.isfinite(f):
            trace.diverged_at = torch.tensor([trace.iterations], device=x.device)
            break
        trace.record(f=f, grad_norm=torch.linalg.vector_norm(g))
        if float(torch.linalg.vector_norm(g)) <= gtol:
            break
    state = optimiser.state[optimiser._params[0]]
    # each step() call re-evaluates f at the point the previous line search ended on: not counted here.
    calls = trace.iterations + (0 if trace.diverged_at is None else 1)
    trace.evaluations = int(state.get("func_evals", 0)) - max(calls - 1, 0)
    trace.wall_time = time.perf_counter() - started
    if trace.diverged_at is None:
        trace.diverged_at = torch.tensor([-1], device=x.device)
    trace.x = w.detach().unsqueeze(0)
    return trace


def adam(objective, x0, iterations: int, lr: float = 1e-2) -> Trace:
    """torch.optim.Adam with full-batch gradients (the CNN baseline). A non-finite f or ∇f ends the run,
    recorded in ``diverged_at`` (never raised)."""
    check_positive_int("iterations", iterations)
    check_positive("lr", lr)
    started = time.perf_counter()
    x, f, g = _start(objective, x0)
    trace = Trace(f0=f.reshape(1).clone(), grad_norm0=torch.linalg.vector_norm(g).reshape(1), started=started)
    w = x.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([w], lr=lr)
    trace.diverged_at = torch.tensor([-1], device=x.device)
    for k in range(iterations):
        optimiser.zero_grad()
        objective.value(w).backward()
        optimiser.step()
        with torch.no_grad():
            f, g = objective.value(w), objective.gradient(w)
        if not (torch.isfinite(f).all() and torch.isfinite(g).all()):
            trace.record(f=x.new_tensor(float("nan")), grad_norm=x.new_tensor(float("nan")))
            trace.diverged_at = torch.tensor([k], device=x.device)
            break
        trace.record(f=f, grad_norm=torch.linalg.vector_norm(g))
    trace.evaluations = 2 * trace.iterations + 1
    trace.wall_time = time.perf_counter() - started
    trace.x = w.detach().unsqueeze(0)
    return trace
