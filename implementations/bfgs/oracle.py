"""Oracle step-size rules for CWSS-BFGS: the best diagonal P for the next step(s), found by optimisation.

A learned model proposes P_k ∈ [low, high]^d from what it sees; it can at best do what the best rule of that form
does. These policies compute that best rule model-free, with the objective in hand (THEORY.md §2.2,
bfgs.l2o.oracle-speedup):
- :class:`GreedyOracleSteps`: P_k = argmin over P ∈ [low, high]^d of f(x_k − P u_k), u_k = H_k g_k (one step);
- :class:`LookaheadOracleSteps`: (P_k, …, P_{k+h−1}) minimising f(x_{k+h}) after h CWSS-BFGS steps, with the
  solver's own inverse BFGS updates of H between them (the same safeguard, and the Shanno–Phua scaling after the
  first step), of which P_k is taken (receding horizon); h = 1 is the greedy rule.

Both minimise the scale-free φ(P) = [f(x_{k+h}) − f(x_k)]/(g_kᵀu_k) (φ ≈ −½ for the Newton step on a
quadratic; one value per instance) with :func:`box_minimise`, a batched spectral projected gradient method in
torch (Birgin, Martínez & Raydan 2000), in the variables z = P·|u|/‖u‖, from P = I (the unit BFGS step).
Why this solver: it needs only gradients, one batched ∇f per evaluation (a projected Newton method needs the
d×d Hessian of f, out of reach for the 1503-parameter CNN); it treats the box exactly (torch.optim.LBFGS has no
bounds); every instance of a batch keeps its own step, line search and stopping rule, so the oracle of one seed
does not depend on the other seeds in the batch (scipy's L-BFGS-B, tried first, solves one problem at a time;
solving a batch as one concatenated problem coupled the instances through the shared line search and memory, and
on the non-convex look-ahead a seed reached a different local optimum with other seeds beside it); and it stops on
a stated rule, ‖z − Π(z − ∇_zφ)‖_∞ ≤ gtol, from which an error bound follows (for a μ-strongly convex φ with
L-Lipschitz gradient, ‖z − z*‖₂ ≤ (1 + L)/μ · ‖z − Π(z − ∇φ)‖₂: Facchinei & Pang 2003, Prop. 6.3.1, the
natural-map error bound). For a convex f the greedy φ is convex in P (P ↦ x − P u is affine), so the greedy
oracle is the global per-step optimum to that tolerance; the look-ahead φ (through the BFGS update) and the
CNN's φ are not convex, and there the oracle is the local optimum reached from P = I.
"""

from __future__ import annotations

import torch

from implementations.bfgs.update import SAFEGUARDS, safeguarded_update
from implementations.validation import (
    check_bool,
    check_callable,
    check_choice,
    check_number,
    check_objective,
    check_positive,
    check_positive_int,
    check_real_tensor,
    check_subinterval,
)

PENALTY = 1e100  # φ where f is not finite (an overflowing trial point): the line search backs off from it


def projected_gradient(z: torch.Tensor, grad: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """z − Π_[low, high](z − ∇φ): the natural residual of the box-constrained problem (zero exactly at a
    stationary point), whose ∞-norm :func:`box_minimise` drives below ``gtol``."""
    return z - torch.minimum(torch.maximum(z - grad, low), high)


def box_minimise(fun, p0: torch.Tensor, low: float, high: float, gtol: float = 1e-9, max_iterations: int = 200,
                 scales: torch.Tensor | None = None, memory: int = 10) -> tuple[torch.Tensor, dict]:
    """(P, info): min over P ∈ [low, high]^n of φ_b(P_b) for each instance b of a batch, independently, by the
    spectral projected gradient method (Birgin, Martínez & Raydan 2000, SPG2: the step Π(z − λ∇φ) − z with the
    Barzilai–Borwein λ = sᵀs/sᵀy, a non-monotone Armijo search against the largest of the last ``memory`` values,
    halving the step).

    ``fun(P)`` takes P (B, n) and returns (φ (B,), ∇φ (B, n)); P0 (B, n) is the start (clipped into the box).
    ``scales`` (B, n), entries >= 0 (None: all 1): the method works in z = scales·P, a diagonal change of
    variables (the box stays a box) that can remove a bad scaling of the P_i; an entry with scale 0 stays at P0.
    Each instance stops on its own once ‖z − Π(z − ∇_zφ)‖_∞ ≤ ``gtol`` (∇_zφ = ∇φ/scales), after
    ``max_iterations`` iterations, or when 30 halvings find no acceptable step (round-off). Every instance has
    its own step, line search and stopping rule, so instances do not interact: each result is the one a batch
    of one would give (up to the round-off of batched arithmetic). info: evaluations (batched calls of fun),
    iterations (the most any instance took), instances, converged (instances that met the rule) and
    projected_gradient (the largest ∞-norm left)."""
    check_callable("fun", fun)
    check_real_tensor("p0", p0, dim=2)
    low, high = check_number("low", low), check_number("high", high)
    if not low < high:
        raise ValueError(f"low must lie below high, got low = {low}, high = {high}")
    check_positive("gtol", gtol)
    check_positive_int("max_iterations", max_iterations)
    check_positive_int("memory", memory)
    if scales is None:
        scales = torch.ones_like(p0)
    else:
        check_real_tensor("scales", scales)
        if scales.shape != p0.shape or bool((scales < 0).any()) or scales.dtype != p0.dtype:
            raise ValueError(f"scales must have p0's shape {tuple(p0.shape)} and dtype, and entries >= 0")
    start = p0.detach().clamp(low, high)
    free = scales > 0
    safe = torch.where(free, scales, torch.ones_like(scales))
    lows, highs = torch.where(free, low * scales, 0.0), torch.where(free, high * scales, 0.0)
    calls = 0

    def evaluate(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        nonlocal calls
        calls += 1
        value, grad = fun(torch.where(free, z / safe, start))
        value, grad = value.detach(), torch.where(free, grad.detach() / safe, 0.0)
        bad = ~(torch.isfinite(value) & torch.isfinite(grad).all(-1))
        return torch.where(bad, PENALTY, value), torch.where(bad.unsqueeze(-1), 0.0, grad)

    z = torch.where(free, start * scales, 0.0)
    value, grad = evaluate(z)
    history = [value]
    residual = projected_gradient(z, grad, lows, highs).abs().amax(-1)
    active = residual > gtol
    step = (1 / residual.clamp_min(torch.finfo(z.dtype).tiny)).clamp(1e-10, 1e10)
    iterations = 0
    for _ in range(max_iterations):
        if not bool(active.any()):
            break
        iterations += 1
        direction = torch.where(active.unsqueeze(-1),
                                torch.minimum(torch.maximum(z - step.unsqueeze(-1) * grad, lows), highs) - z, 0.0)
        slope = (grad * direction).sum(-1)
        reference = torch.stack(history[-memory:]).amax(0)
        t = torch.ones_like(value)
        accepted = ~active
        new_z, new_value, new_grad = z.clone(), value.clone(), grad.clone()
        for _ in range(30):
            trial = z + t.unsqueeze(-1) * direction
            trial_value, trial_grad = evaluate(trial)
            ok = ~accepted & (trial_value <= reference + 1e-4 * t * slope)
            new_z = torch.where(ok.unsqueeze(-1), trial, new_z)
            new_value = torch.where(ok, trial_value, new_value)
            new_grad = torch.where(ok.unsqueeze(-1), trial_grad, new_grad)
            accepted = accepted | ok
            if bool(accepted.all()):
                break
            t = torch.where(accepted, t, t / 2)
        stalled = ~accepted  # no acceptable step: φ cannot decrease beyond round-off along the projected direction
        s, y = new_z - z, new_grad - grad
        sy = (s * y).sum(-1)
        step = torch.where(sy > 0, ((s * s).sum(-1) / sy.clamp_min(torch.finfo(z.dtype).tiny)).clamp(1e-10, 1e10),
                           torch.full_like(step, 1e10))
        z, value, grad = new_z, new_value, new_grad
        history.append(value)
        residual = projected_gradient(z, grad, lows, highs).abs().amax(-1)
        active = active & ~stalled & (residual > gtol)
    P = torch.where(free, z / safe, start).clamp(low, high)
    info = dict(evaluations=calls, iterations=iterations, instances=int(z.shape[0]),
                converged=int((residual <= gtol).sum()), projected_gradient=float(residual.max()))
    return P, info


class _OraclePolicy:
    """What both oracles share: the objective, the box, the inner solver's settings and its record."""

    learns = False

    def __init__(self, objective, interval: tuple[float, float], gtol: float, max_inner: int) -> None:
        check_objective("objective", objective)
        self.objective = objective
        self.interval = check_subinterval("interval", interval, 0.0, 2.0)
        self.gtol = check_positive("gtol", gtol)
        self.max_inner = check_positive_int("max_inner", max_inner)
        self.records: list[dict] = []  # one per proposal: the inner solver's info

    def _values(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.objective.value(x).reshape(x.shape[0])

    def _scales(self, g: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gᵀu per instance, or 1 where it is not positive and finite, and the mask of instances to solve): a
        frozen (diverged) instance has u = 0, and there φ is constant, so it keeps P = I."""
        scale = (g * u).sum(-1)
        solve = torch.isfinite(scale) & (scale > 0)
        return torch.where(solve, scale, torch.ones_like(scale)), solve

    @staticmethod
    def _scales_of(u: torch.Tensor) -> torch.Tensor:
        """|u_i|/‖u‖₂ per instance: the change of variables z = P·|u|/‖u‖ of the inner problem. ∇²_Pφ =
        diag(u)∇²f diag(u)/(gᵀu) carries the factors u_i², which spread over up to 10⁸ in these runs (a near-flat
        P_i where u_i is tiny); in z the Hessian is diag(sign u)∇²f diag(sign u)·‖u‖²/(gᵀu), as well
        conditioned as ∇²f itself."""
        norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
        return torch.where(norm > 0, u.abs() / norm.clamp_min(torch.finfo(u.dtype).tiny), torch.zeros_like(u))

    def _finish(self, Q: torch.Tensor, solve: torch.Tensor, info: dict) -> tuple[torch.Tensor, torch.Tensor]:
        P = torch.where(solve.unsqueeze(-1), Q, torch.ones_like(Q))
        low, high = self.interval
        self.records.append(info)
        return P, ((P <= low) | (P >= high)).to(P.dtype).mean(-1)

    def summary(self) -> dict:
        """Totals over the proposals so far: proposals, batched inner evaluations, the instances' inner solves
        and how many of them met the projected-gradient rule, and the largest projected-gradient norm left."""
        return dict(proposals=len(self.records), inner_evaluations=sum(r["evaluations"] for r in self.records),
                    solves=sum(r["instances"] for r in self.records),
                    converged=sum(r["converged"] for r in self.records),
                    worst_projected_gradient=max((r["projected_gradient"] for r in self.records), default=0.0))

    def learn(self, f_next, f, g, d, P):  # pragma: no cover - never called (learns is False)
        raise NotImplementedError


class GreedyOracleSteps(_OraclePolicy):
    """P_k = argmin_{P ∈ [low, high]^d} f(x_k − P u_k), u_k = H_k g_k: the best one-step coordinate-wise rule
    (module docstring), a ``cwss_bfgs`` step policy. φ(P) = [f(x_k − P u_k) − f(x_k)]/(g_kᵀu_k) and
    ∇φ = −u_k ⊙ ∇f(x_k − P u_k)/(g_kᵀu_k): one batched f and ∇f per inner evaluation. ``records`` keeps the
    inner solver's info per step; ``summary()`` totals it."""

    def __init__(self, objective, interval: tuple[float, float] = (0.0, 2.0), gtol: float = 1e-9,
                 max_inner: int = 200) -> None:
        super().__init__(objective, interval, gtol, max_inner)

    def propose(self, k, x, g, d):
        f = self._values(x)
        scale, solve = self._scales(g, d)

        def phi(P: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            with torch.no_grad():
                trial = x - P * d
                values = self.objective.value(trial).reshape(x.shape[0])
                grads = self.objective.gradient(trial).reshape(x.shape)
            return (values - f) / scale, -d * grads / scale.unsqueeze(-1)

        Q, info = box_minimise(phi, torch.ones_like(x), *self.interval, self.gtol, self.max_inner,
                               scales=self._scales_of(d))
        return self._finish(Q, solve, info)


class LookaheadOracleSteps(_OraclePolicy):
    """(P_k, …, P_{k+h−1}) minimising f(x_{k+h}) over [low, high]^{h·d} after h CWSS-BFGS steps from x_k, H_k
    (the solver's inverse BFGS update with its safeguard between the steps, and the Shanno–Phua scaling
    H ← (yᵀs/yᵀy)I after the solver's first step, as cwss_bfgs does); P_k is returned (receding horizon).
    φ = [f(x_{k+h}) − f(x_k)]/(g_kᵀu_k), its gradient by automatic differentiation through the h steps
    (the objective's gradient must be differentiable: true of the analytic gradients of the convex tasks).
    A ``cwss_bfgs`` step policy with ``uses_inverse_hessian``: the solver hands it H_k through ``observe``."""

    uses_inverse_hessian = True

    def __init__(self, objective, horizon: int = 2, interval: tuple[float, float] = (0.0, 2.0),
                 gtol: float = 1e-9, max_inner: int = 200) -> None:
        super().__init__(objective, interval, gtol, max_inner)
        self.horizon = check_positive_int("horizon", horizon)
        self.H, self.rescale, self.safeguard = None, False, "skip"

    def observe(self, H: torch.Tensor, rescale: bool, safeguard: str) -> None:
        """The solver's H_k (B, d, d), whether its Shanno–Phua scaling follows this step, and its safeguard."""
        self.H = check_real_tensor("H", H, dim=3)
        self.rescale = check_bool("rescale", rescale)
        self.safeguard = check_choice("safeguard", safeguard, SAFEGUARDS)

    def simulate(self, x: torch.Tensor, g: torch.Tensor, H: torch.Tensor, steps: torch.Tensor,
                 moving: torch.Tensor | None = None, directions: bool = False):
        """f(x_{k+h}) (B,) after the CWSS-BFGS steps P = steps[j] (h, B, d) from x, g = ∇f(x), H (differentiable
        in ``steps``); instances where ``moving`` (B,) is False stay at x (a frozen instance, whose H g may
        not be finite: its direction is replaced by 0 before it meets the steps, so no NaN reaches a gradient).
        With ``directions``: (f(x_{k+h}), [u_k, …, u_{k+h−1}]), the directions H_j g_j of the steps."""
        eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        moving = torch.ones(x.shape[0], dtype=torch.bool, device=x.device) if moving is None else moving
        seen = []
        for j in range(steps.shape[0]):
            u = (H @ g.unsqueeze(-1)).squeeze(-1)
            u = torch.where(moving.unsqueeze(-1), u, torch.zeros_like(u))
            seen.append(u)
            x_next = x - steps[j] * u
            if j == steps.shape[0] - 1:
                value = self.objective.value(x_next).reshape(x.shape[0])
                return (value, seen) if directions else value
            g_next = self.objective.gradient(x_next).reshape(x.shape)
            s, y = x_next - x, g_next - g
            if j == 0 and self.rescale:
                ys, yy = (y * s).sum(-1), (y * y).sum(-1)
                good = (ys > 0) & (yy > 0)
                gamma = torch.where(good, ys / yy.clamp_min(torch.finfo(x.dtype).tiny), H[:, 0, 0])
                H = gamma[:, None, None] * eye
            H, _ = safeguarded_update(H, s, y, self.safeguard)
            x, g = x_next, g_next
        raise AssertionError("unreachable: steps has at least one row")  # pragma: no cover

    def propose(self, k, x, g, d):
        if self.H is None or self.H.shape != x.shape + x.shape[-1:]:
            raise ValueError("LookaheadOracleSteps needs H_k from cwss_bfgs (observe) before each proposal")
        f = self._values(x)
        scale, solve = self._scales(g, d)
        H = self.H.detach()

        batch, dim, horizon = x.shape[0], x.shape[1], self.horizon

        def plan(flat: torch.Tensor) -> torch.Tensor:
            """(h, B, d) steps from the solver's (B, h·d) variables."""
            return flat.reshape(batch, horizon, dim).transpose(0, 1)

        def phi(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            flat = flat.detach().requires_grad_(True)
            with torch.enable_grad():
                values = (self.simulate(x, g, H, plan(flat), solve) - f) / scale
                grad, = torch.autograd.grad(values.sum(), flat)  # instance b's values depend on its row only
            return values.detach(), grad

        start = torch.ones(batch, horizon * dim, dtype=x.dtype, device=x.device)
        with torch.no_grad():
            directions = self.simulate(x, g, H, plan(start), solve, directions=True)[1]
        scales = torch.stack([self._scales_of(u) for u in directions], dim=1).reshape(batch, horizon * dim)
        Q, info = box_minimise(phi, start, *self.interval, self.gtol, self.max_inner, scales=scales)
        return self._finish(Q[:, :dim], solve, info)
