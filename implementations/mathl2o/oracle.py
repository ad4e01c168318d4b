"""Oracle step-size schedules: the best F(X_T) that any step-size rule of the Math-L2O form can reach on given
instances, with the step sizes optimised directly instead of produced by a network (derived here).

The model's update is X_t = X_{t−1} − (0.9999/β_i) P_t ⊙ ∇F(X_{t−1}) with P_t ∈ (0, 2) per coordinate, so every
rule of that form (whatever network computes P_t) reaches at best min over P ∈ (0, 2)^{T×N×d} of F(X_T). Three
families, each optimised over P = 2σ(θ) (the open interval (0, 2), as the model's output map) by L-BFGS with a
strong-Wolfe line search from θ = 0 (P ≡ 1: gradient descent) and from the best member of the coarser family:
- ``"coordinate"``: one P_t,i,j per step, instance and coordinate (T·N·d numbers): the bound on any such rule;
- ``"step"``: one P_t per step shared by every coordinate and instance (a uniform schedule);
- ``"constant"``: one P for all steps (plain GD with step P·0.9999/β).
F(X_T) is a polynomial of degree 2T in P and not convex, so L-BFGS finds a local minimum: the gain it reaches
is achieved by a valid schedule (a lower estimate of the best possible gain, and an exact upper bound of F*
of the family).
"""

from __future__ import annotations

import math

import torch

from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import descent_steps
from implementations.validation import (
    check_choice,
    check_finite,
    check_instance,
    check_positive,
    check_positive_int,
    check_seed,
)

FAMILIES = ("coordinate", "step", "constant")


def schedule_values(qp: QP, P: torch.Tensor, step_scale: float = 0.9999) -> torch.Tensor:
    """F(X_t), t = 0..T, of X_t = X_{t−1} − (step_scale/β_i) P_t ⊙ ∇F(X_{t−1}) from X₀ = 0; ``P`` of shape
    (T, N, d) or broadcastable to it ((T, 1, 1): a uniform schedule), differentiable in P."""
    check_instance("qp", qp, QP)
    check_positive("step_scale", step_scale)
    if not isinstance(P, torch.Tensor) or not P.is_floating_point() or P.dim() != 3:
        raise TypeError(f"P must be a floating tensor of shape (T, N, d) or broadcastable to it, got "
                        f"{type(P).__name__} {tuple(getattr(P, 'shape', ()))}")
    check_finite("P", P.detach())
    n, _, d = qp.shape
    if P.shape[1] not in (1, n) or P.shape[2] not in (1, d) or P.shape[0] < 1:
        raise ValueError(f"P must have shape (T, N, d) = (T, {n}, {d}) or broadcast to it, got {tuple(P.shape)}")
    return torch.stack(descent_steps(qp, P.shape[0], lambda t, g, X: P[t], step_scale)[0])


def _shape(family: str, qp: QP, T: int) -> tuple[int, int, int]:
    n, _, d = qp.shape
    return {"coordinate": (T, n, d), "step": (T, 1, 1), "constant": (1, 1, 1)}[family]


def _expand(family: str, theta: torch.Tensor, T: int) -> torch.Tensor:
    return theta.expand(T, 1, 1) if family == "constant" else theta


def optimal_schedule(qp: QP, T: int, family: str = "coordinate", iters: int = 300,
                     start: torch.Tensor | None = None, step_scale: float = 0.9999) -> dict:
    """Minimise F(X_T) over the step sizes of ``family`` (see the module docstring) by L-BFGS on θ, P = 2σ(θ),
    from θ = 0 or from ``start`` (step sizes P broadcastable to the family's shape, in [0, 2]: an end is moved
    1e-12 inside, since σ(θ) rounds to 1 for θ ≳ 37 and a saturated optimum comes back as exactly 2).

    Returns {"P": the best step sizes found (the family's shape), "loss": their F(X_T), "gd_loss": F(X_T) of
    gradient descent (P ≡ 1), "gain": (gd_loss − loss)/gd_loss, "evaluations": objective evaluations,
    "saturated_fraction": the fraction of P within 1e-3 of 0 or 2}. A non-finite objective during the line
    search is never kept (the best finite point so far is returned)."""
    check_instance("qp", qp, QP)
    check_positive_int("T", T)
    check_choice("family", family, FAMILIES)
    check_positive_int("iters", iters)
    check_positive("step_scale", step_scale)
    shape = _shape(family, qp, T)
    theta0 = qp.M.new_zeros(shape)
    if start is not None:
        if not isinstance(start, torch.Tensor) or not start.is_floating_point():
            raise TypeError(f"start must be a floating tensor of step sizes in [0, 2], got {type(start).__name__}")
        if start.dim() != 3 or not bool(((start >= 0) & (start <= 2)).all()):
            raise ValueError("start must be a 3-d tensor of step sizes in [0, 2] (they are clamped into (0, 2)), got "
                             f"shape {tuple(start.shape)}")
        p = start.to(qp.M).expand(shape).clamp(1e-12, 2 - 1e-12) / 2
        theta0 = torch.log(p) - torch.log1p(-p)
    theta = theta0.clone().requires_grad_(True)
    with torch.no_grad():
        gd_loss = float(schedule_values(qp, qp.M.new_ones(T, 1, 1), step_scale)[-1])
    best = {"loss": math.inf, "theta": theta0.clone()}
    evaluations = 0

    def objective() -> torch.Tensor:
        nonlocal evaluations
        evaluations += 1
        optimizer.zero_grad()
        loss = schedule_values(qp, 2 * torch.sigmoid(_expand(family, theta, T)), step_scale)[-1]
        value = float(loss.detach())
        if math.isfinite(value) and value < best["loss"]:
            best.update(loss=value, theta=theta.detach().clone())
        loss.backward()
        return loss

    optimizer = torch.optim.LBFGS([theta], lr=1.0, max_iter=iters, max_eval=2 * iters, history_size=20,
                                  tolerance_grad=1e-14, tolerance_change=1e-16, line_search_fn="strong_wolfe")
    optimizer.step(objective)
    P = 2 * torch.sigmoid(best["theta"])
    saturated = float(((P < 1e-3) | (P > 2 - 1e-3)).double().mean())
    return {"P": P, "loss": best["loss"], "gd_loss": gd_loss, "gain": (gd_loss - best["loss"]) / gd_loss,
            "evaluations": evaluations, "saturated_fraction": saturated}


def oracle_gains(qp: QP, T: int, iters: int = 300, random_starts: int = 3, seed: int = 0,
                 step_scale: float = 0.9999) -> dict:
    """The three families, coarse to fine: {family: optimal_schedule result; the step family's also has
    "starts": the loss reached from each start}. "constant" from P = 1; "step" from the constant's best, from the
    ramp P_t = 1.99 → 0.01 (linear in t) and from ``random_starts`` schedules U(0.05, 1.95) (generator ``seed``):
    a start with equal P_t keeps them equal under L-BFGS (F is symmetric in the P_t, so is its gradient), hence
    the asymmetric ones; "coordinate" from P = 1 and, with iters/5 iterations, from the step family's best (a
    saturated start, P = 2, is a poor one: σ' vanishes there). Each family contains the coarser ones, one of its
    runs starts at the coarser best and the best point seen (the start included) is kept, so the gains are
    non-decreasing from "constant" to "coordinate"."""
    check_instance("qp", qp, QP)
    check_positive_int("T", T)
    check_positive_int("random_starts", random_starts, minimum=0)
    check_seed("seed", seed)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    constant = optimal_schedule(qp, T, "constant", iters, step_scale=step_scale)
    starts = {"constant best": constant["P"],
              "ramp": torch.linspace(1.99, 0.01, T, dtype=torch.float64, device=gen.device).view(T, 1, 1)}
    for i in range(random_starts):
        starts[f"random {i}"] = 0.05 + 1.9 * torch.rand(T, 1, 1, generator=gen, dtype=torch.float64, device=gen.device)
    runs = {name: optimal_schedule(qp, T, "step", iters, start=P.to(qp.M), step_scale=step_scale)
            for name, P in starts.items()}
    step = min(runs.values(), key=lambda r: r["loss"])
    step["starts"] = {name: r["loss"] for name, r in runs.items()}
    coordinate = min((optimal_schedule(qp, T, "coordinate", iters, step_scale=step_scale),
                      optimal_schedule(qp, T, "coordinate", max(10, iters // 5), start=step["P"],
                                       step_scale=step_scale)),
                     key=lambda r: r["loss"])
    return {"constant": constant, "step": step, "coordinate": coordinate}
