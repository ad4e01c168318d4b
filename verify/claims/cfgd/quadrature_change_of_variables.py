"""cfgd.quadrature.change-of-variables: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import mpmath as mp
import torch

from theory import cfgd as theory
from verify.claims.cfgd._theory import ORACLE_RTOL, _mp_relative_error, _symbolic_table
from verify.margins.cfgd import ORACLE_DPS, caputo_form_margin, caputo_form_margins
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, summarize

SPEC = ClaimSpec("cfgd.quadrature.change-of-variables",
                 "the [-1,1] Gauss–Jacobi form with C_α = (1-α)/2^(1-α) equals the Caputo definition, both sides of c",
                 "derived", "symbolic+oracle+sweep", "holds", "THEORY.md §1.2; paper Eq. 3/15", devices=("cpu",),
                 scales={"oracle_samples": (4, 24), "sweep_instances": (10000, 1000000)})

#: The sweep's rule and polynomial degree: the integrand f' + β(x−c)f'' of a degree-2s f has degree 2s − 1 in u,
#: the highest the s-node rule integrates exactly
SWEEP_NODES = 3
SWEEP_DEGREE = 2 * SWEEP_NODES


def _oracle_test_function():
    """f'(τ) = 3cos(τ) + τ² e^(τ/2), f''(τ) = −3 sin(τ) + (2τ + τ²/2) e^(τ/2): entire, non-polynomial."""
    return (lambda s: 3 * mp.cos(s) + s * s * mp.exp(s / 2),
            lambda s: -3 * mp.sin(s) + (2 * s + s * s / 2) * mp.exp(s / 2))


def _draw_polynomials(like: dict):
    """Instances: f(τ) = Σ_{k≤6} a_k (τ−c)^k with a_k ~ U[−1, 1], α ~ U[0.02, 0.98], β ~ U[−2, 2], c ~ U[−1.5, 1.5],
    x = c ± h (each side with probability ½), h ~ U[0.1, 3] (the oracle's ranges)."""
    def draw(n: int, generator) -> dict:
        coefficients = 2 * torch.rand(n, SWEEP_DEGREE + 1, generator=generator, **like) - 1
        alpha = 0.02 + 0.96 * torch.rand(n, generator=generator, **like)
        beta = 4 * torch.rand(n, generator=generator, **like) - 2
        c = 3 * torch.rand(n, generator=generator, **like) - 1.5
        h = 0.1 + 2.9 * torch.rand(n, generator=generator, **like)
        side = torch.where(torch.rand(n, generator=generator, **like) < 0.5, -1.0, 1.0)
        return {"coefficients": coefficients, "alpha": alpha, "beta": beta, "c": c, "x": c + side * h}
    return draw


def _form_sweep(ctx: Context) -> dict:
    """The quadrature form of implementations.cfgd.caputo_gradient (SWEEP_NODES nodes, exact here) against the
    definition's closed value on ctx.scale("sweep_instances") random polynomials (caputo_form_margins; the
    instances are the coordinates of one separable objective); the worst re-checked against the mpmath
    definition (caputo_form_margin)."""
    return {"both sides": batched_sweep(ctx, ctx.scale("sweep_instances"), _draw_polynomials(DRAW_LIKE),
                                        lambda batch: caputo_form_margins(batch, SWEEP_NODES),
                                        recheck=lambda i: caputo_form_margin(i, SWEEP_NODES),
                                        stream="change-of-variables-sweep")}


@check(SPEC.id)
def change_of_variables(ctx: Context) -> Evidence:
    """[D f(x)]_j = C_α ∫_{-1}^{1} (1−u)^(−α)[f' + β(x−c) f''](τ(u)) du, τ(u) = c + (x−c)(1+u)/2,
    C_α = Γ(2−α)/(Γ(1−α)2^(1−α)) = (1−α)/2^(1−α), for both signs of x − c (derived; paper Eq. 3/15 form).

    Symbolic: for abstract f', f'' the scaled derivative's integrand after τ = τ(u) minus the stated one
    reduces to 0 at x = c ± h (symbolic α = 1 − q, β, h > 0); C_α's two forms agree.
    Oracle: the definition (tanh-sinh after s = |x−τ|^(1−α)) vs the [−1,1] form evaluated with an
    independent 24-node mpmath Gauss–Jacobi rule, for an entire f, at 40 digits on both sides of c.
    Tolerance 10^-30 relative: a 24-node Gauss rule on an entire integrand over |x−c| ≤ 3 has remainder
    ≲ (3/2)^48/48! ≈ 1e-53 (Taylor bound of the 48th derivative), far below the guard digits.
    Sweep: 10⁴ (quick) / 10⁶ (full) random instances (f a degree-6 polynomial in τ − c with coefficients in
    [−1, 1], α ∈ [0.02, 0.98], β ∈ [−2, 2], c ∈ [−1.5, 1.5], x = c ± h, h ∈ [0.1, 3]): the [−1, 1] form as
    implementations.cfgd.caputo_gradient computes it with 3 nodes (exact for the degree-5 integrand) against the
    definition's value from the power rule, Σ_k a_k (x−c)^(k−1) Π_{i=2}^k i/(i−α) (1 + β(k−α)[k≥2]), within the
    derived round-off bound of verify.margins.cfgd.caputo_form_terms; the worst instance re-checked against the
    mpmath definition.
    """
    rows = {"integrand x>c": theory.change_of_variables_residual(1),
            "integrand x<c": theory.change_of_variables_residual(-1),
            "C_alpha forms": theory.c_alpha_residual()}
    symbolic_ok, table = _symbolic_table(rows)
    first, second = _oracle_test_function()
    worst, samples = 0.0, []
    with mp.workdps(ORACLE_DPS):
        for index in range(ctx.scale("oracle_samples")):
            alpha = mp.mpf(float(ctx.rng.choice([0.15, 0.5, 0.85]) if ctx.quick else ctx.rng.uniform(0.02, 0.98)))
            beta = mp.mpf(float(ctx.rng.uniform(-2, 2)))
            c = mp.mpf(float(ctx.rng.uniform(-1.5, 1.5)))
            x = c + (1 if index % 2 else -1) * mp.mpf(float(ctx.rng.uniform(0.1, 3)))
            definition = theory.scaled_caputo_mp(first, second, x, c, alpha, beta)
            quadrature = theory.quadrature_form_mp(first, second, x, c, alpha, beta)
            error = _mp_relative_error(quadrature, definition)
            worst = max(worst, error)
            samples.append({"alpha": float(alpha), "beta": float(beta), "x": float(x), "c": float(c),
                            "definition": mp.nstr(definition, 35), "relative_error": error})
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_form_sweep(ctx))
    return Evidence(holds=symbolic_ok and worst <= ORACLE_RTOL and sweep_violations == 0,
                    counterexample=sweep_counterexample,
                    numbers={"oracle_worst_relative_error": worst, "oracle_tolerance": float(ORACLE_RTOL),
                             **sweep_numbers},
                    tables={"symbolic": table, "oracle": samples, "sweep": sweep_table})
