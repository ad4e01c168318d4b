"""cfgd.gj.exactness: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from functools import partial

import mpmath as mp
import numpy as np
import torch
from hypothesis import strategies as st

from theory import cfgd as theory
from verify.claims.cfgd._theory import ORACLE_RTOL, _mp_relative_error
from verify.margins.cfgd import EPS, ORACLE_DPS, exactness_margin, exactness_margins, jacobi_quadrature_error
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import alphas, vectors
from verify.sweep import DRAW_LIKE, batched_sweep, summarize

SPEC = ClaimSpec("cfgd.gj.exactness",
                 "the s-node rule is exact for polynomials of degree ≤ 2s−1 and not in general for degree 2s",
                 "derived", "property+sweep", "holds", "THEORY.md §1.2",
                 scales={"max_nodes": (8, 12), "sweep_instances": (10000, 1000000)})

#: The sweep's node counts: uniform in 1..SWEEP_MAX_NODES (the property's range)
SWEEP_MAX_NODES = 10


@st.composite
def _polynomial_instances(draw, degree_offset: int = -1):
    s = draw(st.integers(1, 10))
    coefficients = draw(vectors(2 * s + degree_offset + 1, 1.0))
    return dict(s=s, alpha=draw(alphas(0.02, 0.98)), coefficients=coefficients)


def degree_2s_row(alpha: float, s: int, like: dict | None = None) -> dict:
    """The rule on p = (1−u)^(2s), whose Gauss remainder I − Q is exactly ‖π_s‖² (theory.cfgd.jacobi_remainder_mp).

    float64 rule: I − Q must match the remainder within the round-off bound of :func:`jacobi_quadrature_error`
    (plus eps·remainder for rounding the 40-digit value); it is *detectable* when it exceeds that bound (fails
    for large s, where the remainder falls below float64 resolution of the integral). mpmath rule (40 digits,
    theory.cfgd.gauss_jacobi_mp): I − Q must match the remainder to 10^-30·I/(I − Q) relative (the working
    accuracy divided by the cancellation), and is nonzero, for every s. ``like``: as in
    :func:`jacobi_quadrature_error`.
    """
    coefficients = np.zeros(2 * s + 1)
    coefficients[-1] = 1.0
    error, bound, exact = jacobi_quadrature_error(coefficients, alpha, s, like)
    with mp.workdps(ORACLE_DPS):
        a = mp.mpf(alpha)
        remainder_mp = theory.jacobi_remainder_mp(s, a)
        nodes, weights = theory.gauss_jacobi_mp(s, a)
        gap_mp = (mp.power(2, 2 * s + 1 - a) / (2 * s + 1 - a)
                  - mp.fsum(w * (1 - u) ** (2 * s) for u, w in zip(nodes, weights)))
        # I − Q cancels: its relative accuracy is the working one times I/(I − Q)
        mp_tolerance = ORACLE_RTOL * max(1, mp.power(2, 2 * s + 1 - a) / (2 * s + 1 - a) / remainder_mp)
        mp_ok = remainder_mp > 0 and _mp_relative_error(gap_mp, remainder_mp) <= mp_tolerance
    remainder = float(remainder_mp)
    matches = abs(-error - remainder) <= bound + EPS * remainder
    detectable = -error > bound
    return {"alpha": alpha, "s": s, "float64_integral_minus_rule": -error, "remainder_formula": remainder,
            "relative_remainder": remainder / exact, "float64_roundoff_bound": bound, "float64_matches": matches,
            "float64_detectable": detectable, "mp_relative_error": _mp_relative_error(gap_mp, remainder_mp),
            "ok": bool(matches and mp_ok)}


def _draw_polynomials(like: dict):
    """Instances: s uniform in 1..SWEEP_MAX_NODES, α ~ U[0.02, 0.98] and 2·SWEEP_MAX_NODES coefficients in [−1, 1]
    in the (1−u)^m basis, of which the first 2s (degree 2s − 1) are used."""
    def draw(n: int, generator) -> dict:
        s = torch.randint(1, SWEEP_MAX_NODES + 1, (n,), generator=generator, device=like["device"]).to(like["dtype"])
        return {"s": s, "alpha": 0.02 + 0.96 * torch.rand(n, generator=generator, **like),
                "coefficients": 2 * torch.rand(n, 2 * SWEEP_MAX_NODES, generator=generator, **like) - 1}
    return draw


def _recheck(instance: dict) -> float:
    """:func:`exactness_margin` (I from mpmath) of a sweep's instance in float64 on the CPU."""
    s = int(round(instance["s"]))
    return exactness_margin(dict(s=s, alpha=instance["alpha"], coefficients=np.array(instance["coefficients"][:2 * s])),
                            like={"dtype": torch.float64, "device": "cpu"})


def _exactness_sweep(ctx: Context) -> dict:
    """Exactness to degree 2s − 1 on ctx.scale("sweep_instances") random (s, α, polynomial) (exactness_margins,
    I in float64), the worst re-checked with I from mpmath."""
    return {"degree 2s-1": batched_sweep(ctx, ctx.scale("sweep_instances"), _draw_polynomials(DRAW_LIKE),
                                         lambda b: exactness_margins(b["alpha"], b["s"], b["coefficients"]),
                                         recheck=_recheck, stream="exactness-sweep")}


@check(SPEC.id)
def exactness(ctx: Context) -> Evidence:
    """The s-node Gauss–Jacobi rule is exact for polynomials of degree ≤ 2s − 1 and not for degree 2s (derived).

    Property: hypothesis over s ≤ 10, α ∈ [0.02, 0.98], coefficients in [−1,1] in the (1−u)^m basis;
    |Q − I| must stay within the derived round-off bound of :func:`jacobi_quadrature_error`.
    Degree 2s: p = (1−u)^(2s), whose Gauss remainder is exactly ‖π_s‖² = μ₀ Π_{k≤s} β_k > 0
    (theory.cfgd.jacobi_remainder_mp); see :func:`degree_2s_row` (float64 rule where the remainder is above
    round-off, the 40-digit mpmath rule for every s).
    Sweep: the property's margin on 10⁴ (quick) / 10⁶ (full) random instances (s uniform in 1..10, α ∈ [0.02,
    0.98], coefficients in [−1, 1]), with I = Σ_m a_m 2^(m+1−α)/(m+1−α) in float64 and its round-off added to the
    bound (verify.margins.cfgd.exactness_margins); the worst re-checked with I from mpmath.
    """
    result = ctx.search(_polynomial_instances(), partial(exactness_margin, like=ctx.like), max_examples=80)
    rows = [degree_2s_row(alpha, s, ctx.like)
            for alpha in (0.1, 0.5, 0.9) for s in range(1, ctx.scale("max_nodes") + 1)]
    failing_rows = [row for row in rows if not row["ok"]]
    detected_in_float64 = sum(row["float64_detectable"] for row in rows)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_exactness_sweep(ctx))
    counterexample = sweep_counterexample
    if counterexample is None and result.found:
        counterexample = {"s": result.counterexample["s"], "alpha": result.counterexample["alpha"],
                          "coefficients_in_(1-u)^m": result.counterexample["coefficients"].tolist(),
                          "margin": result.margin}
    elif counterexample is None and failing_rows:
        counterexample = {"degree_2s_rows": failing_rows, "margin": 1.0}
    return Evidence(holds=(not result.found and not failing_rows and detected_in_float64 > 0
                           and sweep_violations == 0),
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "degree_2s_cases": len(rows), "degree_2s_detectable_in_float64": detected_in_float64,
                             **sweep_numbers},
                    counterexample=counterexample, tables={"degree_2s_remainder": rows, "sweep": sweep_table})
