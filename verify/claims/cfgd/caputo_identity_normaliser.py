"""cfgd.caputo.identity-normaliser: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import math

import mpmath as mp
import torch

from theory import cfgd as theory
from verify.claims.cfgd._theory import ORACLE_RTOL, _mp_relative_error, _symbolic_table
from verify.margins.cfgd import ORACLE_DPS, caputo_power_margin, caputo_power_margins
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.sweep import DRAW_LIKE, batched_sweep, summarize

SPEC = ClaimSpec("cfgd.caputo.identity-normaliser",
                 "D^α I = sign(x-c)|x-c|^(1-α)/Γ(2-α) on both sides; D^(1+α) I = 0",
                 "derived", "symbolic+oracle+sweep", "holds", "THEORY.md §1.1", devices=("cpu",),
                 scales={"oracle_samples": (8, 60), "sweep_instances": (10000, 1000000)})


def _draw_identity(like: dict):
    """Instances of D^α I: α ~ U[0.02, 0.98], c ~ U[−2, 2], x = c ± h (each side with probability ½), h
    log-uniform on [10⁻², 10²]; k = 1 (I(τ) − c = (τ − c)¹)."""
    def draw(n: int, generator) -> dict:
        alpha = 0.02 + 0.96 * torch.rand(n, generator=generator, **like)
        c = 4 * torch.rand(n, generator=generator, **like) - 2
        h = 1e-2 * torch.exp(math.log(1e4) * torch.rand(n, generator=generator, **like))
        side = torch.where(torch.rand(n, generator=generator, **like) < 0.5, -1.0, 1.0)
        return {"alpha": alpha, "k": torch.ones_like(alpha), "c": c, "x": c + side * h}
    return draw


def _identity_sweep(ctx: Context) -> dict:
    """D^α I on ctx.scale("sweep_instances") random instances on both sides of c (verify.sweep): the definition
    evaluated with the 1-node Gauss–Jacobi rule (exact: the integrand f' ≡ 1 is constant; caputo_power_margins
    with k = 1) against sign(x−c)|x−c|^(1−α)/Γ(2−α); the worst re-checked against the mpmath definition."""
    return {"both sides": batched_sweep(ctx, ctx.scale("sweep_instances"), _draw_identity(DRAW_LIKE),
                                        lambda batch: caputo_power_margins(batch, 1),
                                        recheck=lambda i: caputo_power_margin(i, 1), stream="identity-sweep")}


@check(SPEC.id)
def identity_normaliser(ctx: Context) -> Evidence:
    """D^α I(x) = sign(x−c)|x−c|^(1−α)/Γ(2−α) on both sides of c and D^(1+α) I = 0 (derived).

    Symbolic: the definitions for f(τ) = τ at x = c ± h, symbolic α = 1 − q, reduce to the formula
    (residual 0). Oracle: mpmath definition (40 digits) at random α, x, c on both sides, relative
    agreement 10^-30 (10 guard digits).
    Sweep: 10⁴ (quick) / 10⁶ (full) random instances (α ∈ [0.02, 0.98], c ∈ [−2, 2], x = c ± h, h log-uniform on
    [10⁻², 10²]): the definition of D^α I, after τ = c + (x−c)(1+u)/2 the weight's integral times
    sign(x−c)(h/2)^(1−α)/Γ(1−α), with the weights of implementations.cfgd.gauss_jacobi, in float64 against the
    formula within the derived bound of verify.margins.cfgd.caputo_power_terms; the worst instance re-checked
    against the mpmath definition. (D^(1+α) I = 0 has nothing to sweep: its integrand f'' is identically 0.)
    """
    rows = {}
    for side, name in ((1, "x>c"), (-1, "x<c")):
        first, second = theory.identity_normaliser_residuals(side)
        rows[f"D^a I {name}"] = first
        rows[f"D^(1+a) I {name}"] = second
    symbolic_ok, table = _symbolic_table(rows)
    worst = 0.0
    worst_second = 0.0
    with mp.workdps(ORACLE_DPS):
        for index in range(ctx.scale("oracle_samples")):
            alpha = mp.mpf(float(ctx.rng.uniform(0.02, 0.98)))
            c = mp.mpf(float(ctx.rng.uniform(-2, 2)))
            x = c + (1 if index % 2 else -1) * mp.mpf(float(ctx.rng.uniform(0.05, 3)))
            value = theory.caputo_mp(lambda s: mp.mpf(1), x, c, alpha)
            worst = max(worst, _mp_relative_error(value, theory.identity_normaliser_mp(x, c, alpha)))
            worst_second = max(worst_second, float(abs(theory.caputo_mp(lambda s: mp.mpf(0), x, c, alpha, True))))
    oracle_ok = worst <= ORACLE_RTOL and worst_second == 0.0
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_identity_sweep(ctx))
    return Evidence(holds=symbolic_ok and oracle_ok and sweep_violations == 0, counterexample=sweep_counterexample,
                    numbers={"oracle_worst_relative_error": worst, "oracle_tolerance": float(ORACLE_RTOL),
                             "oracle_max_abs_D1plus_alpha_I": worst_second, **sweep_numbers},
                    tables={"symbolic": table, "sweep": sweep_table})
