"""cfgd.hutchinson.unbiased: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.cfgd.hutchinson import hutchinson_diagonal
from verify.margins.cfgd import hutchinson_enumeration_margin, hutchinson_enumeration_margins
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import vectors
from verify.sweep import DRAW_LIKE, batched_sweep, shares, summarize

SPEC = ClaimSpec("cfgd.hutchinson.unbiased",
                 "the Rademacher estimate of diag(H) is unbiased with per-coordinate variance Σ_{k≠j} H_jk² / K",
                 "derived", "property+sweep", "holds", "THEORY.md §1.2", dtypes=("float32", "float64"),
                 scales={"replicas": (20000, 200000), "sweep_instances": (10000, 1000000)})

#: The sweep's dimensions (a quarter of the instances each) and, per dimension, the instances evaluated at once
#: (the 2^d probes of a batch of 8192 matrices at d = 8 would take half a gigabyte)
SWEEP_DIMS = {2: 8192, 4: 8192, 6: 2048, 8: 512}


@st.composite
def _symmetric_matrices(draw):
    d = draw(st.integers(1, 8))
    m = draw(vectors(d * d, 5.0)).reshape(d, d)
    return (m + m.T) / 2


def _draw_symmetric(dim: int, like: dict):
    """Symmetric d×d matrices (H + Hᵀ)/2 with H's entries ~ U[−5, 5] (the property's distribution)."""
    def draw(n: int, generator) -> dict:
        H = 10 * torch.rand(n, dim, dim, generator=generator, **like) - 5
        return {"H": (H + H.mT) / 2}
    return draw


def _enumeration_sweep(ctx: Context) -> dict:
    """The property's margin (hutchinson_enumeration_margins: implementations.cfgd.hutchinson_estimate over all
    2^d probes, eps of ctx.dtype) on ctx.scale("sweep_instances") random symmetric matrices, a quarter each at
    d = 2, 4, 6, 8; the worst of each re-checked by hutchinson_enumeration_margin in float64 on the CPU."""
    count = ctx.scale("sweep_instances")
    return {f"d={dim}": batched_sweep(ctx, shares(count, 4)[index], _draw_symmetric(dim, DRAW_LIKE),
                                      lambda batch: hutchinson_enumeration_margins(batch["H"]), batch=size,
                                      recheck=lambda i: hutchinson_enumeration_margin(np.array(i["H"])),
                                      stream=f"enumeration-sweep-{dim}")
            for index, (dim, size) in enumerate(SWEEP_DIMS.items())}


@check(SPEC.id)
def hutchinson_unbiased(ctx: Context) -> Evidence:
    """E[v⊙Hv] = diag(H) and Var[(v⊙Hv)_j] = Σ_{i≠j} H_ji² for Rademacher v, so the K-probe mean has variance
    Σ_{i≠j} H_ji²/K (derived).

    Property (exact): hypothesis over symmetric H (d ≤ 8); the average over all 2^d probes IS the
    expectation, so mean and population variance must equal diag H and Σ_{i≠j} H_ji² to round-off.
    Sweep: the property's margin on 10⁴ (quick) / 10⁶ (full) random symmetric H (entries of U[−5, 5], a quarter
    each at d = 2, 4, 6, 8) in batches, in ctx.dtype; the worst of each dimension re-checked in float64 on the CPU.
    Replicas: R independent K-probe estimators of implementations.cfgd.hutchinson_diagonal in one batched call
    (d = 6, K ∈ {1, 3, 5}); z-tests of the sample mean against diag H and of the sample variance against
    Σ H_ji²/K (its standard error from the sample 4th moment), |z| ≤ 5.3 (two-sided, family level ≈ 1e-6
    after Bonferroni over 2·3·6 tests).
    """
    result = ctx.search(_symmetric_matrices(), partial(hutchinson_enumeration_margin, like=ctx.like), max_examples=60)
    gen = ctx.torch_generator()
    d, replicas = 6, ctx.scale("replicas")
    H = ctx.randn(d, d, generator=gen)
    H = (H + H.T) / 2
    off_diagonal = (H ** 2).sum(-1) - torch.diagonal(H) ** 2
    rows, worst_z = [], 0.0
    for probes in (1, 3, 5):
        estimates = hutchinson_diagonal(lambda v: v @ H, torch.empty(replicas, d, **ctx.like), probes,
                                        generator=gen)
        mean = estimates.mean(0)
        centred = estimates - mean
        sample_var = (centred ** 2).sum(0) / (replicas - 1)
        fourth = (centred ** 4).mean(0)
        z_mean = (mean - torch.diagonal(H)) / torch.sqrt(off_diagonal / probes / replicas)
        z_var = (sample_var - off_diagonal / probes) / torch.sqrt((fourth - sample_var ** 2) / replicas)
        worst_z = max(worst_z, float(z_mean.abs().max()), float(z_var.abs().max()))
        rows.append({"probes": probes, "max_abs_z_mean": float(z_mean.abs().max()),
                     "max_abs_z_variance": float(z_var.abs().max()),
                     "variance_measured": sample_var.tolist(), "variance_formula": (off_diagonal / probes).tolist()})
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_enumeration_sweep(ctx))
    counterexample = sweep_counterexample
    if counterexample is None and result.found:
        counterexample = {"H": np.asarray(result.counterexample).tolist(), "margin": result.margin}
    holds = not result.found and worst_z <= 5.3 and sweep_violations == 0
    if not holds and counterexample is None:
        counterexample = {"H": H.tolist(), "replicas": replicas, "margin": worst_z - 5.3}
    return Evidence(holds=holds, counterexample=counterexample,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "replicas": replicas, "worst_abs_z": worst_z, **sweep_numbers},
                    tables={"replicas": rows, "sweep": sweep_table})
