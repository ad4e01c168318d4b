"""Scalar-step baselines for CWSS-BFGS (THEORY.md §2): BFGS with a line search, a hypergradient tuner of
the diagonal P, L-BFGS (torch.optim.LBFGS, strong Wolfe) and Adam. All return a :class:`Trace`.
"""

from __future__ import annotations

import time

import torch

from implementations.bfgs.diagnostics import Trace
from implementations.bfgs.line_search import backtracking_armijo, strong_wolfe
from implementations.bfgs.update import inverse_bfgs_update
from implementations.validation import as_tensor, check_finite, check_positive, check_positive_int

LINE_SEARCHES = ("armijo", "wolfe")


def _start(objective, x0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = check_finite("x0", as_tensor("x0", x0)).detach().clone()
    if x.dim() != 1:
        raise ValueError(f"x0 must have shape (d,), got {tuple(x.shape)}")
    with torch.no_grad():
        return x, objective.value(x), objective.gradient(x)


def bfgs_line_search(objective, x0, iterations: int, line_search: str = "wolfe", safeguard: str = "skip",
                     gtol: float = 0.0) -> Trace:
    """BFGS x⁺ = x − α H∇f with α from ``line_search`` ('armijo' or 'wolfe'); H_0 = I, then the
    Shanno–Phua scaling before the first update (N&W Eq. 6.20, as scipy's BFGS does not but N&W advise).
    A failed line search is recorded (``line_search_failed``) and the step still taken if it decreased f,
    otherwise the run stops there. Stops early when ‖g‖ ≤ gtol. Single instance, x0 of shape (d,)."""
    if line_search not in LINE_SEARCHES:
        raise ValueError(f"line_search must be one of {LINE_SEARCHES}, got {line_search!r}")
    check_positive_int("iterations", iterations)
    started = time.perf_counter()
    x, f, g = _start(objective, x0)
    H = torch.eye(x.shape[0], dtype=x.dtype, device=x.device)
    trace = Trace(f0=f.reshape(1).clone(), grad_norm0=torch.linalg.vector_norm(g).reshape(1), started=started)
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
            trace.record(f=f, grad_norm=torch.linalg.vector_norm(g), line_search_failed=torch.tensor(1.0),
                         step_length=torch.tensor(0.0))
            break
        x_next = x + result.alpha * p
        g_next = result.g if result.g is not None else objective.gradient(x_next)
        if result.g is None:
            evaluations += 1
        s, y = x_next - x, g_next - g
        bs = -result.alpha * g  # s = α p = −α H g, so H⁻¹s = −α g: Powell damping needs no solve
        if k == 0 and float(y @ y) > 0 and float(y @ s) > 0:
            scale = float(y @ s) / float(y @ y)
            H, bs = scale * H, bs / scale
        H, fired = inverse_bfgs_update(H, s, y, safeguard, bs=bs)
        x, f, g = x_next, result.f, g_next
        trace.record(f=f, grad_norm=torch.linalg.vector_norm(g), p_dev_inf=torch.tensor(abs(result.alpha - 1)),
                     ys=y @ s, descent=torch.tensor(1.0), safeguard_fired=fired.to(x.dtype),
                     step_length=torch.tensor(result.alpha), line_search_failed=torch.tensor(float(not result.success)))
    trace.evaluations, trace.wall_time = evaluations, time.perf_counter() - started
    trace.diverged_at = torch.tensor([-1])
    trace.x, trace.H = x.unsqueeze(0), H.unsqueeze(0)
    return trace


class HypergradientSteps:
    """Hypergradient-descent tuning of the diagonal P (Baydin et al. 2018, applied to CWSS here):
    ∂f(x_k)/∂P_{k−1} = −g_k ⊙ d_{k−1}, so P_k = clip(P_{k−1} + β h_k / mean_i|h_{k,i}|, interval),
    h_k = g_k ⊙ d_{k−1} (normalised so β is scale free; P_0 = 1). A step-size policy for ``cwss_bfgs``."""

    learns = False

    def __init__(self, beta: float = 0.05, interval: tuple[float, float] = (0.1, 1.9)) -> None:
        check_positive("beta", beta)
        if not 0 <= interval[0] < interval[1] <= 2:
            raise ValueError(f"interval must satisfy 0 <= low < high <= 2, got {interval}")
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


def lbfgs_torch(objective, x0, iterations: int, history: int = 10) -> Trace:
    """torch.optim.LBFGS with line_search_fn='strong_wolfe' (≤ 25 line-search evaluations), one outer
    iteration per recorded step."""
    check_positive_int("iterations", iterations)
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
            trace.diverged_at = torch.tensor([trace.iterations])
            break
        trace.record(f=f, grad_norm=torch.linalg.vector_norm(g))
    state = optimiser.state[optimiser._params[0]]
    # each step() call re-evaluates f at the point the previous line search ended on: not counted here.
    calls = trace.iterations + (0 if trace.diverged_at is None else 1)
    trace.evaluations = int(state.get("func_evals", 0)) - max(calls - 1, 0)
    trace.wall_time = time.perf_counter() - started
    if trace.diverged_at is None:
        trace.diverged_at = torch.tensor([-1])
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
    trace.diverged_at = torch.tensor([-1])
    for k in range(iterations):
        optimiser.zero_grad()
        objective.value(w).backward()
        optimiser.step()
        with torch.no_grad():
            f, g = objective.value(w), objective.gradient(w)
        if not (torch.isfinite(f).all() and torch.isfinite(g).all()):
            trace.record(f=torch.tensor(float("nan")), grad_norm=torch.tensor(float("nan")))
            trace.diverged_at = torch.tensor([k])
            break
        trace.record(f=f, grad_norm=torch.linalg.vector_norm(g))
    trace.evaluations = 2 * trace.iterations + 1
    trace.wall_time = time.perf_counter() - started
    trace.x = w.detach().unsqueeze(0)
    return trace
