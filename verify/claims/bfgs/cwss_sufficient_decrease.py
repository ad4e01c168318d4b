"""bfgs.cwss.sufficient-decrease: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
import torch

from implementations.bfgs import cwss_step, inverse_bfgs_update
from implementations.problems.logistic import LogisticRegression
from implementations.problems.quadratic import random_spd
from theory import bfgs as theory
from verify.margins.bfgs import EPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.tightness import Tightness

SPEC = ClaimSpec("bfgs.cwss.sufficient-decrease",
                 "D2/D3 hold along runs: f(x⁺) ≤ f(x) − [c − (L/2)(1+δ)²λ_max(H)²]‖g‖²; how conservative they are",
                 "derived", "property+tightness", "holds", "THEORY.md §2.1 D2/D3",
                 scales={"runs": (6, 30), "iterations": (25, 60)},
                 tightness={"actual/guaranteed decrease along runs (η > 0)": ("lower", 1e-06)})


def _decrease_run(problem, x0, L, mu, f_star, iterations, gen, delta_max):
    """CWSS-BFGS with random P_k, δ_k ≤ delta_max, checking D2 (and D3 where η_k > 0) at every step."""
    x, H = x0.clone(), torch.eye(len(x0), dtype=x0.dtype, device=x0.device)
    f, g = problem.value(x), problem.gradient(x)
    rows = []
    for _ in range(iterations):
        if float(g.norm()) < 1e-10:
            break
        delta = float(torch.rand(1, generator=gen, dtype=torch.float64, device=gen.device)) * delta_max
        P = 1 + delta * (2 * torch.rand(len(x), generator=gen, dtype=torch.float64, device=gen.device).to(x) - 1)
        delta_k = float((P - 1).abs().max())
        lam = torch.linalg.eigvalsh(H)
        c_k = float(lam[0]) - delta_k * float(lam[-1])
        eta = c_k - L / 2 * (1 + delta_k) ** 2 * float(lam[-1]) ** 2
        x_next = cwss_step(x, g, H, P)
        f_next, g_next = problem.value(x_next), problem.gradient(x_next)
        gg = float(g @ g)
        tol = 64 * len(x) * EPS * (abs(float(f)) + abs(float(f_next)) + abs(eta) * gg)
        d2_margin = float(f_next) - (float(f) - eta * gg) - tol
        d3_margin = (float(f_next) - f_star) - (1 - 2 * mu * eta) * (float(f) - f_star) - tol if eta > 0 else None
        ratio = (float(f) - float(f_next)) / (eta * gg) if eta > 0 else None
        rows.append((d2_margin, d3_margin, ratio))
        H, _ = inverse_bfgs_update(H, x_next - x, g_next - g)
        x, f, g = x_next, f_next, g_next
    return rows


@check(SPEC.id)
def sufficient_decrease(ctx: Context) -> Evidence:
    """D2/D3 (derived): f(x⁺) ≤ f(x) − η‖g‖², η = c − (L/2)(1 + δ)²λ_max(H)², c = λ_min(H) − δλ_max(H);
    if η > 0 and f is μ-strongly convex, f(x⁺) − f* ≤ (1 − 2μη)(f(x) − f*). Checked at every step of
    CWSS-BFGS runs with random P_k (δ_k ≤ 0.3 and ≤ 1) on quadratics (L = λ_max(A), μ = λ_min(A)) and
    ℓ₂-logistic regression (L = λ_max(AᵀA)/(4m) + μ, μ = reg). Tolerance 64d·eps·(|f| + |f⁺| + |η|‖g‖²).
    Conservativeness: ratio actual/guaranteed decrease where η > 0 (≥ 1; sympy shows it equals 1 in 1-D
    at P = I, so D2 is tight there)."""
    gap = theory.sufficient_decrease_gap_1d()
    import sympy as sp

    tight_1d = sp.simplify(gap.subs(sp.Symbol("p", positive=True), 1)) == 0
    gen = ctx.torch_generator()
    runs, iterations = ctx.scale("runs"), ctx.scale("iterations")
    all_rows, per_problem = [], []
    for index in range(runs):
        dim = 5
        if index % 2 == 0:
            A = random_spd(dim, 10.0 ** (1 + index % 3), gen, **ctx.like)
            from implementations.problems.quadratic import Quadratic

            problem = Quadratic.create(A, ctx.randn(dim, generator=gen))
            lam = torch.linalg.eigvalsh(A)
            L, mu, f_star = float(lam[-1]), float(lam[0]), float(problem.value(problem.minimiser()))
            name = "quadratic"
        else:
            problem = LogisticRegression.random(dim, 20, reg=0.1, generator=gen, **ctx.like)
            L, mu = float(problem.smoothness()), problem.reg
            from implementations.bfgs import bfgs_line_search

            reference = bfgs_line_search(problem, torch.zeros(dim, **ctx.like), 200, gtol=1e-13)
            f_star = float(np.nanmin(reference.values_with_start()))
            name = "logistic"
        for delta_max in (0.3, 1.0):
            rows = _decrease_run(problem, ctx.randn(dim, generator=gen), L, mu, f_star,
                                 iterations, gen, delta_max)
            all_rows += rows
            per_problem.append(dict(problem=name, delta_max=delta_max, steps=len(rows),
                                    positive_eta_steps=sum(r[2] is not None for r in rows)))
    d2 = np.array([r[0] for r in all_rows])
    d3 = np.array([r[1] for r in all_rows if r[1] is not None])
    ratios = np.array([r[2] for r in all_rows if r[2] is not None])
    holds = bool(d2.max() <= 0) and (d3.size == 0 or bool(d3.max() <= 0)) and tight_1d
    tightness = []
    if ratios.size:
        tightness.append(Tightness("actual/guaranteed decrease along runs (η > 0)", bound=1.0,
                                   worst=float(ratios.min()), kind="lower", rtol=1e-6, method="CWSS-BFGS runs",
                                   evaluations=len(all_rows)).as_row())
    counterexample = None
    if not holds:
        counterexample = dict(worst_d2_margin=float(d2.max()), margin=float(d2.max()))
    return Evidence(holds=holds, counterexample=counterexample, tables={"tightness": tightness, "runs": per_problem},
                    numbers=dict(steps=len(all_rows), worst_d2_margin=float(d2.max()),
                                 steps_with_positive_eta=int(ratios.size),
                                 fraction_positive_eta=float(ratios.size / max(len(all_rows), 1)),
                                 worst_d3_margin=float(d3.max()) if d3.size else None,
                                 decrease_ratio_min=float(ratios.min()) if ratios.size else None,
                                 decrease_ratio_median=float(np.median(ratios)) if ratios.size else None,
                                 tight_in_1d_at_P_equal_I=tight_1d, gap_1d=str(gap)),
                    notes="η > 0 needs λ_min(H) > (L/2)(1+δ)²λ_max(H)² (+δλ_max): rare along real BFGS runs, "
                          "so D2/D3 certify decrease only on a small fraction of steps")
