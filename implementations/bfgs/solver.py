"""BFGS with coordinate-wise step sizes (CWSS): x_{k+1} = x_k − P_k H_k ∇f(x_k), P_k diagonal (THEORY.md §2).

Batched over instances: x (B, d), H (B, d, d). ``cwss_bfgs`` takes a step policy that proposes P_k from
(k, x_k, g_k, d_k = H_k g_k); a learning policy is also handed f(x_{k+1}) with its graph, so it can update
itself after every iteration (the paper's online update). H_0 = I/‖g_0‖₂ (a unit first step of length 1,
chosen here; the paper's H_0 is not stated), then the Shanno–Phua scaling H_0 ← (yᵀs/yᵀy)I before the
first update (Nocedal & Wright Eq. 6.20). Divergence freezes that instance and is recorded in
``Trace.diverged_at``; it never raises. An instance diverges at step k when f(x_{k+1}), ∇f(x_{k+1}), x_{k+1},
s or y is non-finite, when |f(x_{k+1})| > blowup·max(1, |f(x_0)|) (an iterate running away while f stays
finite: on Rosenbrock |x| ≈ 1e65 still gives f ≈ 1e260), or when H_k g_k or the updated H overflows.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

import torch

from implementations.bfgs.diagnostics import Trace
from implementations.bfgs.update import SAFEGUARDS, condition_number, safeguarded_update
from implementations.validation import (
    as_tensor,
    check_bool,
    check_choice,
    check_closed_interval,
    check_finite,
    check_objective,
    check_positive,
    check_positive_int,
    check_real_tensor,
    check_spd,
    check_subinterval,
)


class Objective(Protocol):
    def value(self, x: torch.Tensor) -> torch.Tensor: ...
    def gradient(self, x: torch.Tensor) -> torch.Tensor: ...


class StepPolicy(Protocol):
    learns: bool

    def propose(self, k: int, x: torch.Tensor, g: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(P_k (B, d), clipped fraction (B,))."""

    def learn(self, f_next: torch.Tensor, f: torch.Tensor, g: torch.Tensor, d: torch.Tensor, P: torch.Tensor) -> None:
        """Called with f(x_{k+1}) carrying its graph to P_k when ``learns``."""


# A policy whose ``uses_inverse_hessian`` is True (a look-ahead oracle) is shown the solver's state before each
# proposal: ``policy.observe(H, rescale, safeguard)`` with H_k (B, d, d), whether the Shanno–Phua scaling follows
# this step (the first step when H0 is None) and the curvature safeguard, so it can simulate the steps after it.


STABLE_INTERVAL = (0.0, 2.0)


def check_step_interval(interval) -> tuple[float, float] | None:
    """None (no range check, on purpose) or a pair (low, high) with 0 <= low < high <= 2."""
    return None if interval is None else check_subinterval("interval", interval, *STABLE_INTERVAL)


def check_steps(P: torch.Tensor, interval: tuple[float, float] | None) -> torch.Tensor:
    """P finite and, unless ``interval`` is None, every entry inside the closed interval (default [0, 2], the
    range in which the exact-Hessian step is non-expanding: THEORY.md §2.1 D4)."""
    check_finite("P", P)
    return P if interval is None else check_closed_interval("P", P, *interval)


def cwss_step(x: torch.Tensor, g: torch.Tensor, H: torch.Tensor, P: torch.Tensor,
              interval: tuple[float, float] | None = STABLE_INTERVAL) -> torch.Tensor:
    """x⁺ = x − P H g for x, g, P (..., d), H (..., d, d) SPD (validated: shapes, finiteness, SPD, and P within
    ``interval``; pass interval=None to study steps outside [0, 2] on purpose)."""
    interval = check_step_interval(interval)
    x = check_finite("x", as_tensor("x", x))
    g = check_finite("g", as_tensor("g", g, like=x))
    P = check_steps(as_tensor("P", P, like=x), interval)
    H = check_spd("H", as_tensor("H", H, like=x))
    if g.shape != x.shape or P.shape != x.shape or H.shape != x.shape + x.shape[-1:]:
        raise ValueError(f"shapes do not match: x {tuple(x.shape)}, g {tuple(g.shape)}, P {tuple(P.shape)}, "
                         f"H {tuple(H.shape)} (need g, P like x and H (..., d, d))")
    return x - P * (H @ g.unsqueeze(-1)).squeeze(-1)


class FixedSteps:
    """P_k = schedule(k), a tensor broadcastable to (B, d) (constant P, P_k → I, P_k → cI, …), each P_k
    checked to lie within ``interval`` (default [0, 2]; None allows any finite P, for experiments that leave
    the interval on purpose)."""

    learns = False

    def __init__(self, schedule: Callable[[int], torch.Tensor] | float,
                 interval: tuple[float, float] | None = STABLE_INTERVAL) -> None:
        self.interval = interval = check_step_interval(interval)
        if callable(schedule):
            self.schedule = schedule
        else:
            try:
                constant = check_steps(as_tensor("schedule", schedule), interval)
            except ValueError as exc:
                raise ValueError(f"schedule: {exc}") from None
            self.schedule = lambda k: constant

    def propose(self, k, x, g, d):
        P = torch.broadcast_to(check_steps(as_tensor("P", self.schedule(k), like=x), self.interval), x.shape)
        return P, torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)

    def learn(self, f_next, f, g, d, P):  # pragma: no cover - never called (learns is False)
        raise NotImplementedError


def _gradient(objective: Objective, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return objective.gradient(x)


def _overflowed(H: torch.Tensor) -> torch.Tensor:
    """(B,): True where H (B, d, d) has a non-finite entry. A finite sum of a matrix's entries proves them all
    finite in one reduction (no d×d mask: this runs every iteration, and d = 1503 on the CNN); only a matrix
    whose sum is not finite, which an overflowing sum of finite entries can also cause, is checked entry by
    entry."""
    suspect = ~torch.isfinite(H.sum((-1, -2)))
    if not bool(suspect.any()):
        return suspect
    return ~torch.isfinite(H).all(-1).all(-1)


def _start_values(objective: Objective, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f (B,) and ∇f (B, d) at x (B, d); ValueError naming x0 when the objective cannot take x's shape."""
    batch, dim = x.shape
    try:
        with torch.no_grad():
            f = objective.value(x).reshape(batch)
        return f, _gradient(objective, x).reshape(batch, dim)
    except torch.OutOfMemoryError:
        raise
    except (RuntimeError, IndexError) as exc:
        raise ValueError(f"objective could not be evaluated at x0 of shape {tuple(x.shape)} (value (B,) and "
                         f"gradient (B, d) expected): {type(exc).__name__}: {exc}") from exc


def cwss_bfgs(objective: Objective, x0, policy: StepPolicy, iterations: int, safeguard: str = "skip",
              H0: torch.Tensor | None = None, cond_every: int = 1, keep_iterates: bool = False,
              blowup: float = 1e12, stop_at=None) -> Trace:
    """Run K = ``iterations`` CWSS-BFGS steps from x0 (B, d) (or (d,), treated as B = 1).

    κ(H_k) is computed every ``cond_every`` iterations (an O(d³) eigendecomposition; NaN otherwise; 0 = never).
    ``H0``: a fixed SPD initial inverse Hessian (B, d, d), which also disables the Shanno–Phua scaling.
    ``blowup``: the divergence threshold on |f| relative to max(1, |f(x_0)|) (module docstring).
    ``stop_at``: None, or target values (B,) (or one number): the run ends after the first iteration at which
    every instance has f ≤ its target or has diverged (for runs that only count the iterations to a tolerance).
    Arguments are checked once at entry (TypeError/ValueError naming the argument).
    """
    check_objective("objective", objective)
    check_objective("policy", policy, ("propose", "learn"))
    check_bool("policy.learns", getattr(policy, "learns", None))
    check_positive_int("iterations", iterations)
    check_choice("safeguard", safeguard, SAFEGUARDS)
    check_positive("blowup", blowup)
    check_bool("keep_iterates", keep_iterates)
    if isinstance(cond_every, bool) or not isinstance(cond_every, int) or cond_every < 0:
        raise ValueError(f"cond_every must be an int >= 0, got {cond_every!r}")
    x = check_finite("x0", as_tensor("x0", x0)).detach().clone()
    if x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2 or x.numel() == 0:
        raise ValueError(f"x0 must have shape (d,) or (B, d) with B, d >= 1, got {tuple(x.shape)}")
    batch, dim = x.shape
    if stop_at is not None:
        stop_at = check_real_tensor("stop_at", as_tensor("stop_at", stop_at, like=x), dim=(0, 1), finite=False)
        if stop_at.shape not in ((), (1,), (batch,)) or bool(torch.isnan(stop_at).any()):
            raise ValueError(f"stop_at must be None, one number or {batch} numbers without NaN, got shape "
                             f"{tuple(stop_at.shape)}")
        stop_at = torch.broadcast_to(stop_at, (batch,))
    observes = check_bool("policy.uses_inverse_hessian", getattr(policy, "uses_inverse_hessian", False))
    if observes:
        check_objective("policy", policy, ("propose", "learn", "observe"))
    started = time.perf_counter()
    f, g = _start_values(objective, x)
    evaluations = 1
    eye = torch.eye(dim, dtype=x.dtype, device=x.device)
    if H0 is None:
        scale = 1.0 / torch.linalg.vector_norm(g, dim=-1).clamp_min(torch.finfo(x.dtype).tiny)
        H = scale[:, None, None] * eye
        rescale = True
    else:
        H = check_spd("H0", as_tensor("H0", H0, like=x))
        if H.shape not in ((dim, dim), (batch, dim, dim)):
            raise ValueError(f"H0 must have shape (d, d) or (B, d, d) = {(batch, dim, dim)}, got {tuple(H.shape)}")
        H = H.expand(batch, dim, dim).clone()
        rescale = False
    trace = Trace(f0=f.clone(), grad_norm0=torch.linalg.vector_norm(g, dim=-1), started=started)
    diverged_at = torch.full((batch,), -1, dtype=torch.long, device=x.device)
    iterates = [x.clone()] if keep_iterates else None
    limit = blowup * f.abs().clamp_min(1.0)
    spare = None  # the buffer the next H is written into
    for k in range(iterations):
        d = (H @ g.unsqueeze(-1)).squeeze(-1)
        overflow = (diverged_at < 0) & ~torch.isfinite(d).all(-1)
        diverged_at = torch.where(overflow, torch.full_like(diverged_at, k), diverged_at)
        active = diverged_at < 0
        d = torch.where(active.unsqueeze(-1), d, torch.zeros_like(d))
        if observes:
            policy.observe(H, rescale and k == 0, safeguard)
        P, clipped = policy.propose(k, x, g, d)
        x_next = x - P * d
        if policy.learns:
            f_next = objective.value(x_next).reshape(batch)
            policy.learn(f_next, f, g, d, P)
            f_next, x_next, P = f_next.detach(), x_next.detach(), P.detach()
        else:
            with torch.no_grad():
                f_next = objective.value(x_next).reshape(batch)
        g_next = _gradient(objective, x_next).reshape(batch, dim)
        evaluations += 1
        step, change = x_next - x, g_next - g
        finite = (torch.isfinite(f_next) & (f_next.abs() <= limit) & torch.isfinite(g_next).all(-1)
                  & torch.isfinite(x_next).all(-1) & torch.isfinite(step).all(-1) & torch.isfinite(change).all(-1))
        newly = active & ~finite
        diverged_at = torch.where(newly, torch.full_like(diverged_at, k), diverged_at)
        keep = (diverged_at >= 0).unsqueeze(-1)
        s = torch.where(keep, torch.zeros_like(x), step)
        y = torch.where(keep, torch.zeros_like(g), change)
        ys = (y * s).sum(-1)
        if rescale and k == 0:
            yy = (y * y).sum(-1)
            good = (ys > 0) & (yy > 0)
            gamma = torch.where(good, ys / yy.clamp_min(torch.finfo(x.dtype).tiny), H[:, 0, 0])
            H = torch.mul(gamma[:, None, None], eye, out=H)  # H₀ = I/‖g₀‖ is not needed any more: reuse its buffer
        if spare is None or spare.shape != H.shape or not H.is_contiguous():
            H, spare = H.contiguous(), torch.empty_like(H, memory_format=torch.contiguous_format)
        updated, fired = safeguarded_update(H, s, y, safeguard, out=spare if safeguard != "none" else None)
        overflow = _overflowed(updated)
        diverged_at = torch.where((diverged_at < 0) & overflow, torch.full_like(diverged_at, k), diverged_at)
        if bool(overflow.any()):
            H = torch.where(overflow[:, None, None], H, updated)
            spare = None
        else:  # ping-pong between two d×d buffers: the old H becomes the next update's output
            H, spare = updated, H
        descent = (g * P * d).sum(-1) > 0
        dev = (P - 1).abs()
        cond = condition_number(H) if cond_every and (k + 1) % cond_every == 0 else None
        x = torch.where(keep, x, x_next)
        g = torch.where(keep, g, g_next)
        f = torch.where(keep.squeeze(-1), f, f_next)
        trace.record(f=torch.where(diverged_at >= 0, torch.full_like(f, float("nan")), f),
                     grad_norm=torch.linalg.vector_norm(g, dim=-1), p_dev_inf=dev.amax(-1),
                     p_dev_fro=torch.linalg.vector_norm(dev, dim=-1), clip_fraction=clipped, cond_H=cond,
                     ys=ys, descent=descent.to(x.dtype), safeguard_fired=fired.to(x.dtype),
                     step_length=torch.linalg.vector_norm(s, dim=-1))
        if iterates is not None:
            iterates.append(x.clone())
        if not bool((diverged_at < 0).any()):
            break
        if stop_at is not None and bool(((diverged_at >= 0) | (f <= stop_at)).all()):
            break
    trace.diverged_at, trace.evaluations = diverged_at, evaluations
    trace.wall_time = time.perf_counter() - started
    trace.x, trace.H = x, H
    if iterates is not None:
        trace.iterates = torch.stack(iterates)
    return trace
