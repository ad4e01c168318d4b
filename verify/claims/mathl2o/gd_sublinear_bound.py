"""mathl2o.gd.sublinear-bound: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from theory import mathl2o as theory
from verify.margins.mathl2o import EPS, draw_worst_direction, gd_bound_margin, gd_bound_margins, worst_directions
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import full_row_rank_gaussian, vectors
from verify.sweep import DRAW_LIKE, batched_sweep, shares, summarize
from verify.tightness import Tightness

SPEC = ClaimSpec("mathl2o.gd.sublinear-bound",
                 "GD with step 1/β: F(X_T) − F* ≤ β‖X₀ − X*‖²/(2T)",
                 "standard", "property+tightness+sweep", "holds", "paper Eqs. 9–10; Nesterov (2004) Thm 2.1.14",
                 scales={"sweep_instances": (10000, 1000000)},
                 tightness={"F(X_T)/(β‖X₀−X*‖²/(2cT)), T=20": ("upper", 0.001),
                            "worst ratio vs exact quadratic sup, T=20": ("tight", 0.01)})


#: The sweeps' (d, b, T): three at T = 20 (the tightness record's), one at T = 1 and one at T = 60.
SWEEP_SHAPES = ((2, 2, 20), (4, 3, 20), (8, 5, 20), (3, 2, 1), (6, 4, 60))


def _gd_sweep(ctx: Context) -> dict:
    """The bound's margin ratio − 1 − 100·T·eps (verify.margins.mathl2o.gd_bound_margins) on
    ctx.scale("sweep_instances") random instances (verify.sweep), a fifth at each (d, b, T) of SWEEP_SHAPES, x₀ − x*
    along each M's worst eigen-direction (verify.margins.mathl2o.draw_worst_direction); the worst of each re-checked
    by gd_bound_margin in float64 on the CPU."""
    results = {}
    for count, (d, b, T) in zip(shares(ctx.scale("sweep_instances"), len(SWEEP_SHAPES)), SWEEP_SHAPES):
        results[f"d={d},b={b},T={T}"] = batched_sweep(
            ctx, count, draw_worst_direction(d, b, T, DRAW_LIKE),
            lambda batch, T=T: gd_bound_margins(batch["M"], batch["x_gt"], T),
            recheck=lambda i, T=T: gd_bound_margin(i["M"], i["x_gt"], T), stream=f"gd-sweep-{d}-{T}")
    return results


@check(SPEC.id)
def gd_sublinear_bound(ctx: Context) -> Evidence:
    """GD with step c/β (c = 0.9999): F(X_T) − F* ≤ β‖X₀ − X*‖²/(2cT) (standard; Nesterov Thm 2.1.14; paper
    Eqs. 9–10), X* = 𝐌⁺Y the minimiser GD converges to from X₀ = 0. Search: hypothesis over M (b ≤ d ≤ 6,
    unit-norm columns), x_gt and T ≤ 60, each instance measured at its own x_gt and at its worst eigen-direction;
    margin = ratio − 1 − 100·T·eps (round-off of the unrolled value). Sweep: the same margin on 10⁴ (quick) / 10⁶
    (full) random M in batches (Gaussian, unit-norm columns), each with x₀ − x* along its worst eigen-direction,
    measured by unrolling GD (the implementation's rollout), a fifth each at (d, b, T) = (2, 2, 20), (4, 3, 20),
    (8, 5, 20), (3, 2, 1), (6, 4, 60); the worst of each re-checked in float64 on the CPU.
    Tightness: the worst ratio of the T = 20 sweeps vs 1 (kind upper) and vs the exact sup over quadratics
    T(2T)^{2T}/(2T+1)^{2T+1} (derived with sympy in theory.mathl2o), which shows the bound is loose by ≈ 2e."""
    T_sweep = 20

    @st.composite
    def instances(draw):
        d = draw(st.integers(1, 6))
        b = draw(st.integers(1, d))
        return draw(full_row_rank_gaussian(b, d)), draw(vectors(d, 3.0)), draw(st.integers(1, 60))

    def margin(inst) -> float:
        M, x_gt, T = inst
        worst = worst_directions(torch.as_tensor(M, **ctx.like), T).cpu().numpy()
        return max(gd_bound_margin(M, x_gt, T, ctx.like), gd_bound_margin(M, worst, T, ctx.like))

    result = ctx.search(instances(), margin, max_examples=60)
    sweeps = _gd_sweep(ctx)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(sweeps)
    at_20 = [sweep for (_, _, T), sweep in zip(SWEEP_SHAPES, sweeps.values()) if T == T_sweep]
    measured = max(sweep.worst_margin for sweep in at_20) + 1 + 100 * T_sweep * EPS
    evaluations = sum(sweep.count for sweep in at_20)
    exact = theory.gd_quadratic_worst_ratio(T_sweep)
    rows = [Tightness("F(X_T)/(β‖X₀−X*‖²/(2cT)), T=20", 1.0, measured, "upper", 1e-3, "sweep+eigen-direction",
                      evaluations).as_row(),
            Tightness("worst ratio vs exact quadratic sup, T=20", exact, measured, "upper", 1e-2,
                      "sweep+eigen-direction", evaluations).as_row()]
    holds = not result.found and sweep_violations == 0
    counterexample = None
    if sweep_violations:
        counterexample = sweep_counterexample
    elif result.found:
        counterexample = {"instance": [a.tolist() if hasattr(a, "tolist") else a for a in result.counterexample],
                          "margin": result.margin}
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "worst_margin_search": result.worst_margin_seen,
                 "worst_ratio_sweep_T20": measured, "exact_quadratic_sup_T20": exact,
                 "limit_1_over_2e": 1 / (2 * math.e), **sweep_numbers},
        counterexample=counterexample, tables={"tightness": rows, "sweep": sweep_table},
        notes="the bound holds with ratio ≤ T(2T)^{2T}/(2T+1)^{2T+1} ≈ 1/(2e) on quadratics: loose by ≈ 5.4×.")
