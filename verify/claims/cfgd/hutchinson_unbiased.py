"""cfgd.hutchinson.unbiased: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.cfgd.hutchinson import hutchinson_diagonal
from verify.margins.cfgd import hutchinson_enumeration_margin
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.strategies import vectors

SPEC = ClaimSpec("cfgd.hutchinson.unbiased",
                 "the Rademacher estimate of diag(H) is unbiased with per-coordinate variance Σ_{k≠j} H_jk² / K",
                 "derived", "property+sweep", "holds", "THEORY.md §1.2", dtypes=("float32", "float64"),
                 scales={"replicas": (20000, 200000)})


@st.composite
def _symmetric_matrices(draw):
    d = draw(st.integers(1, 8))
    m = draw(vectors(d * d, 5.0)).reshape(d, d)
    return (m + m.T) / 2


@check(SPEC.id)
def hutchinson_unbiased(ctx: Context) -> Evidence:
    """E[v⊙Hv] = diag(H) and Var[(v⊙Hv)_j] = Σ_{i≠j} H_ji² for Rademacher v, so the K-probe mean has variance
    Σ_{i≠j} H_ji²/K (derived).

    Property (exact): hypothesis over symmetric H (d ≤ 8); the average over all 2^d probes IS the
    expectation, so mean and population variance must equal diag H and Σ_{i≠j} H_ji² to round-off.
    Sweep: R independent K-probe estimators of implementations.cfgd.hutchinson_diagonal in one batched call
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
    counterexample = None
    if result.found:
        counterexample = {"H": np.asarray(result.counterexample).tolist(), "margin": result.margin}
    holds = not result.found and worst_z <= 5.3
    if not holds and counterexample is None:
        counterexample = {"H": H.tolist(), "replicas": replicas, "margin": worst_z - 5.3}
    return Evidence(holds=holds, counterexample=counterexample,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "replicas": replicas, "worst_abs_z": worst_z},
                    tables={"sweep": rows})
