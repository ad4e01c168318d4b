"""cfgd.quadratic.closed-form: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from functools import partial

import numpy as np
from hypothesis import strategies as st

from theory import cfgd as theory
from verify.claims.cfgd._theory import _plain_counterexample, _symbolic_table
from verify.margins.cfgd import closed_form_margin
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import finite_floats, spd_matrices, vectors

SPEC = ClaimSpec("cfgd.quadratic.closed-form",
                 "for f = ½xᵀAx + bᵀx: D f = Ax + b + diag(γ)diag(r)(x − c), γ = β − (1−α)/(2−α), r_j = A_jj, "
                 "for x_j < c_j and x_j > c_j",
                 "paper+derived", "symbolic+property", "holds", "THEORY.md §1.3; paper Eq. 8",
                 dtypes=("float32", "float64"))


@st.composite
def _quadratic_instances(draw):
    d = draw(st.integers(1, 4))
    a = draw(spd_matrices(d, cond_max=100.0, scale_low=0.1, scale_high=10.0))
    shift = draw(finite_floats(-5.0, 1.0))  # indefinite A allowed: the closed form needs symmetry only
    return dict(A=a + shift * np.eye(d) * (shift < -2), b=draw(vectors(d, 5.0)), x=draw(vectors(d, 3.0)),
                c=draw(vectors(d, 3.0)), alpha=draw(vectors(d, 0.98, low=0.02)), beta=draw(vectors(d, 3.0)))


@check(SPEC.id)
def quadratic_closed_form(ctx: Context) -> Evidence:
    """For f = ½xᵀAx + bᵀx: D f = Ax + b + diag(γ)diag(r)(x − c), γ = β − (1−α)/(2−α), r_j = A_jj, on both
    sides of c (paper Eq. 8 form; γ and r derived).

    Symbolic: along e_j, ∂_j f(τ) = p + r(τ − x_j), the definition at x = c ± h reduces to the formula
    (residual 0, symbolic α = 1 − q, β, p, r). Property: implementations.cfgd.quadratic_direction (ctx.dtype)
    vs the mpmath definition coordinate by coordinate, hypothesis over d ≤ 4, SPD and indefinite A,
    per-coordinate α, β, c with x_j on both sides of c_j; tolerance in :func:`closed_form_margin`.
    """
    rows = {"x>c": theory.quadratic_closed_form_residual(1), "x<c": theory.quadratic_closed_form_residual(-1)}
    symbolic_ok, table = _symbolic_table(rows)
    result = ctx.search(_quadratic_instances(), partial(closed_form_margin, like=ctx.like), max_examples=40)
    counterexample = None
    if result.found:
        counterexample = _plain_counterexample(result)
    return Evidence(holds=symbolic_ok and not result.found, counterexample=counterexample,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1},
                    tables={"symbolic": table})
