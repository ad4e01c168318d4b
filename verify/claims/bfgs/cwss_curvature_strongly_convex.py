"""bfgs.cwss.curvature-strongly-convex: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.bfgs import FixedSteps, cwss_bfgs
from implementations.problems.logistic import LogisticRegression
from verify.margins.bfgs import curvature_margin, curvature_margins, draw_curvature
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import finite_floats, spd_matrices, vectors
from verify.sweep import DRAW_LIKE, batched_sweep, shares, summarize

SPEC = ClaimSpec("bfgs.cwss.curvature-strongly-convex",
                 "μ-strong convexity ⇒ yᵀs ≥ μ‖s‖² > 0 for any step, so the BFGS update stays SPD whatever P is (D5)",
                 "derived", "property+sweep", "holds", "THEORY.md §2.1 D5",
                 scales={"dim": (10, 30), "samples": (30, 100), "runs": (4, 16), "iterations": (30, 100),
                         "sweep_instances": (10000, 1000000)})

#: the D5 sweep's (d, m, μ): dimension, samples and regularisation of its logistic regressions, an equal share each
SWEEPS = ((2, 3, 1e-3), (2, 6, 10.0), (4, 6, 1e-2), (4, 12, 1.0), (8, 4, 1e-3), (8, 16, 0.1))


@st.composite
def _logistic_step(draw):
    d = draw(st.integers(1, 4))
    m = draw(st.integers(1, 6))
    A = draw(st.lists(vectors(d, 3.0), min_size=m, max_size=m))
    labels = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=m, max_size=m))
    reg = draw(finite_floats(1e-3, 10.0))
    x = draw(vectors(d, 5.0))
    P = draw(vectors(d, 3.0))
    H = draw(spd_matrices(d, cond_max=1e3)) if d > 1 else np.array([[draw(finite_floats(1e-2, 1e2))]])
    return np.array(A), np.array(labels), reg, x, P, H


def _d5_sweep(ctx: Context) -> dict:
    """curvature_margins on ctx.scale("sweep_instances") instances, an equal share for each (d, m, μ) of SWEEPS,
    the worst of each re-checked by curvature_margin in float64 on the CPU."""
    count = ctx.scale("sweep_instances")
    sweeps = {}
    for index, (dim, samples, reg) in enumerate(SWEEPS):
        sweeps[f"d={dim} m={samples} mu={reg:g}"] = batched_sweep(
            ctx, shares(count, len(SWEEPS))[index], draw_curvature(dim, samples, DRAW_LIKE),
            lambda b, reg=reg: curvature_margins(b["A"], b["labels"], reg, b["x"], b["P"], b["H"]),
            recheck=lambda i, reg=reg: curvature_margin((i["A"], i["labels"], reg, i["x"], i["P"], i["H"])),
            stream=f"d5-sweep-{index}")
    return sweeps


@check(SPEC.id)
def curvature_strongly_convex(ctx: Context) -> Evidence:
    """D5 (derived): for μ-strongly convex f, yᵀs ≥ μ‖s‖² for every step s, so the BFGS update stays SPD
    whatever P is. Property: hypothesis over ℓ₂-regularised logistic regressions (μ = reg), points x,
    any P ∈ [−3, 3]^d (even non-descent ones) and SPD H (tolerance in curvature_margin). Runs: CWSS-BFGS
    with random P_k ∈ [−1, 3]^d on logistic regression never fires the skip safeguard, and the smallest
    yᵀs/(μ‖s‖²) along the run is reported (≥ 1 by D5). Contrast: on an indefinite quadratic the
    safeguard fires (yᵀs < 0 occurs), which is why it exists. Sweep: the same margin (curvature_margins, s = x⁺ − x
    with x⁺ from cwss_step, y from LogisticRegression.gradient) on 10⁴ (quick) / 10⁶ (full) random instances in
    batches, a sixth each at (d, m, μ) ∈ SWEEPS (d = 2, 4, 8; m = 3…16 samples; μ = 10⁻³…10; A ~ 3·N(0, 1), x ~
    5·N(0, I), P ∈ [−3, 3]^d, SPD H with κ ≤ 10³), the worst of each re-checked in float64 on the CPU."""
    result = ctx.search(_logistic_step(), lambda inst: curvature_margin(inst, like=ctx.like), max_examples=200)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_d5_sweep(ctx))
    gen = ctx.torch_generator()
    d, m, runs, iterations = ctx.scale("dim"), ctx.scale("samples"), ctx.scale("runs"), ctx.scale("iterations")
    problem = LogisticRegression.random(d, m, reg=1e-2, batch=(runs,), generator=gen, **ctx.like)
    random_P = ctx.uniform(iterations, runs, d, low=-1, high=3, generator=gen)
    trace = cwss_bfgs(problem, torch.zeros(runs, d, **ctx.like), FixedSteps(lambda k: random_P[k], interval=None),
                      iterations, cond_every=0)
    ys = trace.series("ys")
    steps = trace.series("step_length")
    moved = steps > 1e-8
    curvature_ratio = ys[moved] / (problem.reg * steps[moved] ** 2)
    fired = float(np.nansum(trace.series("safeguard_fired")[moved]))
    indefinite = torch.diag(ctx.tensor([1.0, -1.0]))
    indefinite_trace = cwss_bfgs(_IndefiniteQuadratic(indefinite), ctx.tensor([1.0, 1.0]),
                                 FixedSteps(ctx.tensor([0.5, 1.5])), 3, cond_every=0)
    contrast_fired = float(np.nansum(indefinite_trace.series("safeguard_fired")))
    holds = not result.found and fired == 0 and float(curvature_ratio.min()) >= 1 - 1e-6 and sweep_violations == 0
    counterexample = None
    if sweep_violations:
        counterexample = sweep_counterexample
    elif result.found:
        A, labels, reg, x, P, H = result.counterexample
        counterexample = dict(A=A.tolist(), labels=labels.tolist(), reg=reg, x=x.tolist(), P=P.tolist(),
                              H=H.tolist(), margin=result.margin)
    return Evidence(holds=holds, counterexample=counterexample, numbers=dict(
        property_examples=result.examples_tried, property_worst_margin=result.worst_margin_seen,
        run_steps=int(moved.sum()), run_min_ys_over_mu_s2=float(curvature_ratio.min()),
        run_safeguard_fired=fired, indefinite_quadratic_safeguard_fired=contrast_fired, d=d, m=m,
        **sweep_numbers),
        tables={"sweep": sweep_table},
        notes="run_min_ys_over_mu_s2 ≥ 1 is D5 along runs with arbitrary P (tolerance 1e-6 relative: the "
              "ratio of two O(eps)-accurate quantities over steps > 1e-8)")


class _IndefiniteQuadratic:
    """f(x) = ½xᵀAx with a symmetric, possibly indefinite A (the D5 contrast)."""

    def __init__(self, A: torch.Tensor) -> None:
        self.A = A

    def value(self, x):
        return 0.5 * (x * (x @ self.A)).sum(-1)

    def gradient(self, x):
        return x @ self.A
