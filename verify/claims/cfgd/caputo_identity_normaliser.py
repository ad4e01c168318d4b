"""cfgd.caputo.identity-normaliser: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import mpmath as mp

from theory import cfgd as theory
from verify.claims.cfgd._theory import ORACLE_RTOL, _mp_relative_error, _symbolic_table
from verify.margins.cfgd import ORACLE_DPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.caputo.identity-normaliser",
                 "D^α I = sign(x-c)|x-c|^(1-α)/Γ(2-α) on both sides; D^(1+α) I = 0",
                 "derived", "symbolic+oracle", "holds", "THEORY.md §1.1", devices=("cpu",),
                 scales={"oracle_samples": (8, 60)})


@check(SPEC.id)
def identity_normaliser(ctx: Context) -> Evidence:
    """D^α I(x) = sign(x−c)|x−c|^(1−α)/Γ(2−α) on both sides of c and D^(1+α) I = 0 (derived).

    Symbolic: the definitions for f(τ) = τ at x = c ± h, symbolic α = 1 − q, reduce to the formula
    (residual 0). Oracle: mpmath definition (40 digits) at random α, x, c on both sides, relative
    agreement 10^-30 (10 guard digits).
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
    return Evidence(holds=symbolic_ok and oracle_ok,
                    numbers={"oracle_worst_relative_error": worst, "oracle_tolerance": float(ORACLE_RTOL),
                             "oracle_max_abs_D1plus_alpha_I": worst_second},
                    tables={"symbolic": table})
