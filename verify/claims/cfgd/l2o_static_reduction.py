"""cfgd.l2o.static-reduction: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from implementations.cfgd.l2o import L2OCFGD
from implementations.cfgd.optimizers import ExactLineSearch, cfgd
from implementations.cfgd.training import rollout
from implementations.problems.least_squares import LeastSquares
from verify.claims.cfgd._l2o import EPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.l2o.static-reduction",
                 "an L2O-CFGD whose heads emit constants reproduces NA-CFGD exactly",
                 "derived", "property", "holds", "THEORY.md §1.4",
                 scales={"max_examples": (15, 100)},
                 unbatched="each instance builds an L2O-CFGD network with its own constant head and rolls it out "
                 "step by step (exact line search, per-step control flow) beside a cfgd() run; both take one "
                 "problem and one model at a time, so hypothesis searches the instances one by one")


def constant_l2o(alpha: float, beta: float, c: float, like: dict | None = None) -> L2OCFGD:
    """An L2O-CFGD whose head ignores the LSTM: weight 0, bias (logit α, β, c); ``like``: the ``dtype=`` and
    ``device=`` of its parameters (default float64 on the CPU)."""
    like = {"dtype": torch.float64} if like is None else like
    model = L2OCFGD(hidden=8, **like)
    with torch.no_grad():
        model.net.head.weight.zero_()
        model.net.head.bias.copy_(torch.tensor([math.log(alpha / (1 - alpha)), beta, c], **like))
    return model


@check(SPEC.id)
def static_reduction(ctx: Context) -> Evidence:
    """Derived: with the head's weight 0 and bias (logit α, β, c), L2O-CFGD emits constant (α, β, c) and its
    iterates are NA-CFGD's with those hyperparameters (same step-size rule: exact line search on
    f = ½‖Wᵀx − y‖², d = m = 4, 5 steps). The NA run uses the α the network emits (sigmoid(logit α) =
    α(1 + O(eps))), so both runs execute the same float operations; tolerance 64·eps·(1 + max‖x‖) allows only
    the reordering round-off. Property over (α, β, c, instance seed) by hypothesis."""
    steps, dim = 5, 4

    def margin(params) -> float:
        alpha, beta, c, seed = params
        gen = torch.Generator().manual_seed(seed)
        problem = LeastSquares.random_cfgd(dim, dim, gen, **ctx.like)
        x0 = ctx.randn(dim, generator=gen)
        model = constant_l2o(alpha, beta, c, ctx.like)
        learned = rollout(model, problem.value, x0, steps, ExactLineSearch(), keep_records=True)
        emitted = learned.records[0].alpha
        static = cfgd(problem.value, x0, steps, emitted, beta, c, "NA", step_size=ExactLineSearch())
        if learned.diverged_at is not None or static.diverged_at is not None:
            return -1.0 if learned.diverged_at == static.diverged_at else math.inf
        diff = max(abs(p - q) for p, q in zip(learned.losses, static.losses))
        return diff - 64 * EPS * (1 + max(abs(v) for v in static.losses))

    strategy = st.tuples(st.floats(0.05, 0.95), st.floats(-2, 2), st.floats(-3, 3), st.integers(0, 2**16))
    result = ctx.search(strategy, margin, max_examples=ctx.scale("max_examples"))
    numbers = {"examples": result.examples_tried, "worst_margin": result.worst_margin_seen, "steps": steps}
    if result.found:
        alpha, beta, c, seed = result.counterexample
        return Evidence(holds=False, numbers=numbers,
                        counterexample={"alpha": alpha, "beta": beta, "c": c, "seed": seed, "margin": result.margin})
    return Evidence(holds=True, numbers=numbers, notes=f"losses compared step by step (f(x^(t)), t = 0..{steps})")
