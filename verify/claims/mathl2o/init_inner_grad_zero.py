"""mathl2o.init.inner-grad-zero: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import torch

from implementations.mathl2o import unroll
from verify.claims.mathl2o._shared import _build, _configs
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("mathl2o.init.inner-grad-zero",
                 "at initialisation the gradient of 𝓕 w.r.t. every inner layer is zero",
                 "derived", "property", "holds", "THEORY.md §3.1")


@check(SPEC.id)
def init_inner_grad_zero(ctx: Context) -> Evidence:
    """At the deterministic initialisation ∂𝓕/∂W_l = 0 for every inner layer l < L (derived): every path from
    W_l to the output passes through W_L = 0, so the chain rule multiplies by an exact floating-point 0.
    Property over the same small configurations as init.equals-gd plus the Fig. 5 scale; tolerance 0
    (exact). Non-vacuity: the last layer's gradient must be non-zero on at least half of the examples (it
    vanishes legitimately when every step-t feature row is 0, e.g. width 1)."""
    last_layer = {"nonzero": 0, "examples": 0}

    def margin(cfg) -> float:
        model, qp = _build(cfg, ctx.like)
        loss = unroll(model, qp, cfg["T"])[-1]
        grads = torch.autograd.grad(loss, list(model.parameters()))
        last_layer["examples"] += 1
        last_layer["nonzero"] += int(bool((grads[-1] != 0).any()))
        return max(float(g.abs().max()) for g in grads[:-1])

    result = ctx.search(_configs(), margin, max_examples=40)
    fig5 = dict(N=32, d=32, b=25, width=1024, T=20, e=100.0, depth=3, nonnegative=False, seed=ctx.instance_seed(5))
    fig5_margin = margin(fig5)
    nonvacuous = last_layer["nonzero"] >= last_layer["examples"] // 2
    holds = not result.found and fig5_margin <= 0 and nonvacuous
    return Evidence(
        holds=holds,
        numbers={"examples": result.examples_tried, "max_inner_gradient_seen": result.worst_margin_seen,
                 "fig5_max_inner_gradient": fig5_margin,
                 "examples_with_nonzero_last_layer_gradient": last_layer["nonzero"],
                 "examples_evaluated": last_layer["examples"]},
        counterexample=None if holds else {"config": result.counterexample or fig5,
                                           "margin": result.margin if result.found else fig5_margin},
        notes="the last-layer gradient is non-zero (so the check is not vacuous) while every inner gradient "
              "is exactly 0.")
