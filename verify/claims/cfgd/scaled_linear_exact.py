"""cfgd.scaled.linear-exact: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from functools import partial

import mpmath as mp
import numpy as np
import torch
from hypothesis import strategies as st

from theory import cfgd as theory
from verify.claims.cfgd._theory import ORACLE_RTOL, _mp_relative_error, _plain_counterexample
from verify.margins.cfgd import ORACLE_DPS, linear_exact_margin, linear_exact_ratios, quadrature_direction_affine
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import vectors
from verify.sweep import DRAW_LIKE, batched_sweep, shares, summarize

SPEC = ClaimSpec("cfgd.scaled.linear-exact",
                 "for affine f, D f = ∇f for every α, β, c; as α→1 with β=0, D f → ∇f",
                 "derived", "property+sweep", "holds", "THEORY.md §1.1–1.2", dtypes=("float32", "float64"),
                 scales={"sweep_instances": (10000, 1000000)})

#: The sweep's dimension and node counts (a quarter of the instances each)
SWEEP_DIM, SWEEP_NODES = 4, (1, 2, 4, 8)


@st.composite
def _affine_instances(draw):
    d = draw(st.integers(1, 6))
    return dict(s=draw(st.integers(1, 8)), gradient=draw(vectors(d, 10.0)), x=draw(vectors(d, 5.0)),
                c=draw(vectors(d, 5.0)), alpha=draw(vectors(d, 0.98, low=0.02)), beta=draw(vectors(d, 5.0)))


def _draw_affine(like: dict):
    """Affine instances of dimension SWEEP_DIM, per coordinate: g ~ U[−10, 10], x, c ~ U[−5, 5] (both sides of c),
    α ~ U[0.02, 0.98], β ~ U[−5, 5] (the property's ranges)."""
    def draw(n: int, generator) -> dict:
        def uniform(low: float, high: float):
            return low + (high - low) * torch.rand(n, SWEEP_DIM, generator=generator, **like)
        return {"gradient": uniform(-10, 10), "x": uniform(-5, 5), "c": uniform(-5, 5), "alpha": uniform(0.02, 0.98),
                "beta": uniform(-5, 5)}
    return draw


def _affine_sweep(ctx: Context) -> dict:
    """D f = ∇f for affine f on ctx.scale("sweep_instances") random instances, a quarter each with s = 1, 2, 4, 8
    nodes (linear_exact_ratios of quadrature_direction_affine in ctx.dtype on ctx.device); the worst of each
    re-checked by linear_exact_margin in float64 on the CPU."""
    count, host = ctx.scale("sweep_instances"), partial(quadrature_direction_affine, dtype=torch.float64, device="cpu")
    direction = partial(quadrature_direction_affine, **ctx.like)

    def margins(batch: dict, s: int) -> torch.Tensor:
        value = direction(batch["gradient"], batch["x"], batch["c"], batch["alpha"], batch["beta"], s)
        return linear_exact_ratios(value, batch["gradient"], s)

    return {f"s={s}": batched_sweep(ctx, shares(count, 4)[index], _draw_affine(DRAW_LIKE),
                                    partial(margins, s=s), stream=f"linear-exact-sweep-{s}",
                                    recheck=lambda i, s=s: linear_exact_margin(
                                        {**{k: np.array(v) for k, v in i.items()}, "s": s}, host))
            for index, s in enumerate(SWEEP_NODES)}


@check(SPEC.id)
def linear_exact(ctx: Context) -> Evidence:
    """For affine f, D f = ∇f for every α, β, c (derived: f' constant, f'' = 0 and C_α Σ w_m = 1); and as
    α → 1 with β = 0, D f → ∇f for smooth f (derived: the s = 1 node τ = c + (x−c)/(2−α) → x).

    Property: hypothesis over d ≤ 6, s ≤ 8 nodes, per-coordinate α, β, c and x on both sides of c; margin
    |D_j f − g_j| − 4(s+2)eps|g_j| (eps of ctx.dtype). Also the mpmath definition for affine f, 40 digits.
    Limit: mpmath definition for f' = e^τ sin τ, α = 1 − 10^-k, k = 1..6: the error |D f − f'(x)| must
    decrease with a fitted log-log slope in (1−α) of about 1 (≥ 0.8 is required: first-order convergence).
    Sweep: the property's margin (linear_exact_ratios, eps of ctx.dtype) on 10⁴ (quick) / 10⁶ (full) random
    instances (d = 4, a quarter each with s = 1, 2, 4, 8 nodes, the property's ranges), the worst of each node
    count re-checked in float64 on the CPU.
    """
    direction = partial(quadrature_direction_affine, **ctx.like)
    result = ctx.search(_affine_instances(), partial(linear_exact_margin, direction=direction), max_examples=60)
    worst_oracle = 0.0
    with mp.workdps(ORACLE_DPS):
        for index in range(6):
            g = mp.mpf(float(ctx.rng.uniform(-5, 5)))
            c = mp.mpf(float(ctx.rng.uniform(-2, 2)))
            x = c + (1 if index % 2 else -1) * mp.mpf(float(ctx.rng.uniform(0.1, 3)))
            value = theory.scaled_caputo_mp(lambda s, g=g: g, lambda s: mp.mpf(0), x, c,
                                            mp.mpf(float(ctx.rng.uniform(0.02, 0.98))),
                                            mp.mpf(float(ctx.rng.uniform(-3, 3))))
            worst_oracle = max(worst_oracle, _mp_relative_error(value, g))
    limit_rows = []
    with mp.workdps(ORACLE_DPS):
        x, c = mp.mpf("0.7"), mp.mpf("-0.4")
        first = lambda s: mp.exp(s) * mp.sin(s)  # noqa: E731
        second = lambda s: mp.exp(s) * (mp.sin(s) + mp.cos(s))  # noqa: E731
        for k in range(1, 7):
            alpha = 1 - mp.mpf(10) ** (-k)
            error = abs(theory.scaled_caputo_mp(first, second, x, c, alpha, 0) - first(x))
            limit_rows.append({"one_minus_alpha": float(10.0 ** -k), "error": float(error)})
    errors = np.array([row["error"] for row in limit_rows])
    slope = float(np.polyfit(np.log10([row["one_minus_alpha"] for row in limit_rows]), np.log10(errors), 1)[0])
    limit_ok = bool(np.all(np.diff(errors) < 0)) and slope >= 0.8
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_affine_sweep(ctx))
    holds = not result.found and worst_oracle <= ORACLE_RTOL and limit_ok and sweep_violations == 0
    counterexample = sweep_counterexample or (_plain_counterexample(result) if result.found else None)
    return Evidence(holds=holds,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "oracle_worst_relative_error": worst_oracle, "alpha_to_one_loglog_slope": slope,
                             **sweep_numbers},
                    counterexample=counterexample,
                    tables={"alpha_to_one": limit_rows, "sweep": sweep_table})
