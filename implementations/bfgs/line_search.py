"""Scalar line searches along a descent direction p for φ(α) = f(x + αp) (single instance, x of shape (d,)).

- Backtracking Armijo (Nocedal & Wright Alg. 3.1): α ← ρα until f(x + αp) ≤ f(x) + c₁α∇fᵀp.
- Strong Wolfe (N&W Alg. 3.5 with zoom Alg. 3.6, cubic interpolation safeguarded by bisection):
  f(x + αp) ≤ f(x) + c₁α∇fᵀp and |∇f(x + αp)ᵀp| ≤ c₂|∇fᵀp|; scipy.optimize.line_search is the oracle.
A search that fails (not a descent direction, no acceptable step within the budget) returns
``LineSearchResult(success=False, …)`` with the last trial; the caller records the failure.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from implementations.validation import check_positive, check_positive_int


@dataclass
class LineSearchResult:
    alpha: float
    f: torch.Tensor
    g: torch.Tensor | None
    evaluations: int
    success: bool
    reason: str = ""


def _check_constants(c1: float, c2: float | None = None) -> None:
    if not 0 < c1 < 1:
        raise ValueError(f"c1 must lie in (0, 1), got {c1}")
    if c2 is not None and not c1 < c2 < 1:
        raise ValueError(f"c2 must lie in (c1, 1) = ({c1}, 1), got {c2}")


def backtracking_armijo(objective, x: torch.Tensor, f: torch.Tensor, g: torch.Tensor, p: torch.Tensor,
                        alpha0: float = 1.0, c1: float = 1e-4, shrink: float = 0.5,
                        max_evaluations: int = 50) -> LineSearchResult:
    """The first α = α₀ρ^j with f(x + αp) ≤ f + c₁α gᵀp (N&W Alg. 3.1); the gradient is not evaluated."""
    _check_constants(c1)
    check_positive("alpha0", alpha0)
    if not 0 < shrink < 1:
        raise ValueError(f"shrink must lie in (0, 1), got {shrink}")
    check_positive_int("max_evaluations", max_evaluations)
    slope = float(g @ p)
    if not slope < 0:
        return LineSearchResult(0.0, f, g, 0, False, f"not a descent direction (gᵀp = {slope:.3g})")
    alpha = alpha0
    for evaluation in range(1, max_evaluations + 1):
        with torch.no_grad():
            trial = objective.value(x + alpha * p)
        if torch.isfinite(trial) and float(trial) <= float(f) + c1 * alpha * slope:
            return LineSearchResult(alpha, trial, None, evaluation, True)
        alpha *= shrink
    return LineSearchResult(alpha / shrink, trial, None, max_evaluations, False, "no Armijo step found")


def _cubic_minimiser(a, fa, da, b, fb, db) -> float | None:
    """Minimiser of the cubic interpolating φ, φ' at a and b (N&W Eq. 3.59); None when undefined (also for
    a = b, where the bracket has shrunk to a point)."""
    if a == b:
        return None
    d1 = da + db - 3 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if radicand < 0:
        return None
    d2 = (1.0 if b > a else -1.0) * radicand ** 0.5
    denominator = db - da + 2 * d2
    if denominator == 0:
        return None
    return b - (b - a) * (db + d2 - d1) / denominator


def strong_wolfe(objective, x: torch.Tensor, f: torch.Tensor, g: torch.Tensor, p: torch.Tensor,
                 alpha0: float = 1.0, c1: float = 1e-4, c2: float = 0.9, alpha_max: float = 1e10,
                 max_evaluations: int = 50) -> LineSearchResult:
    """A step satisfying the strong Wolfe conditions (N&W Alg. 3.5/3.6); evaluates f and ∇f at trials."""
    _check_constants(c1, c2)
    check_positive("alpha0", alpha0)
    if not check_positive("alpha_max", alpha_max) >= alpha0:
        raise ValueError(f"alpha_max must be >= alpha0 = {alpha0}, got {alpha_max}")
    check_positive_int("max_evaluations", max_evaluations)
    f0, slope0 = float(f), float(g @ p)
    if not slope0 < 0:
        return LineSearchResult(0.0, f, g, 0, False, f"not a descent direction (gᵀp = {slope0:.3g})")
    evaluations = 0

    def phi(alpha: float):
        nonlocal evaluations
        evaluations += 1
        point = x + alpha * p
        with torch.no_grad():
            value = objective.value(point)
            grad = objective.gradient(point)
        return value, grad, float(value), float(grad @ p)

    def zoom(lo, f_lo, d_lo, hi, f_hi, d_hi):
        while evaluations < max_evaluations:
            trial = _cubic_minimiser(lo, f_lo, d_lo, hi, f_hi, d_hi)
            low, high = min(lo, hi), max(lo, hi)
            margin = 0.1 * (high - low)
            if trial is None or not (low + margin <= trial <= high - margin):
                trial = 0.5 * (lo + hi)
            value, grad, fv, dv = phi(trial)
            if fv > f0 + c1 * trial * slope0 or fv >= f_lo or fv != fv:
                hi, f_hi, d_hi = trial, fv, dv
            else:
                if abs(dv) <= -c2 * slope0:
                    return LineSearchResult(trial, value, grad, evaluations, True)
                if dv * (hi - lo) >= 0:
                    hi, f_hi, d_hi = lo, f_lo, d_lo
                lo, f_lo, d_lo = trial, fv, dv
            if abs(hi - lo) <= 1e-16 * max(1.0, abs(lo)):
                break
        value, grad, _, _ = phi(lo) if lo > 0 else (f, g, f0, slope0)
        return LineSearchResult(lo, value, grad, evaluations, False, "zoom did not find a strong Wolfe step")

    previous, f_prev, d_prev = 0.0, f0, slope0
    value, grad = f, g  # φ at the last accepted trial (α = 0 before the first)
    alpha = alpha0
    while evaluations < max_evaluations:
        if alpha == previous:  # already at alpha_max and φ still decreasing there: no bracket, no Wolfe step
            return LineSearchResult(alpha, value, grad, evaluations, False,
                                    "φ still decreases at alpha_max (f may be unbounded below along p)")
        value, grad, fv, dv = phi(alpha)
        if fv != fv or fv > f0 + c1 * alpha * slope0 or (evaluations > 1 and fv >= f_prev):
            if fv != fv or fv == float("inf"):
                fv, dv = float("inf"), float("inf")
            return zoom(previous, f_prev, d_prev, alpha, fv, dv)
        if abs(dv) <= -c2 * slope0:
            return LineSearchResult(alpha, value, grad, evaluations, True)
        if dv >= 0:
            return zoom(alpha, fv, dv, previous, f_prev, d_prev)
        previous, f_prev, d_prev = alpha, fv, dv
        alpha = min(2 * alpha, alpha_max)
    return LineSearchResult(previous, value, grad, evaluations, False, "bracketing budget exhausted")
