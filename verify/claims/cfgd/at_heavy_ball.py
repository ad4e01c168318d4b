"""cfgd.at.heavy-ball: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.cfgd.quadratic import at_cfgd, gamma
from verify.claims.cfgd._theory import _plain_counterexample, random_spd_batch
from verify.margins.cfgd import heavy_ball_margin, heavy_ball_margins, heavy_ball_step
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import finite_floats, spd_matrices, vectors
from verify.sweep import DRAW_LIKE, batched_sweep, random_orthogonal, summarize, with_eigenvalues

SPEC = ClaimSpec("cfgd.at.heavy-ball",
                 "AT-CFGD with c^(t) = x^(t−1) on a quadratic equals heavy-ball x⁺ = x − η∇f(x) − ηG(x − x_prev)",
                 "derived", "property+sweep", "holds", "THEORY.md §1.3", dtypes=("float32", "float64"),
                 scales={"sweep_instances": (10000, 1000000)})

#: The sweep's dimension
SWEEP_DIM = 4


@st.composite
def _heavy_ball_instances(draw):
    d = draw(st.integers(1, 4))
    return dict(A=draw(spd_matrices(d, cond_max=50.0, scale_low=0.5, scale_high=5.0)), b=draw(vectors(d, 3.0)),
                x0=draw(vectors(d, 3.0)), alpha=draw(vectors(d, 0.95, low=0.05)), beta=draw(vectors(d, 1.0)),
                lr_fraction=draw(finite_floats(0.01, 1.0)))


def _draw_heavy_ball(like: dict):
    """Instances of dimension SWEEP_DIM (the property's ranges): A = Q diag(λ) Qᵀ (Q Haar-orthogonal, λ ~ U[0.5, 5]),
    b, x0 ~ U[−3, 3], α ~ U[0.05, 0.95], β ~ U[−1, 1], step-size fraction ~ U[0.01, 1]."""
    def draw(n: int, generator) -> dict:
        def uniform(low: float, high: float, *shape: int):
            return low + (high - low) * torch.rand(n, *shape, generator=generator, **like)
        A = with_eigenvalues(random_orthogonal(n, SWEEP_DIM, generator, like), uniform(0.5, 5, SWEEP_DIM))
        return {"A": A, "b": uniform(-3, 3, SWEEP_DIM), "x0": uniform(-3, 3, SWEEP_DIM),
                "alpha": uniform(0.05, 0.95, SWEEP_DIM), "beta": uniform(-1, 1, SWEEP_DIM),
                "lr_fraction": uniform(0.01, 1)}
    return draw


def _heavy_ball_sweep(ctx: Context) -> dict:
    """heavy_ball_margins (40 steps of implementations.cfgd.at_cfgd, batched) on ctx.scale("sweep_instances") random
    instances in ctx.dtype; the worst re-checked by heavy_ball_margin in float64 on the CPU."""
    keys = ("A", "b", "x0", "alpha", "beta", "lr_fraction")
    host = {"dtype": torch.float64, "device": "cpu"}
    return {f"d={SWEEP_DIM}": batched_sweep(
        ctx, ctx.scale("sweep_instances"), _draw_heavy_ball(DRAW_LIKE),
        lambda batch: heavy_ball_margins(*(batch[k] for k in keys)), stream="heavy-ball-sweep",
        recheck=lambda i: heavy_ball_margin({k: np.array(v) for k, v in i.items()}, like=host))}


@check(SPEC.id)
def at_heavy_ball(ctx: Context) -> Evidence:
    """AT-CFGD with c^(t) = x^(t−1) on a quadratic equals heavy-ball x⁺ = x − η∇f(x) − ηG(x − x_prev),
    G = diag(γ⊙r), i.e. momentum coefficient −ηγ_j r_j per coordinate (derived from the closed form).

    Property: hypothesis over d ≤ 4, SPD A, per-coordinate α, β, η = fraction/(λ_max(A) + max|γr|): every
    step of implementations.cfgd.at_cfgd (40 steps) equals the heavy-ball step at the same states within
    the rounding bound of :func:`heavy_ball_margin`. Also reports the whole-trajectory deviation from an
    independent heavy-ball recursion on one instance.
    Sweep: the property's margin (heavy_ball_margins, one batched at_cfgd run of 40 steps, eps of ctx.dtype) on 10⁴
    (quick) / 10⁶ (full) random instances (d = 4, A's eigenvalues in [0.5, 5], the property's ranges); the worst
    re-checked in float64 on the CPU.
    """
    result = ctx.search(_heavy_ball_instances(), partial(heavy_ball_margin, like=ctx.like), max_examples=60)
    gen = ctx.torch_generator()
    A = random_spd_batch(1, 6, 1.0, 10.0, gen, ctx.like)[0]
    b, x0 = ctx.randn(6, generator=gen), ctx.randn(6, generator=gen)
    alpha, beta = torch.full((6,), 0.1, **ctx.like), torch.zeros(6, **ctx.like)
    gamma_r = gamma(alpha, beta) * torch.diagonal(A)
    lr = 1.0 / float(torch.linalg.eigvalsh(A)[-1])
    at_trajectory = at_cfgd(A, b, x0, alpha, beta, lr, 200).trajectory
    hb = [x0, heavy_ball_step(A, b, x0, x0, gamma_r, lr)]
    for _ in range(199):
        hb.append(heavy_ball_step(A, b, hb[-1], hb[-2], gamma_r, lr))
    deviation = float((at_trajectory - torch.stack(hb)).norm(dim=-1).max() / torch.stack(hb).norm(dim=-1).max())
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_heavy_ball_sweep(ctx))
    counterexample = sweep_counterexample
    if counterexample is None and result.found:
        counterexample = _plain_counterexample(result)
    return Evidence(holds=not result.found and sweep_violations == 0, counterexample=counterexample,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "trajectory_relative_deviation_200_steps": deviation, **sweep_numbers},
                    tables={"sweep": sweep_table},
                    notes="momentum coefficient −ηγr is positive when β < (1−α)/(2−α)")
