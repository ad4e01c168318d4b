"""cfgd.quadratic.closed-form: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from hypothesis import strategies as st

from theory import cfgd as theory
from verify.claims.cfgd._theory import _plain_counterexample, _symbolic_table
from verify.margins.cfgd import closed_form_margin, quadratic_form_margins
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import finite_floats, spd_matrices, vectors
from verify.sweep import DRAW_LIKE, batched_sweep, random_orthogonal, summarize, with_eigenvalues

SPEC = ClaimSpec("cfgd.quadratic.closed-form",
                 "for f = ½xᵀAx + bᵀx: D f = Ax + b + diag(γ)diag(r)(x − c), γ = β − (1−α)/(2−α), r_j = A_jj, "
                 "for x_j < c_j and x_j > c_j",
                 "paper+derived", "symbolic+property+sweep", "holds", "THEORY.md §1.3; paper Eq. 8",
                 dtypes=("float32", "float64"), scales={"sweep_instances": (10000, 1000000)})

#: The sweep's dimension
SWEEP_DIM = 4


@st.composite
def _quadratic_instances(draw):
    d = draw(st.integers(1, 4))
    a = draw(spd_matrices(d, cond_max=100.0, scale_low=0.1, scale_high=10.0))
    shift = draw(finite_floats(-5.0, 1.0))  # indefinite A allowed: the closed form needs symmetry only
    return dict(A=a + shift * np.eye(d) * (shift < -2), b=draw(vectors(d, 5.0)), x=draw(vectors(d, 3.0)),
                c=draw(vectors(d, 3.0)), alpha=draw(vectors(d, 0.98, low=0.02)), beta=draw(vectors(d, 3.0)))


def _draw_quadratics(like: dict):
    """Quadratic instances of dimension SWEEP_DIM: A = Q diag(λ) Qᵀ (Q Haar-orthogonal, λ ~ U[−10, 10]: definite and
    indefinite), b ~ U[−5, 5], x, c ~ U[−3, 3] (both sides of c per coordinate), α ~ U[0.02, 0.98], β ~ U[−3, 3]."""
    def draw(n: int, generator) -> dict:
        def uniform(low: float, high: float, *shape: int):
            return low + (high - low) * torch.rand(n, *shape, generator=generator, **like)
        A = with_eigenvalues(random_orthogonal(n, SWEEP_DIM, generator, like), uniform(-10, 10, SWEEP_DIM))
        return {"A": A, "b": uniform(-5, 5, SWEEP_DIM), "x": uniform(-3, 3, SWEEP_DIM),
                "c": uniform(-3, 3, SWEEP_DIM), "alpha": uniform(0.02, 0.98, SWEEP_DIM),
                "beta": uniform(-3, 3, SWEEP_DIM)}
    return draw


def _closed_form_sweep(ctx: Context) -> dict:
    """implementations.cfgd.quadratic_direction against the one-node Gauss–Jacobi form of implementations.cfgd.
    caputo_gradient (exact on quadratics) on ctx.scale("sweep_instances") random instances in ctx.dtype
    (quadratic_form_margins); the worst re-checked against the mpmath definition by closed_form_margin in float64
    on the CPU."""
    def margins(batch: dict) -> torch.Tensor:
        return quadratic_form_margins(*(batch[k] for k in ("A", "b", "x", "alpha", "beta", "c")))

    def recheck(instance: dict) -> float:
        return float(closed_form_margin({k: np.array(v) for k, v in instance.items()},
                                        like={"dtype": torch.float64, "device": "cpu"}))

    return {f"d={SWEEP_DIM}": batched_sweep(ctx, ctx.scale("sweep_instances"), _draw_quadratics(DRAW_LIKE), margins,
                                            recheck=recheck, stream="closed-form-sweep")}


@check(SPEC.id)
def quadratic_closed_form(ctx: Context) -> Evidence:
    """For f = ½xᵀAx + bᵀx: D f = Ax + b + diag(γ)diag(r)(x − c), γ = β − (1−α)/(2−α), r_j = A_jj, on both
    sides of c (paper Eq. 8 form; γ and r derived).

    Symbolic: along e_j, ∂_j f(τ) = p + r(τ − x_j), the definition at x = c ± h reduces to the formula
    (residual 0, symbolic α = 1 − q, β, p, r). Property: implementations.cfgd.quadratic_direction (ctx.dtype)
    vs the mpmath definition coordinate by coordinate, hypothesis over d ≤ 4, SPD and indefinite A,
    per-coordinate α, β, c with x_j on both sides of c_j; tolerance in :func:`closed_form_margin`.
    Sweep: on 10⁴ (quick) / 10⁶ (full) random instances (d = 4, A with eigenvalues in [−10, 10], b ∈ [−5, 5], x, c
    ∈ [−3, 3], α ∈ [0.02, 0.98], β ∈ [−3, 3]) quadratic_direction in ctx.dtype against the scaled Caputo
    derivative as implementations.cfgd.caputo_gradient computes it (the one-node Gauss–Jacobi form, exact for the
    affine integrand), tolerance 4(d+6)·eps·scale of verify.margins.cfgd.quadratic_form_margins; the worst
    instance re-checked against the mpmath definition in float64.
    """
    rows = {"x>c": theory.quadratic_closed_form_residual(1), "x<c": theory.quadratic_closed_form_residual(-1)}
    symbolic_ok, table = _symbolic_table(rows)
    result = ctx.search(_quadratic_instances(), partial(closed_form_margin, like=ctx.like), max_examples=40)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_closed_form_sweep(ctx))
    counterexample = sweep_counterexample
    if counterexample is None and result.found:
        counterexample = _plain_counterexample(result)
    return Evidence(holds=symbolic_ok and not result.found and sweep_violations == 0, counterexample=counterexample,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             **sweep_numbers},
                    tables={"symbolic": table, "sweep": sweep_table})
