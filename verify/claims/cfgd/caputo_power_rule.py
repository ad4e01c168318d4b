"""cfgd.caputo.power-rule: the claim's spec (SPEC) and its check."""

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

SPEC = ClaimSpec("cfgd.caputo.power-rule",
                 "D^α (x-c)^k = Γ(k+1)/Γ(k+1-α) (x-c)^(k-α) for x>c, k ≥ 1; D^α of a constant is 0",
                 "derived", "symbolic+sweep", "holds", "THEORY.md §1.1; Shin et al. §2", devices=("cpu",),
                 scales={"kmax": (4, 7), "oracle_samples": (6, 40), "sweep_instances": (10000, 1000000)})

#: Gauss–Jacobi nodes of the sweep: exact for f' = k(τ−c)^(k−1) up to k = 2·SWEEP_NODES
SWEEP_NODES = 4


def _draw_power(like: dict):
    """Power-rule instances: α ~ U[0.02, 0.98], k uniform in 1..2·SWEEP_NODES, c ~ U[−2, 2], x = c + h with h
    log-uniform on [10⁻², 10²]."""
    def draw(n: int, generator) -> dict:
        alpha = 0.02 + 0.96 * torch.rand(n, generator=generator, **like)
        k = torch.randint(1, 2 * SWEEP_NODES + 1, (n,), generator=generator, device=like["device"]).to(like["dtype"])
        c = 4 * torch.rand(n, generator=generator, **like) - 2
        h = 1e-2 * torch.exp(math.log(1e4) * torch.rand(n, generator=generator, **like))
        return {"alpha": alpha, "k": k, "c": c, "x": c + h}
    return draw


def _power_sweep(ctx: Context) -> dict:
    """The power rule on ctx.scale("sweep_instances") random instances (verify.sweep): D^α (τ−c)^k by the
    definition, evaluated with the exact SWEEP_NODES-node Gauss–Jacobi rule (caputo_power_margins), against the
    closed form; the worst instance re-checked against the mpmath definition (caputo_power_margin)."""
    return {"x>c": batched_sweep(ctx, ctx.scale("sweep_instances"), _draw_power(DRAW_LIKE),
                                 lambda batch: caputo_power_margins(batch, SWEEP_NODES),
                                 recheck=lambda i: caputo_power_margin(i, SWEEP_NODES), stream="power-rule-sweep")}


@check(SPEC.id)
def power_rule(ctx: Context) -> Evidence:
    """D^α (x−c)^k = Γ(k+1)/Γ(k+1−α)(x−c)^(k−α) for x > c, k ≥ 1, and D^α const = 0 (derived).

    Symbolic: theory.cfgd.power_rule_residual(k) evaluates the definition with τ = c + h t for symbolic
    α = 1 − q (q > 0) and h = x − c > 0, and sympy reduces the difference to 0, for k = 1..4 (quick) / 1..7.
    Oracle: mpmath (40 digits) definition at random α, h vs the formula; agreement to 10^-30 relative
    (10 guard digits below the working precision of tanh-sinh on the singularity-free integrand).
    Sweep: 10⁴ (quick) / 10⁶ (full) random instances (α ∈ [0.02, 0.98], k = 1..8, c ∈ [−2, 2], x − c
    log-uniform on [10⁻², 10²]): the definition, after τ = c + (x−c)(1+u)/2 an integral of (1−u)^(−α) times a
    polynomial of degree k − 1 that the 4-node rule of implementations.cfgd.gauss_jacobi integrates exactly, in
    float64 against the closed form (with lgamma), within the derived round-off bound of
    verify.margins.cfgd.caputo_power_terms; the worst instance re-checked against the mpmath definition.
    """
    kmax = ctx.scale("kmax")
    rows = {f"power k={k}": theory.power_rule_residual(k) for k in range(1, kmax + 1)}
    rows.update({"constant x>c": theory.constant_rule_residual(1), "constant x<c": theory.constant_rule_residual(-1)})
    symbolic_ok, table = _symbolic_table(rows)
    worst = 0.0
    with mp.workdps(ORACLE_DPS):
        for _ in range(ctx.scale("oracle_samples")):
            alpha = mp.mpf(float(ctx.rng.uniform(0.02, 0.98)))
            k = int(ctx.rng.integers(1, kmax + 1))
            c, x = mp.mpf(float(ctx.rng.uniform(-2, 2))), None
            x = c + mp.mpf(float(ctx.rng.uniform(0.05, 3)))
            value = theory.caputo_mp(lambda s, k=k, c=c: k * (s - c) ** (k - 1), x, c, alpha)
            formula = mp.gamma(k + 1) / mp.gamma(k + 1 - alpha) * (x - c) ** (k - alpha)
            worst = max(worst, _mp_relative_error(value, formula))
    oracle_ok = worst <= ORACLE_RTOL
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_power_sweep(ctx))
    return Evidence(holds=symbolic_ok and oracle_ok and sweep_violations == 0,
                    counterexample=sweep_counterexample,
                    numbers={"k_max": kmax, "oracle_worst_relative_error": worst,
                             "oracle_tolerance": float(ORACLE_RTOL), **sweep_numbers},
                    tables={"symbolic": table, "sweep": sweep_table},
                    notes="sympy residuals for symbolic α = 1 − q (q > 0 covers every α < 1); "
                          "mpmath oracle at 40 digits")
