"""bfgs.cwss.sufficient-decrease: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import numpy as np
import torch

from implementations.bfgs import cwss_step, inverse_bfgs_update
from implementations.problems.logistic import LogisticRegression
from implementations.problems.quadratic import random_spd
from theory import bfgs as theory
from verify.margins.bfgs import (
    decrease_terms,
    draw_decrease_H_and_P,
    draw_decrease_quadratics,
    quadratic_decrease_margins,
)
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, host_tensor, shares, summarize
from verify.tightness import Tightness

SPEC = ClaimSpec("bfgs.cwss.sufficient-decrease",
                 "D2/D3 hold along runs: f(x⁺) ≤ f(x) − [c − (L/2)(1+δ)²λ_max(H)²]‖g‖²; how conservative they are",
                 "derived", "property+tightness+sweep", "holds", "THEORY.md §2.1 D2/D3",
                 scales={"runs": (6, 30), "iterations": (25, 60), "sweep_instances": (10000, 1000000)},
                 tightness={"actual/guaranteed decrease along runs (η > 0)": ("lower", 1e-06)})

LOGISTIC_REG = 0.1  # μ of the logistic regressions (runs and sweep)


def _decrease_run(problem, x0, L, mu, f_star, iterations, gen, delta_max):
    """CWSS-BFGS with random P_k, δ_k ≤ delta_max, checking D2 (and D3 where η_k > 0) at every step
    (verify.margins.bfgs.decrease_terms: relative margins)."""
    x, H = x0.clone(), torch.eye(len(x0), dtype=x0.dtype, device=x0.device)
    g = problem.gradient(x)
    rows = []
    for _ in range(iterations):
        if float(g.norm()) < 1e-10:
            break
        delta = float(torch.rand(1, generator=gen, dtype=torch.float64, device=gen.device)) * delta_max
        P = 1 + delta * (2 * torch.rand(len(x), generator=gen, dtype=torch.float64, device=gen.device).to(x) - 1)
        terms = decrease_terms(problem.value, problem.gradient, x, H, P, L, mu, f_star)
        d3, ratio = float(terms["d3"]), float(terms["ratio"])
        rows.append((float(terms["d2"]), d3 if math.isfinite(d3) else None, ratio if math.isfinite(ratio) else None))
        x_next, g_next = terms["x_next"], terms["g_next"]
        H, _ = inverse_bfgs_update(H, x_next - x, g_next - g)
        x, g = x_next, g_next
    return rows


def _quadratic_margins(batch: dict) -> torch.Tensor:
    """quadratic_decrease_margins of a batch of draw_decrease_quadratics."""
    return quadratic_decrease_margins(batch["A"], batch["b"], batch["x"], batch["H"], batch["P"])


def _draw_logistic(dim: int, samples: int, like: dict):
    """Batched logistic regressions as LogisticRegression.random draws them (A ~ N(0, 1/d), labels from a random
    x_true plus noise), x ~ 3·N(0, I), with H and P from verify.margins.bfgs.draw_decrease_H_and_P (L its
    smoothness bound at μ = LOGISTIC_REG)."""
    def draw(n: int, generator) -> dict:
        problem = LogisticRegression.random(dim, samples, reg=LOGISTIC_REG, batch=(n,), generator=generator, **like)
        H, P = draw_decrease_H_and_P(n, dim, problem.smoothness(), generator, like)
        return {"A": problem.A, "labels": problem.labels, "x": 3 * torch.randn(n, dim, generator=generator, **like),
                "H": H, "P": P}
    return draw


def _logistic_margins(batch: dict, step=cwss_step) -> torch.Tensor:
    """D2 margins of decrease_terms on a batch of ℓ₂-logistic regressions (L = λ_max(AᵀA)/(4m) + μ)."""
    problem = LogisticRegression.create(batch["A"], batch["labels"], LOGISTIC_REG)
    return decrease_terms(problem.value, problem.gradient, batch["x"], batch["H"], batch["P"], problem.smoothness(),
                          step=step)["d2"]


def _on_host(instance: dict) -> dict:
    """A sweep's worst instance (plain lists) as a batch of one in float64 on the CPU."""
    return {k: host_tensor(v).unsqueeze(0) for k, v in instance.items()}


def _decrease_sweep(ctx: Context) -> dict:
    """D2/D3 on ctx.scale("sweep_instances") instances, a quarter each on quadratics at d = 2, 5, 8 (D2 and D3) and
    on logistic regressions at d = 5, m = 20 (D2), the worst of each re-checked in float64 on the CPU."""
    count = ctx.scale("sweep_instances")
    cases = [(f"quadratic d={dim}", draw_decrease_quadratics(dim, DRAW_LIKE), _quadratic_margins) for dim in (2, 5, 8)]
    cases.append(("logistic d=5 m=20", _draw_logistic(5, 20, DRAW_LIKE), _logistic_margins))
    return {label: batched_sweep(ctx, shares(count, len(cases))[index], draw, margins,
                                 recheck=lambda i, margins=margins: float(margins(_on_host(i))[0]),
                                 stream=f"decrease-sweep-{index}")
            for index, (label, draw, margins) in enumerate(cases)}


@check(SPEC.id)
def sufficient_decrease(ctx: Context) -> Evidence:
    """D2/D3 (derived): f(x⁺) ≤ f(x) − η‖g‖², η = c − (L/2)(1 + δ)²λ_max(H)², c = λ_min(H) − δλ_max(H);
    if η > 0 and f is μ-strongly convex, f(x⁺) − f* ≤ (1 − 2μη)(f(x) − f*). Checked at every step of
    CWSS-BFGS runs with random P_k (δ_k ≤ 0.3 and ≤ 1) on quadratics (L = λ_max(A), μ = λ_min(A)) and
    ℓ₂-logistic regression (L = λ_max(AᵀA)/(4m) + μ, μ = reg). Margins relative to |f| + |f⁺| + |η|‖g‖²,
    tolerance 64d·eps (verify.margins.bfgs.decrease_terms). Conservativeness: ratio actual/guaranteed decrease where
    η > 0 (≥ 1; sympy shows it equals 1 in 1-D at P = I, so D2 is tight there). Sweep: D2 and D3 at one cwss_step
    of 10⁴ (quick) / 10⁶ (full) random instances in batches, a quarter each on quadratics at d = 2, 5, 8 (κ(A) ≤
    10³, D2 and D3 with f* = −½bᵀA⁻¹b) and on logistic regressions at d = 5, m = 20 (D2), with SPD H of scale
    10⁻³…1 over L and κ(H) ≤ 10 (so that η > 0 on a good share) and P = 1 + δu, δ ∈ [0, 1], u ∈ [−1, 1]^d, the worst
    of each re-checked in float64 on the CPU."""
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
            problem = LogisticRegression.random(dim, 20, reg=LOGISTIC_REG, generator=gen, **ctx.like)
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
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_decrease_sweep(ctx))
    holds = bool(d2.max() <= 0) and (d3.size == 0 or bool(d3.max() <= 0)) and tight_1d and sweep_violations == 0
    tightness = []
    if ratios.size:
        tightness.append(Tightness("actual/guaranteed decrease along runs (η > 0)", bound=1.0,
                                   worst=float(ratios.min()), kind="lower", rtol=1e-6, method="CWSS-BFGS runs",
                                   evaluations=len(all_rows)).as_row())
    counterexample = None
    if sweep_violations:
        counterexample = sweep_counterexample
    elif not holds:
        counterexample = dict(worst_d2_margin=float(d2.max()), margin=float(d2.max()))
    return Evidence(holds=holds, counterexample=counterexample,
                    tables={"tightness": tightness, "runs": per_problem, "sweep": sweep_table},
                    numbers=dict(steps=len(all_rows), worst_d2_margin=float(d2.max()),
                                 steps_with_positive_eta=int(ratios.size),
                                 fraction_positive_eta=float(ratios.size / max(len(all_rows), 1)),
                                 worst_d3_margin=float(d3.max()) if d3.size else None,
                                 decrease_ratio_min=float(ratios.min()) if ratios.size else None,
                                 decrease_ratio_median=float(np.median(ratios)) if ratios.size else None,
                                 tight_in_1d_at_P_equal_I=tight_1d, gap_1d=str(gap), **sweep_numbers),
                    notes="η > 0 needs λ_min(H) > (L/2)(1+δ)²λ_max(H)² (+δλ_max): rare along real BFGS runs, "
                          "so D2/D3 certify decrease only on a small fraction of steps")
