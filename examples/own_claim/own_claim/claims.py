"""The example's claims, found by ``verify`` through the entry point ``own_claim = "own_claim.claims"`` of the
group ``l2o_verify.claims`` (pyproject.toml).

The shape ``verify`` reads (verify/external.py): ``CLAIMS``, a list of ClaimSpec at module level and above the
checks (literal arguments, so ``verify list`` reads them without importing this module); ``PAPERS``, the
reports' heading of the new prefix ``ownsteps``; one ``@check("ID")`` function per claim, returning Evidence.
"""

from __future__ import annotations

import math

import torch

from implementations.problems import Quadratic, random_spd
from own_claim.descent import contraction_margins, descent_margins
from own_claim.model import SecantSteps, randomise
from verify.catalogue import ClaimSpec
from verify.registry import Context, Evidence, check
from verify.step_models import output_range_evidence

PAPERS = {"ownsteps": "A secant-pair step-size model for CWSS-BFGS (the examples/own_claim package, outside "
                      "l2o-verify)"}

CLAIMS = [
    ClaimSpec("ownsteps.secant.output-range",
              "the secant-pair step-size model's P lies in its declared interval [low, high] ⊂ [0, 2] for every "
              "finite input, and NaN inputs are rejected",
              "derived", "property", "holds", "examples/own_claim/README.md; THEORY.md §2 (bfgs.l2o.output-range)"),
    ClaimSpec("ownsteps.secant.descent",
              "CWSS-BFGS driven by the secant-pair model on random SPD quadratics: from H₀ = A⁻¹ every error "
              "coordinate contracts, |e⁺_i| = |1 − p_i||e_i| ≤ |e_i| (D4); from the default H₀ every step with "
              "max|p_i − 1| < 1/κ(H_k) is a descent direction, gᵀPHg ≥ (λ_min − δλ_max)‖g‖² > 0 (D1)",
              "derived", "property", "holds", "examples/own_claim/README.md; THEORY.md §2.1 D1, D4",
              scales={"instances": (12, 120), "iterations": (10, 30)}),
]


def _searched_model(interval, coordinatewise: bool) -> SecantSteps:
    """The model the output-range search draws weights for: the drawn interval and output mode."""
    return SecantSteps(hidden=4, interval=interval, coordinatewise=coordinatewise)


@check("ownsteps.secant.output-range")
def output_range(ctx: Context) -> Evidence:
    """P ∈ [low, high] ⊂ [0, 2] for every finite input (max_i(low − P_i, P_i − high) ≤ 0 exactly: the output map
    is a clamp), over a hypothesis search of 2-step rollouts with random weights up to 1e6 and random declared
    intervals; NaN inputs raise ValueError. Source: THEORY.md §2 (paper §3), checked by l2o-verify's public
    verify.step_models.output_range_evidence, as for the built-in bfgs.l2o.output-range."""
    return output_range_evidence(ctx, SecantSteps(), _searched_model, max_examples=100)


def _instance(ctx: Context, generator: torch.Generator) -> tuple[Quadratic, torch.Tensor]:
    """A random SPD quadratic (d ∈ [2, 6], κ(A) log-uniform in [1, 2]) and a start x₀ ~ N(0, 10²), on ctx's
    device and dtype (drawn from the CPU generator, as random_spd does)."""
    dim = int(ctx.rng.integers(2, 7))
    A = random_spd(dim, float(2 ** ctx.rng.uniform(0, 1)), generator=generator, dtype=ctx.dtype,
                   device=ctx.torch_device)
    b, x0 = (10 * torch.randn(2, dim, generator=generator, dtype=ctx.dtype)).to(ctx.torch_device)
    return Quadratic.create(A, b), x0


@check("ownsteps.secant.descent")
def descent(ctx: Context) -> Evidence:
    """THEORY.md §2.1 on random SPD quadratics f = ½xᵀAx + bᵀx, for the secant-pair model with random weights
    (N(0, 0.5²); P ∈ [0.25, 1.75]): D4, from H₀ = A⁻¹ every step has |e⁺_i| ≤ min(|1 − p_i|, 1)|e_i| + tol
    (e = x − x*, tol = 64·d·eps·κ(A)(‖x‖_∞ + ‖x*‖_∞)); D1, from the default H₀ every step with
    δ = max|p_i − 1| < 1/κ(H_k) has gᵀPHg ≥ (λ_min − δλ_max)‖g‖² − tol, and gᵀPHg > 0 wherever that bound
    exceeds tol (near the minimiser it is below round-off; those steps are counted apart). Margins are scaled
    by tol (≤ 0: holds). Inconclusive when no step met D1's hypothesis."""
    instances, iterations = ctx.scale("instances"), ctx.scale("iterations")
    generator = ctx.torch_generator()
    totals = dict(steps=0, contraction=-math.inf, applicable=0, descent=-math.inf, nonpositive=0, below_roundoff=0,
                  p_low=math.inf, p_high=-math.inf)
    worst_instance, worst_margin = None, -math.inf
    for index in range(instances):
        problem, x0 = _instance(ctx, generator)
        model = randomise(SecantSteps().to(device=ctx.torch_device, dtype=ctx.dtype), generator, scale=0.5)
        contraction = contraction_margins(model, problem, x0, iterations)
        direction = descent_margins(model, problem, x0, iterations)
        totals["steps"] += contraction.steps + direction.steps
        totals["contraction"] = max(totals["contraction"], contraction.contraction)
        totals["applicable"] += direction.descent_applicable
        totals["descent"] = max(totals["descent"], direction.descent)
        totals["nonpositive"] += direction.nonpositive_descent
        totals["below_roundoff"] += direction.below_roundoff
        totals["p_low"] = min(totals["p_low"], contraction.p_low, direction.p_low)
        totals["p_high"] = max(totals["p_high"], contraction.p_high, direction.p_high)
        margin = max(contraction.contraction, direction.descent,
                     math.inf if direction.nonpositive_descent else -math.inf)
        if margin > worst_margin:
            worst_margin = margin
            worst_instance = dict(instance=index, A=problem.A.tolist(), b=problem.b.tolist(), x0=x0.tolist(),
                                  weights={k: v.tolist() for k, v in model.state_dict().items()},
                                  contraction_margin=contraction.contraction, descent_margin=direction.descent)
    holds = totals["contraction"] <= 0 and totals["descent"] <= 0 and totals["nonpositive"] == 0
    return Evidence(holds=holds, inconclusive=holds and totals["applicable"] == 0,
                    counterexample=None if holds else worst_instance,
                    numbers=dict(instances=instances, iterations=iterations, steps_checked=totals["steps"],
                                 worst_contraction_margin=totals["contraction"],
                                 descent_applicable_steps=totals["applicable"],
                                 worst_descent_margin=totals["descent"],
                                 nonpositive_descent_steps=totals["nonpositive"],
                                 descent_steps_below_roundoff=totals["below_roundoff"],
                                 p_range=[totals["p_low"], totals["p_high"]]),
                    notes="margins are in units of the round-off allowance tol; ≤ 0 means the bound holds")
