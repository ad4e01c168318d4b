"""cfgd.quadrature.change-of-variables: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import mpmath as mp

from theory import cfgd as theory
from verify.claims.cfgd._theory import ORACLE_RTOL, _mp_relative_error, _symbolic_table
from verify.margins.cfgd import ORACLE_DPS
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec

SPEC = ClaimSpec("cfgd.quadrature.change-of-variables",
                 "the [-1,1] Gauss–Jacobi form with C_α = (1-α)/2^(1-α) equals the Caputo definition, both sides of c",
                 "derived", "symbolic+oracle", "holds", "THEORY.md §1.2; paper Eq. 3/15", devices=("cpu",),
                 scales={"oracle_samples": (4, 24)})


def _oracle_test_function():
    """f'(τ) = 3cos(τ) + τ² e^(τ/2), f''(τ) = −3 sin(τ) + (2τ + τ²/2) e^(τ/2): entire, non-polynomial."""
    return (lambda s: 3 * mp.cos(s) + s * s * mp.exp(s / 2),
            lambda s: -3 * mp.sin(s) + (2 * s + s * s / 2) * mp.exp(s / 2))


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
    return Evidence(holds=symbolic_ok and worst <= ORACLE_RTOL,
                    numbers={"oracle_worst_relative_error": worst, "oracle_tolerance": float(ORACLE_RTOL)},
                    tables={"symbolic": table, "oracle": samples})
