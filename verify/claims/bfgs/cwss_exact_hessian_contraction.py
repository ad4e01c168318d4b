"""bfgs.cwss.exact-hessian-contraction: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.bfgs import FixedSteps, cwss_bfgs
from implementations.problems.quadratic import random_spd
from theory import bfgs as theory
from verify.margins.bfgs import EPS, contraction_margin, contraction_margins, spd_inverse
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import finite_floats, spd_matrices, vectors
from verify.sweep import DRAW_LIKE, log_uniform_spd, summarize, sweep_dimensions

SPEC = ClaimSpec("bfgs.cwss.exact-hessian-contraction",
                 "quadratic with H = A⁻¹: e⁺ = (I − P)e, every coordinate contracts iff p_i ∈ (0,2), "
                 "non-expanding iff p_i ∈ [0,2] (D4)",
                 "paper+derived", "symbolic+property+sweep", "holds", "THEORY.md §2.1 D4; paper",
                 scales={"sweep_instances": (10000, 1000000)})


@st.composite
def _contraction_instance(draw):
    dim = draw(st.integers(1, 5))
    A = draw(spd_matrices(dim, cond_max=1e3)) if dim > 1 else np.array([[draw(finite_floats(1e-2, 1e2))]])
    x = draw(vectors(dim, 10.0))
    x_star = draw(vectors(dim, 10.0))
    p = draw(vectors(dim, 3.0, low=-1.0))
    return A, x, x_star, p


def _draw_d4(dim: int, like: dict):
    """Batched D4 instances: A = Q diag(λ) Qᵀ (λ log-uniform on [1, 10³]), x, x* ~ 10·N(0, I), p ∈ [−1, 3]^d."""
    def draw(n: int, generator) -> dict:
        A, _, _ = log_uniform_spd(n, dim, 1e3, generator, like)
        return {"A": A, "x": 10 * torch.randn(n, dim, generator=generator, **like),
                "x_star": 10 * torch.randn(n, dim, generator=generator, **like),
                "p": 4 * torch.rand(n, dim, generator=generator, **like) - 1}
    return draw


def _d4_sweep(ctx: Context) -> dict:
    """D4 via cwss_step on ctx.scale("sweep_instances") random instances, a third each at d = 2, 4, 8, the worst
    of each re-checked by contraction_margin in float64 on the CPU."""
    return sweep_dimensions(ctx, "d4", (2, 4, 8), lambda dim: _draw_d4(dim, DRAW_LIKE),
                            lambda b: contraction_margins(b["A"], b["x"], b["x_star"], b["p"]),
                            recheck=lambda i: contraction_margin((i["A"], i["x"], i["x_star"], i["p"])))


@check(SPEC.id)
def exact_hessian_contraction(ctx: Context) -> Evidence:
    """D4 (paper's interval + derived): on a quadratic with H = A⁻¹, e⁺ = (I − P)e; each coordinate
    contracts iff p_i ∈ (0, 2), is non-expanding iff p_i ∈ [0, 2]. Symbolic: sympy reduces e⁺ − (I − P)e
    to 0 for generic A (d = 2, 3) and solves |1 − p| < 1 → (0, 2), ≤ 1 → [0, 2]. Property: hypothesis over
    A, x, x*, p ∈ [−1, 3]^d via cwss_step (tolerance in contraction_margin). Run: cwss_bfgs with H₀ = A⁻¹
    (a fixed point of the BFGS update on a quadratic) gives e_k = (I − P)^k e_0 over 20 steps. Sweep: the same
    margin (contraction_margins) on 10⁴ (quick) / 10⁶ (full) random instances in batches (d = 2, 4, 8, κ ≤ 10³),
    the worst of each dimension re-checked in float64 on the CPU."""
    maps_zero = all(v == 0 for n in (2, 3) for v in theory.exact_hessian_error_map(n))
    strict, weak = theory.coordinate_contraction_sets()
    import sympy as sp

    sets_ok = strict == sp.Interval.open(0, 2) and weak == sp.Interval(0, 2)
    result = ctx.search(_contraction_instance(), lambda inst: contraction_margin(inst, like=ctx.like), max_examples=300)
    gen = ctx.torch_generator()
    dim, cond = 6, 100.0
    A = random_spd(dim, cond, gen, **ctx.like)
    b = ctx.randn(dim, generator=gen)
    from implementations.problems.quadratic import Quadratic

    problem = Quadratic.create(A, b)
    x_star = problem.minimiser()
    P = ctx.tensor([0.05, 0.5, 1.0, 1.5, 1.95, 0.9])
    x0 = ctx.randn(dim, generator=gen)
    trace = cwss_bfgs(problem, x0, FixedSteps(P), 20, H0=spd_inverse(A), keep_iterates=True, cond_every=0)
    errors = trace.iterates[:, 0] - x_star
    predicted = torch.stack([(1 - P) ** k * (x0 - x_star) for k in range(errors.shape[0])])
    run_error = float((errors - predicted).abs().max())
    run_tol = 20 * 8 * dim * cond * EPS * float((x0 - x_star).abs().max()) * 2
    sweeps = _d4_sweep(ctx)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(sweeps)
    holds = maps_zero and sets_ok and not result.found and run_error <= run_tol and sweep_violations == 0
    counterexample = None
    if sweep_violations:
        counterexample = sweep_counterexample
    elif result.found:
        A0, x, xs, p = result.counterexample
        counterexample = dict(A=A0.tolist(), x=x.tolist(), x_star=xs.tolist(), p=p.tolist(), margin=result.margin)
    return Evidence(holds=holds, counterexample=counterexample, numbers=dict(
        symbolic_error_map_zero=maps_zero, contraction_sets=[str(strict), str(weak)],
        property_examples=result.examples_tried, property_worst_margin=result.worst_margin_seen,
        run_max_deviation_from_I_minus_P_power=run_error, run_tolerance=run_tol,
        **sweep_numbers),
        tables={"sweep": sweep_table},
        notes="run tolerance: 20 steps × 8d·κ(A)·eps relative error of each A⁻¹-step, factor 2 for the update")
