"""CFGD theory and core claims (THEORY.md §1.1–1.3): Caputo identities, the Gauss–Jacobi form, the quadratic
closed form, NA-/AT-CFGD dynamics and Hutchinson's estimator.

Margins follow verify.search: a positive margin is a violation by that much. Every tolerance is derived
next to the check from the working precision (float64 eps = 2^-52, or the mpmath precision) and the
conditioning of the computation; the checks that honour float32 (verify.catalogue: ClaimSpec.dtypes) take eps and
the underflow unit from ctx.dtype (:func:`precision`).
"""

from __future__ import annotations

import math
from functools import partial

import mpmath as mp
import numpy as np
import torch
from hypothesis import strategies as st

from implementations.cfgd.gauss_jacobi import gauss_jacobi
from implementations.cfgd.hutchinson import hutchinson_diagonal
from implementations.cfgd.quadratic import (
    at_cfgd,
    gamma,
    na_cfgd,
    shift_matrix_diagonal,
    stability_threshold,
    tikhonov_point,
)
from theory import cfgd as theory
from verify.margins.cfgd import (
    EPS,
    ORACLE_DPS,
    closed_form_margin,
    exactness_margin,
    gauss_jacobi_error_bounds,
    heavy_ball_margin,
    heavy_ball_step,
    hutchinson_enumeration_margin,
    jacobi_quadrature_error,
    linear_exact_margin,
    precision,
    quadrature_direction_affine,
)
from verify.ratefit import fit_rate
from verify.registry import Context, Evidence, check
from verify.strategies import alphas, finite_floats, spd_matrices, vectors
from verify.tightness import Tightness

# mpmath oracles: tanh-sinh on an analytic (singularity-free) integrand at ORACLE_DPS digits; we keep 10
# guard digits, so two oracle values must agree to 10^-(ORACLE_DPS-10) relative.
ORACLE_RTOL = mp.mpf(10) ** (-(ORACLE_DPS - 10))


def _is_zero(expr) -> bool:
    return expr == 0


def _symbolic_table(rows: dict) -> tuple[bool, list[dict]]:
    table = [{"identity": name, "residual": str(value), "zero": _is_zero(value)} for name, value in rows.items()]
    return all(row["zero"] for row in table), table


def _plain_counterexample(result) -> dict:
    """A shrunk hypothesis instance (a dict of arrays/numbers) as plain nested lists, with its margin."""
    return {k: np.asarray(v).tolist() for k, v in result.counterexample.items()} | {"margin": result.margin}


def _mp_relative_error(value, reference) -> float:
    return float(abs(value - reference) / max(abs(reference), mp.mpf(10) ** (-ORACLE_DPS)))


# ------------------------------------------------------------------------------------------------------
@check("cfgd.caputo.power-rule")
def power_rule(ctx: Context) -> Evidence:
    """D^α (x−c)^k = Γ(k+1)/Γ(k+1−α)(x−c)^(k−α) for x > c, k ≥ 1, and D^α const = 0 (derived).

    Symbolic: theory.cfgd.power_rule_residual(k) evaluates the definition with τ = c + h t for symbolic
    α = 1 − q (q > 0) and h = x − c > 0, and sympy reduces the difference to 0, for k = 1..4 (quick) / 1..7.
    Oracle: mpmath (40 digits) definition at random α, h vs the formula; agreement to 10^-30 relative
    (10 guard digits below the working precision of tanh-sinh on the singularity-free integrand).
    """
    kmax = ctx.pick(quick=4, full=7)
    rows = {f"power k={k}": theory.power_rule_residual(k) for k in range(1, kmax + 1)}
    rows.update({"constant x>c": theory.constant_rule_residual(1), "constant x<c": theory.constant_rule_residual(-1)})
    symbolic_ok, table = _symbolic_table(rows)
    worst = 0.0
    with mp.workdps(ORACLE_DPS):
        for _ in range(ctx.pick(quick=6, full=40)):
            alpha = mp.mpf(float(ctx.rng.uniform(0.02, 0.98)))
            k = int(ctx.rng.integers(1, kmax + 1))
            c, x = mp.mpf(float(ctx.rng.uniform(-2, 2))), None
            x = c + mp.mpf(float(ctx.rng.uniform(0.05, 3)))
            value = theory.caputo_mp(lambda s: k * (s - c) ** (k - 1), x, c, alpha)
            formula = mp.gamma(k + 1) / mp.gamma(k + 1 - alpha) * (x - c) ** (k - alpha)
            worst = max(worst, _mp_relative_error(value, formula))
    oracle_ok = worst <= ORACLE_RTOL
    return Evidence(holds=symbolic_ok and oracle_ok,
                    numbers={"k_max": kmax, "oracle_worst_relative_error": worst,
                             "oracle_tolerance": float(ORACLE_RTOL)},
                    tables={"symbolic": table},
                    notes="sympy residuals for symbolic α = 1 − q (q > 0 covers every α < 1); "
                          "mpmath oracle at 40 digits")


# ------------------------------------------------------------------------------------------------------
@check("cfgd.caputo.identity-normaliser")
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
        for index in range(ctx.pick(quick=8, full=60)):
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


# ------------------------------------------------------------------------------------------------------
def _oracle_test_function():
    """f'(τ) = 3cos(τ) + τ² e^(τ/2), f''(τ) = −3 sin(τ) + (2τ + τ²/2) e^(τ/2): entire, non-polynomial."""
    return (lambda s: 3 * mp.cos(s) + s * s * mp.exp(s / 2),
            lambda s: -3 * mp.sin(s) + (2 * s + s * s / 2) * mp.exp(s / 2))


@check("cfgd.quadrature.change-of-variables")
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
        for index in range(ctx.pick(quick=4, full=24)):
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


# ------------------------------------------------------------------------------------------------------


@st.composite
def _affine_instances(draw):
    d = draw(st.integers(1, 6))
    return dict(s=draw(st.integers(1, 8)), gradient=draw(vectors(d, 10.0)), x=draw(vectors(d, 5.0)),
                c=draw(vectors(d, 5.0)), alpha=draw(vectors(d, 0.98, low=0.02)), beta=draw(vectors(d, 5.0)))


@check("cfgd.scaled.linear-exact")
def linear_exact(ctx: Context) -> Evidence:
    """For affine f, D f = ∇f for every α, β, c (derived: f' constant, f'' = 0 and C_α Σ w_m = 1); and as
    α → 1 with β = 0, D f → ∇f for smooth f (derived: the s = 1 node τ = c + (x−c)/(2−α) → x).

    Property: hypothesis over d ≤ 6, s ≤ 8 nodes, per-coordinate α, β, c and x on both sides of c; margin
    |D_j f − g_j| − 4(s+2)eps|g_j| (eps of ctx.dtype). Also the mpmath definition for affine f, 40 digits.
    Limit: mpmath definition for f' = e^τ sin τ, α = 1 − 10^-k, k = 1..6: the error |D f − f'(x)| must
    decrease with a fitted log-log slope in (1−α) of about 1 (≥ 0.8 is required: first-order convergence).
    """
    direction = partial(quadrature_direction_affine, **ctx.like)
    result = ctx.search(_affine_instances(), partial(linear_exact_margin, direction=direction), max_examples=60)
    worst_oracle = 0.0
    with mp.workdps(ORACLE_DPS):
        for index in range(6):
            g = mp.mpf(float(ctx.rng.uniform(-5, 5)))
            c = mp.mpf(float(ctx.rng.uniform(-2, 2)))
            x = c + (1 if index % 2 else -1) * mp.mpf(float(ctx.rng.uniform(0.1, 3)))
            value = theory.scaled_caputo_mp(lambda s: g, lambda s: mp.mpf(0), x, c,
                                            mp.mpf(float(ctx.rng.uniform(0.02, 0.98))),
                                            mp.mpf(float(ctx.rng.uniform(-3, 3))))
            worst_oracle = max(worst_oracle, _mp_relative_error(value, g))
    limit_rows = []
    with mp.workdps(ORACLE_DPS):
        x, c = mp.mpf("0.7"), mp.mpf("-0.4")
        first = lambda s: mp.exp(s) * mp.sin(s)  # noqa: E731
        second = lambda s: mp.exp(s) * (mp.sin(s) + mp.cos(s))  # noqa: E731
        for k in range(1, 7):
            alpha = 1 - mp.mpf(10) ** (-k)
            error = abs(theory.scaled_caputo_mp(first, second, x, c, alpha, 0) - first(x))
            limit_rows.append({"one_minus_alpha": float(10.0 ** -k), "error": float(error)})
    errors = np.array([row["error"] for row in limit_rows])
    slope = float(np.polyfit(np.log10([row["one_minus_alpha"] for row in limit_rows]), np.log10(errors), 1)[0])
    limit_ok = bool(np.all(np.diff(errors) < 0)) and slope >= 0.8
    holds = not result.found and worst_oracle <= ORACLE_RTOL and limit_ok
    return Evidence(holds=holds,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "oracle_worst_relative_error": worst_oracle, "alpha_to_one_loglog_slope": slope},
                    counterexample=_plain_counterexample(result) if result.found else None,
                    tables={"alpha_to_one": limit_rows})


# ------------------------------------------------------------------------------------------------------


@check("cfgd.gj.nodes-weights")
def nodes_weights(ctx: Context) -> Evidence:
    """Gauss–Jacobi nodes/weights for (1−u)^(−α) match an independent mpmath computation for s = 1..16, and
    s = 1 is u₁ = α/(2−α), w₁ = 2^(1−α)/(1−α) with C_α w₁ = 1 (derived).

    Oracle: roots of P_s^(−α,0) by mpmath polyroots and weights from the closed formula
    (theory.cfgd.gauss_jacobi_mp, 40 digits) vs implementations.cfgd.gauss_jacobi (Golub–Welsch, float64).
    Tolerances from :func:`gauss_jacobi_error_bounds`. Symbolic: the s = 1 identities reduce to 0.
    """
    symbolic_ok, table = _symbolic_table(theory.single_node_residuals())
    alphas_checked = ctx.pick(quick=[0.1, 0.5, 0.9], full=[0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
    rows, holds_numeric = [], True
    worst_node_ratio = worst_weight_ratio = 0.0
    with mp.workdps(ORACLE_DPS):
        for alpha in alphas_checked:
            for s in range(1, 17):
                nodes, weights = gauss_jacobi(s, ctx.tensor(alpha))
                ref_nodes, ref_weights = theory.gauss_jacobi_mp(s, mp.mpf(alpha))
                node_err = np.abs(nodes.cpu().numpy() - np.array([float(v) for v in ref_nodes]))
                ref_w = np.array([float(v) for v in ref_weights])
                weight_err = np.abs(weights.cpu().numpy() / ref_w - 1)
                node_bound, weight_bound = gauss_jacobi_error_bounds(nodes, weights, alpha)
                node_ratio = float(np.max(node_err) / node_bound)
                weight_ratio = float(np.max(weight_err / weight_bound))
                worst_node_ratio = max(worst_node_ratio, node_ratio)
                worst_weight_ratio = max(worst_weight_ratio, weight_ratio)
                ok = node_ratio <= 1 and weight_ratio <= 1
                holds_numeric &= ok
                rows.append({"alpha": alpha, "s": s, "max_node_error": float(np.max(node_err)),
                             "max_weight_relative_error": float(np.max(weight_err)), "within_bounds": ok})
    closed_form_error = max(abs(float(gauss_jacobi(1, ctx.tensor(a))[0][0]) - a / (2 - a)) for a in alphas_checked)
    failures = [row for row in rows if not row["within_bounds"]]
    return Evidence(holds=symbolic_ok and holds_numeric,
                    numbers={"worst_node_error_over_bound": worst_node_ratio,
                             "worst_weight_error_over_bound": worst_weight_ratio,
                             "max_node_error": max(r["max_node_error"] for r in rows),
                             "max_weight_relative_error": max(r["max_weight_relative_error"] for r in rows),
                             "s1_closed_form_node_error": closed_form_error},
                    counterexample={"rows": failures, "margin": max(worst_node_ratio, worst_weight_ratio) - 1}
                    if failures else None,
                    tables={"symbolic": table, "comparison": rows})


# ------------------------------------------------------------------------------------------------------


@st.composite
def _polynomial_instances(draw, degree_offset: int = -1):
    s = draw(st.integers(1, 10))
    coefficients = draw(vectors(2 * s + degree_offset + 1, 1.0))
    return dict(s=s, alpha=draw(alphas(0.02, 0.98)), coefficients=coefficients)


def degree_2s_row(alpha: float, s: int, like: dict | None = None) -> dict:
    """The rule on p = (1−u)^(2s), whose Gauss remainder I − Q is exactly ‖π_s‖² (theory.cfgd.jacobi_remainder_mp).

    float64 rule: I − Q must match the remainder within the round-off bound of :func:`jacobi_quadrature_error`
    (plus eps·remainder for rounding the 40-digit value); it is *detectable* when it exceeds that bound (fails
    for large s, where the remainder falls below float64 resolution of the integral). mpmath rule (40 digits,
    theory.cfgd.gauss_jacobi_mp): I − Q must match the remainder to 10^-30·I/(I − Q) relative (the working
    accuracy divided by the cancellation), and is nonzero, for every s. ``like``: as in
    :func:`jacobi_quadrature_error`.
    """
    coefficients = np.zeros(2 * s + 1)
    coefficients[-1] = 1.0
    error, bound, exact = jacobi_quadrature_error(coefficients, alpha, s, like)
    with mp.workdps(ORACLE_DPS):
        a = mp.mpf(alpha)
        remainder_mp = theory.jacobi_remainder_mp(s, a)
        nodes, weights = theory.gauss_jacobi_mp(s, a)
        gap_mp = (mp.power(2, 2 * s + 1 - a) / (2 * s + 1 - a)
                  - mp.fsum(w * (1 - u) ** (2 * s) for u, w in zip(nodes, weights)))
        # I − Q cancels: its relative accuracy is the working one times I/(I − Q)
        mp_tolerance = ORACLE_RTOL * max(1, mp.power(2, 2 * s + 1 - a) / (2 * s + 1 - a) / remainder_mp)
        mp_ok = remainder_mp > 0 and _mp_relative_error(gap_mp, remainder_mp) <= mp_tolerance
    remainder = float(remainder_mp)
    matches = abs(-error - remainder) <= bound + EPS * remainder
    detectable = -error > bound
    return {"alpha": alpha, "s": s, "float64_integral_minus_rule": -error, "remainder_formula": remainder,
            "relative_remainder": remainder / exact, "float64_roundoff_bound": bound, "float64_matches": matches,
            "float64_detectable": detectable, "mp_relative_error": _mp_relative_error(gap_mp, remainder_mp),
            "ok": bool(matches and mp_ok)}


@check("cfgd.gj.exactness")
def exactness(ctx: Context) -> Evidence:
    """The s-node Gauss–Jacobi rule is exact for polynomials of degree ≤ 2s − 1 and not for degree 2s (derived).

    Property: hypothesis over s ≤ 10, α ∈ [0.02, 0.98], coefficients in [−1,1] in the (1−u)^m basis;
    |Q − I| must stay within the derived round-off bound of :func:`jacobi_quadrature_error`.
    Degree 2s: p = (1−u)^(2s), whose Gauss remainder is exactly ‖π_s‖² = μ₀ Π_{k≤s} β_k > 0
    (theory.cfgd.jacobi_remainder_mp); see :func:`degree_2s_row` (float64 rule where the remainder is above
    round-off, the 40-digit mpmath rule for every s).
    """
    result = ctx.search(_polynomial_instances(), partial(exactness_margin, like=ctx.like), max_examples=80)
    rows = [degree_2s_row(alpha, s, ctx.like)
            for alpha in (0.1, 0.5, 0.9) for s in range(1, ctx.pick(quick=8, full=12) + 1)]
    failing_rows = [row for row in rows if not row["ok"]]
    detected_in_float64 = sum(row["float64_detectable"] for row in rows)
    counterexample = None
    if result.found:
        counterexample = {"s": result.counterexample["s"], "alpha": result.counterexample["alpha"],
                          "coefficients_in_(1-u)^m": result.counterexample["coefficients"].tolist(),
                          "margin": result.margin}
    elif failing_rows:
        counterexample = {"degree_2s_rows": failing_rows, "margin": 1.0}
    return Evidence(holds=not result.found and not failing_rows and detected_in_float64 > 0,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "degree_2s_cases": len(rows), "degree_2s_detectable_in_float64": detected_in_float64},
                    counterexample=counterexample, tables={"degree_2s_remainder": rows})


# ------------------------------------------------------------------------------------------------------
def bernstein_rho(pole: complex) -> float:
    """ρ of the Bernstein ellipse through ``pole`` (foci ±1): |z + √(z² − 1)|, branch with modulus ≥ 1."""
    w = complex(pole) + np.sqrt(complex(pole) ** 2 - 1)
    return max(abs(w), 1 / abs(w))


def _pole_series(z0: float, alpha: float, max_nodes: int, like: dict) -> list[float]:
    """Relative errors of the s-node rule (``like``: its dtype and device) on ∫(1−u)^(−α)/(z₀ − u) du,
    s = 1..max_nodes (mpmath reference)."""
    with mp.workdps(30):
        exact = float(theory.jacobi_weighted_integral_mp(lambda u: 1 / (mp.mpf(z0) - u), mp.mpf(alpha)))
    errors = []
    for s in range(1, max_nodes + 1):
        nodes, weights = gauss_jacobi(s, torch.as_tensor(alpha, **like))
        errors.append(abs(float(torch.sum(weights / (z0 - nodes))) - exact) / abs(exact))
    return errors


def _arctan_caputo_series(x: float, c: float, alpha: float, beta: float, max_nodes: int, like: dict) -> list[float]:
    """Relative errors of the s-node quadrature form (THEORY.md §1.2; ``like``: its dtype and device) of the
    scaled Caputo derivative of f = arctan at x (terminal c), against the mpmath definition; f' = 1/(1+τ²),
    f'' = −2τ/(1+τ²)²."""
    with mp.workdps(30):
        exact = float(theory.scaled_caputo_mp(lambda s: 1 / (1 + s * s), lambda s: -2 * s / (1 + s * s) ** 2,
                                              x, c, mp.mpf(alpha), mp.mpf(beta)))
    errors = []
    c_alpha = (1 - alpha) / 2 ** (1 - alpha)
    for s in range(1, max_nodes + 1):
        nodes, weights = gauss_jacobi(s, torch.as_tensor(alpha, **like))
        tau = c + (x - c) * (1 + nodes) / 2
        integrand = 1 / (1 + tau ** 2) + beta * (x - c) * (-2 * tau / (1 + tau ** 2) ** 2)
        errors.append(abs(c_alpha * float(torch.sum(weights * integrand)) - exact) / abs(exact))
    return errors


@check("cfgd.gj.spectral-convergence")
def spectral_convergence(ctx: Context) -> Evidence:
    """For g analytic inside the Bernstein ellipse E_ρ (foci ±1), the s-node Gauss error is O(ρ^(−2s)), also
    for the Jacobi weight (1−u)^(−α) which the rule integrates exactly (derived, standard Gauss quadrature
    theory). Measured on
    - g(u) = 1/(z₀ − u), z₀ = 1.5: ρ = z₀ + √(z₀² − 1) ≈ 2.618, predicted ratio ρ^(−2) ≈ 0.146 per node
      (α = 0.3 and 0.8);
    - the scaled Caputo derivative of f = arctan at x = 1.5, c = −1, α = 0.6, β = 0.5 (the CFGD quadrature
      form with f', f'' along the line): poles τ = ±i map to u_p = 2(±i − c)/(x − c) − 1, ρ = bernstein_rho(u_p).
    Errors vs mpmath references (30 digits); the rate is fitted by verify.ratefit.fit_rate from s = 2 until
    the float64 floor 1e-13 relative (≈ 500 eps, the weights' round-off; below it the log-errors are noise).
    """
    max_nodes = 24
    x, c = 1.5, -1.0
    caputo_pole = 2 * (1j - c) / (x - c) - 1
    series = {
        "pole_z0_1.5_alpha_0.3": (_pole_series(1.5, 0.3, max_nodes, ctx.like), bernstein_rho(1.5) ** -2),
        "pole_z0_1.5_alpha_0.8": (_pole_series(1.5, 0.8, max_nodes, ctx.like), bernstein_rho(1.5) ** -2),
        "caputo_arctan_alpha_0.6": (_arctan_caputo_series(x, c, 0.6, 0.5, max_nodes, ctx.like),
                                    bernstein_rho(caputo_pole) ** -2),
    }
    numbers, fit_rows, error_rows = {}, [], []
    for name, (errors, predicted) in series.items():
        fit = fit_rate(errors, start=1, floor=1e-13)
        numbers.update({f"{name}_rho": fit.rho, f"{name}_rho_ci": [fit.rho_low, fit.rho_high],
                        f"{name}_predicted": predicted, f"{name}_points": fit.n})
        fit_rows.append(fit.as_dict() | {"series": name, "predicted_ratio": predicted})
        error_rows.extend({"series": name, "s": s + 1, "relative_error": e} for s, e in enumerate(errors))
    figures = []
    if ctx.figure_dir:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for name, (errors, predicted) in series.items():
            line, = ax.semilogy(range(1, max_nodes + 1), np.maximum(errors, 1e-17), "o-", ms=3, label=name)
            ax.semilogy(range(1, max_nodes + 1), [errors[0] * predicted ** (s - 1) for s in range(1, max_nodes + 1)],
                        "--", color=line.get_color(), lw=0.8)
        ax.set_xlabel("nodes s")
        ax.set_ylabel("relative error (dashed: ρ^(−2s) prediction)")
        ax.legend(fontsize=7)
        path = f"{ctx.figure_dir}/cfgd_gj_spectral_convergence.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        figures.append(path)
    return Evidence(holds=None, numbers=numbers, tables={"fits": fit_rows, "errors": error_rows}, figures=figures,
                    notes="geometric decay in s; compare each fitted rho with its Bernstein-ellipse prediction ρ^(−2)")


# ------------------------------------------------------------------------------------------------------
@st.composite
def _quadratic_instances(draw):
    d = draw(st.integers(1, 4))
    a = draw(spd_matrices(d, cond_max=100.0, scale_low=0.1, scale_high=10.0))
    shift = draw(finite_floats(-5.0, 1.0))  # indefinite A allowed: the closed form needs symmetry only
    return dict(A=a + shift * np.eye(d) * (shift < -2), b=draw(vectors(d, 5.0)), x=draw(vectors(d, 3.0)),
                c=draw(vectors(d, 3.0)), alpha=draw(vectors(d, 0.98, low=0.02)), beta=draw(vectors(d, 3.0)))


@check("cfgd.quadratic.closed-form")
def quadratic_closed_form(ctx: Context) -> Evidence:
    """For f = ½xᵀAx + bᵀx: D f = Ax + b + diag(γ)diag(r)(x − c), γ = β − (1−α)/(2−α), r_j = A_jj, on both
    sides of c (paper Eq. 8 form; γ and r derived).

    Symbolic: along e_j, ∂_j f(τ) = p + r(τ − x_j), the definition at x = c ± h reduces to the formula
    (residual 0, symbolic α = 1 − q, β, p, r). Property: implementations.cfgd.quadratic_direction (ctx.dtype)
    vs the mpmath definition coordinate by coordinate, hypothesis over d ≤ 4, SPD and indefinite A,
    per-coordinate α, β, c with x_j on both sides of c_j; tolerance in :func:`closed_form_margin`.
    """
    rows = {"x>c": theory.quadratic_closed_form_residual(1), "x<c": theory.quadratic_closed_form_residual(-1)}
    symbolic_ok, table = _symbolic_table(rows)
    result = ctx.search(_quadratic_instances(), partial(closed_form_margin, like=ctx.like), max_examples=40)
    counterexample = None
    if result.found:
        counterexample = _plain_counterexample(result)
    return Evidence(holds=symbolic_ok and not result.found, counterexample=counterexample,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1},
                    tables={"symbolic": table})


# ------------------------------------------------------------------------------------------------------
def random_spd_batch(batch: int, dim: int, low: float, high: float, generator: torch.Generator,
                     like: dict | None = None) -> torch.Tensor:
    """Q diag(λ) Qᵀ, Q Haar (QR of a Gaussian, sign-fixed), λ uniform in [low, high]: computed in float64 on the
    generator's device (the same instances for every device and dtype), then cast and moved to ``like``'s
    ``dtype=`` and ``device=`` (default: kept as computed)."""
    host = dict(dtype=torch.float64, device=generator.device)
    gauss = torch.randn(batch, dim, dim, generator=generator, **host)
    q, r = torch.linalg.qr(gauss)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    lam = low + (high - low) * torch.rand(batch, dim, generator=generator, **host)
    matrix = (q * lam.unsqueeze(-2)) @ q.transpose(-1, -2)
    return ((matrix + matrix.transpose(-1, -2)) / 2).to(**(like or host))


def random_na_instances(batch: int, dim: int, eigenvalue_range: tuple[float, float],
                        beta_range: tuple[float, float], generator: torch.Generator,
                        like: dict | None = None) -> tuple[torch.Tensor, ...]:
    """(A, b, c, x0, α, β) for NA-CFGD sweeps: A from :func:`random_spd_batch` with eigenvalues uniform in
    ``eigenvalue_range``; b, c, x0 ~ N(0, I); α uniform in [0.05, 0.95]; β uniform in ``beta_range``. Drawn like
    :func:`random_spd_batch` (float64 on the generator's device, then moved to ``like``)."""
    host = dict(dtype=torch.float64, device=generator.device)
    A = random_spd_batch(batch, dim, *eigenvalue_range, generator)
    b, c, x0 = (torch.randn(batch, dim, generator=generator, **host) for _ in range(3))
    alpha = 0.05 + 0.9 * torch.rand(batch, dim, generator=generator, **host)
    low, high = beta_range
    beta = low + (high - low) * torch.rand(batch, dim, generator=generator, **host)
    return tuple(t.to(**(like or host)) for t in (A, b, c, x0, alpha, beta))


def na_distance_bound(A, b, x0, g, c, star, lr, steps: int) -> torch.Tensor:
    """Bound on ‖x_T − x*‖ for NA-CFGD in A's dtype (eps and 2^-1074 below are that dtype's: :func:`precision`)
    with A + G ≻ 0, 0 < η < 2/λ_max (derived):
    q^T ‖x0 − x*‖ + δ/(1 − q) + 4 d eps κ(A+G) ‖x*‖, where q = max_i |1 − ηλ_i(A+G)|, δ = 4(d+4)(eps·(R +
    η(λ_max R + ‖b‖ + ‖Gc‖)) + 2^-1074) is one step's rounding with R = ‖x*‖ + ‖x0 − x*‖ bounding every iterate
    (the error contracts monotonically), and the last term is the forward error of the solve giving x*."""
    eigenvalues = torch.linalg.eigvalsh(A + torch.diag_embed(g))
    lmin, lmax = eigenvalues[..., 0], eigenvalues[..., -1]
    lr = torch.as_tensor(lr, dtype=A.dtype, device=A.device)
    q = torch.maximum((1 - lr * lmin).abs(), (1 - lr * lmax).abs())
    d = A.shape[-1]
    eps, underflow = precision(A)
    start = (x0 - star).norm(dim=-1)
    largest = star.norm(dim=-1) + start
    delta = 4 * (d + 4) * (eps * (largest + lr * (lmax * largest + b.norm(dim=-1) + (g * c).norm(dim=-1))) + underflow)
    return q ** steps * start + delta / (1 - q) + 4 * d * eps * (lmax / lmin) * star.norm(dim=-1)


def fixed_point_margins(A, b, x0, alpha, beta, c, steps: int) -> dict:
    """Run NA-CFGD with η = 2/(λ_min + λ_max) of A + G per instance and return the margins (derived):
    convergence: ‖x_T − x*‖ − :func:`na_distance_bound`;
    offset: the identity (A+G)(x* − x_min) = G(c − x_min) gives ‖x_T − x_min‖ = ‖(A+G)⁻¹G(c − x_min)‖ up to
    ‖x_T − x*‖ plus the solves' forward errors 4d eps (κ(A)‖x_min‖(1 + ‖G‖/λ_min(A+G)) + κ(A+G)‖offset‖).
    Batched over the leading dimension."""
    g = shift_matrix_diagonal(A, alpha, beta)
    shifted = A + torch.diag_embed(g)
    eigenvalues = torch.linalg.eigvalsh(shifted)
    lmin, lmax = eigenvalues[..., 0], eigenvalues[..., -1]
    lr = 2 / (lmin + lmax)
    run = na_cfgd(A, b, x0, alpha, beta, c, lr, steps, keep_trajectory=False)
    star = tikhonov_point(A, b, alpha, beta, c)
    bound = na_distance_bound(A, b, x0, g, c, star, lr, steps)
    distance = (run.final - star).norm(dim=-1)
    minimiser = -torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)
    offset_formula = torch.linalg.solve(shifted, (g * (c - minimiser)).unsqueeze(-1)).squeeze(-1).norm(dim=-1)
    offset_measured = (run.final - minimiser).norm(dim=-1)
    a_eigenvalues = torch.linalg.eigvalsh(A)
    kappa_a = a_eigenvalues[..., -1] / a_eigenvalues[..., 0]
    d = A.shape[-1]
    solve_errors = 4 * d * precision(A)[0] * (kappa_a * minimiser.norm(dim=-1) * (1 + g.abs().amax(-1) / lmin)
                                  + (lmax / lmin) * offset_formula)
    return dict(convergence_margin=distance - bound, distance=distance, bound=bound,
                offset_measured=offset_measured, offset_formula=offset_formula, diverged=run.diverged,
                offset_margin=(offset_measured - offset_formula).abs() - bound - solve_errors,
                offset_tolerance=bound + solve_errors)


@check("cfgd.na.fixed-point")
def na_fixed_point(ctx: Context) -> Evidence:
    """NA-CFGD x ← x − η[(A+G)x + b − Gc] converges to the Tikhonov point (A+G)x* = Gc − b, G = diag(γ⊙r),
    and x* = argmin f iff G(c − argmin f) = 0, e.g. γ = 0 or c = argmin f (derived; Shin et al. state
    Tikhonov convergence).

    Sweep: batched random instances (d = 5, A eigenvalues in [1, 10], α ∈ [0.05, 0.95], β ∈ [−0.3, 0.8],
    c, b, x0 ~ N(0, I)), kept if A + G ≻ 0 (λ_min ≥ 0.05); η = 2/(λ_min + λ_max), T = 4000 steps. Margins of
    :func:`fixed_point_margins` must be ≤ 0: the contraction bound plus accumulated round-off. Special cases:
    β = (1−α)/(2−α) (γ = 0) and c = argmin f must land on argmin f; generic ones must not (offset > bound).
    """
    gen = ctx.torch_generator()
    batch, d, steps = ctx.pick(quick=2000, full=20000), 5, 4000
    A, b, c, x0, alpha, beta = random_na_instances(batch, d, (1.0, 10.0), (-0.3, 0.8), gen, ctx.like)
    shifted_min = torch.linalg.eigvalsh(A + torch.diag_embed(shift_matrix_diagonal(A, alpha, beta)))[..., 0]
    keep = shifted_min >= 0.05
    A, b, c, x0, alpha, beta = (t[keep] for t in (A, b, c, x0, alpha, beta))
    generic = fixed_point_margins(A, b, x0, alpha, beta, c, steps)
    gamma_zero = fixed_point_margins(A, b, x0, alpha, (1 - alpha) / (2 - alpha), c, steps)
    minimiser = -torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)
    c_at_minimiser = fixed_point_margins(A, b, x0, alpha, beta, minimiser, steps)
    worst = {
        "generic_convergence_margin": float(generic["convergence_margin"].max()),
        "generic_offset_margin": float(generic["offset_margin"].max()),
        "gamma_zero_distance_to_argmin_margin":
            float((gamma_zero["offset_measured"] - gamma_zero["offset_tolerance"]).max()),
        "c_at_argmin_distance_to_argmin_margin":
            float((c_at_minimiser["offset_measured"] - c_at_minimiser["offset_tolerance"]).max()),
    }
    generic_not_argmin = generic["offset_measured"] > generic["offset_tolerance"]
    holds = (all(v <= 0 for v in worst.values()) and bool(generic_not_argmin.all())
             and not bool(generic["diverged"].any()))
    worst_index = int(generic["convergence_margin"].argmax())
    counterexample = None
    if not holds:
        counterexample = {"A": A[worst_index].tolist(), "b": b[worst_index].tolist(), "c": c[worst_index].tolist(),
                          "x0": x0[worst_index].tolist(), "alpha": alpha[worst_index].tolist(),
                          "beta": beta[worst_index].tolist(), "steps": steps,
                          "margin": max(max(worst.values()), 0.0)}
    return Evidence(holds=holds, counterexample=counterexample,
                    numbers=worst | {"instances": int(keep.sum()), "rejected_not_pd": int((~keep).sum()),
                                     "steps": steps,
                                     "min_generic_offset": float(generic["offset_measured"].min()),
                                     "worst_distance_over_bound": float((generic["distance"] / generic["bound"]).max()),
                                     "max_distance_to_tikhonov": float(generic["distance"].max())},
                    notes="generic instances converge to the Tikhonov point, which differs from argmin f")


# ------------------------------------------------------------------------------------------------------
def _error_norm_after(A, b, x0, alpha, beta, c, lr, steps):
    run = na_cfgd(A, b, x0, alpha, beta, c, lr, steps, keep_trajectory=False)
    star = tikhonov_point(A, b, alpha, beta, c)
    return run, (run.final - star).norm(dim=-1) / (x0 - star).norm(dim=-1)


def empirical_threshold(A, b, x0, alpha, beta, c, steps: int, low: torch.Tensor, high: torch.Tensor,
                        iterations: int = 24) -> torch.Tensor:
    """Per instance (batched), the largest η with ‖x_T − x*‖ < ‖x0 − x*‖ after T steps and no blow-up, by
    bisection in [low, high] (low must converge, high must not); resolution (high − low)·2^-iterations."""
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        run, ratio = _error_norm_after(A, b, x0, alpha, beta, c, middle, steps)
        fails = run.diverged | (ratio >= 1)
        high = torch.where(fails, middle, high)
        low = torch.where(fails, low, middle)
    return low


@check("cfgd.na.stability")
def na_stability(ctx: Context) -> Evidence:
    """NA-CFGD on a quadratic converges from every start iff A + G ≻ 0 and 0 < η < 2/λ_max(A+G) (derived:
    the error map is e ← (I − η(A+G)) e with A + G symmetric).

    Both sides, batched over random instances (d = 4, A eigenvalues in [0.5, 20]) with random starts:
    η = 0.98·η_c converges (‖x_T − x*‖ within :func:`na_distance_bound`, T = 1500);
    η = 1.02·η_c diverges (flag set: |1 − ηλ_max| = 1.04, 1.04^T ≫ blow-up 1e10 for T = 1500);
    A + G with a negative eigenvalue (β pushed below the generalised eigenvalue of (A, diag r)) diverges at
    η = 1/λ_max(A+G) with T = ⌈ln(1e14)/ln(1 + η|λ_min|)⌉.
    Tightness: η_c = 2/λ_max vs the bisection threshold of "‖e_T‖ < ‖e_0‖" (T = 3000, 24 halvings); rtol
    = 2 ln(‖e0‖/|⟨e0, v_max⟩|)/T + 2^-24, the overshoot a finite horizon allows (derived: the v_max component
    grows as (1+ε)^T with ε = η λ_max − 2).
    """
    gen = ctx.torch_generator()
    batch, d, steps = ctx.pick(quick=500, full=5000), 4, 1500
    A, b, c, x0, alpha, beta = random_na_instances(batch, d, (0.5, 20.0), (-0.2, 0.8), gen, ctx.like)
    threshold = stability_threshold(A, alpha, beta)
    keep = threshold > 0
    A, b, c, x0, alpha, beta, threshold = (t[keep] for t in (A, b, c, x0, alpha, beta, threshold))
    shifted = A + torch.diag_embed(shift_matrix_diagonal(A, alpha, beta))
    below_lr = 0.98 * threshold
    run_below, ratio_below = _error_norm_after(A, b, x0, alpha, beta, c, below_lr, steps)
    star = tikhonov_point(A, b, alpha, beta, c)
    g = shift_matrix_diagonal(A, alpha, beta)
    below_bound = na_distance_bound(A, b, x0, g, c, star, below_lr, steps) / (x0 - star).norm(dim=-1)
    below_margin = ratio_below - below_bound
    run_above = na_cfgd(A, b, x0, alpha, beta, c, 1.02 * threshold, steps, keep_trajectory=False)
    # indefinite A + G
    r = torch.diagonal(A, dim1=-2, dim2=-1)
    scaled = A / torch.sqrt(r.unsqueeze(-1) * r.unsqueeze(-2))
    m = 1.2 * torch.linalg.eigvalsh(scaled)[..., 0]
    beta_neg = ((1 - alpha) / (2 - alpha) - m.unsqueeze(-1)).expand_as(alpha).contiguous()
    indefinite_eigs = torch.linalg.eigvalsh(A + torch.diag_embed(shift_matrix_diagonal(A, alpha, beta_neg)))
    lr_neg = 1 / indefinite_eigs[..., -1].abs()
    growth = torch.log1p(lr_neg * indefinite_eigs[..., 0].abs())
    steps_neg = int(torch.ceil(math.log(1e14) / growth).max().clamp(max=200000))
    run_neg = na_cfgd(A, b, x0, alpha, beta_neg, c, lr_neg, steps_neg, keep_trajectory=False)
    # tightness on a few instances
    tight_rows, all_tight = [], True
    horizon, count, iterations = 3000, ctx.pick(quick=8, full=64), 24
    chosen = slice(0, count)
    eta_c = threshold[chosen]
    found = empirical_threshold(A[chosen], b[chosen], x0[chosen], alpha[chosen], beta[chosen], c[chosen],
                                horizon, 0.5 * eta_c, 1.5 * eta_c, iterations)
    _, eigenvectors = torch.linalg.eigh(shifted[chosen])
    e0 = x0[chosen] - star[chosen]
    overlaps = ((e0.unsqueeze(-1) * eigenvectors[..., -1:]).sum(-2).squeeze(-1).abs() / e0.norm(dim=-1))
    for index in range(count):
        # rtol: finite-horizon overshoot 2 ln(1/overlap)/T plus the bisection resolution 2^-iterations
        rtol = 2 * math.log(1 / max(float(overlaps[index]), 1e-300)) / horizon + 2.0 ** -iterations
        record = Tightness(quantity="largest η with ‖e_T‖ < ‖e_0‖ (NA-CFGD)", bound=float(eta_c[index]),
                           worst=float(found[index]), kind="upper", rtol=rtol,
                           method=f"bisection, T={horizon}", evaluations=iterations)
        all_tight &= record.label == "tight"
        tight_rows.append(record.as_row())
    holds = (float(below_margin.max()) <= 0 and not bool(run_below.diverged.any())
             and bool(run_above.diverged.all()) and bool(run_neg.diverged.all()) and all_tight)
    numbers = {"instances": int(keep.sum()), "worst_below_margin": float(below_margin.max()),
               "below_diverged": int(run_below.diverged.sum()),
               "above_diverged_fraction": float(run_above.diverged.double().mean()),
               "indefinite_diverged_fraction": float(run_neg.diverged.double().mean()),
               "indefinite_steps": steps_neg,
               "max_relative_threshold_gap": max(abs(r_["ratio"] - 1) for r_ in tight_rows)}
    counterexample = None
    if not holds:  # the instance violating the first failing part: below side, above side, indefinite side
        failing = torch.cat([(below_margin > 0).nonzero().flatten(), (~run_above.diverged).nonzero().flatten(),
                             (~run_neg.diverged).nonzero().flatten(), torch.zeros(1, dtype=torch.long, device=A.device)])
        bad = int(failing[0])
        counterexample = {"A": A[bad].tolist(), "b": b[bad].tolist(), "c": c[bad].tolist(), "x0": x0[bad].tolist(),
                          "alpha": alpha[bad].tolist(), "beta": beta[bad].tolist(),
                          "beta_indefinite": beta_neg[bad].tolist(),
                          "eta_threshold": float(threshold[bad]), "margin": float(below_margin[bad])}
    return Evidence(holds=holds, numbers=numbers, counterexample=counterexample, tables={"tightness": tight_rows})


# ------------------------------------------------------------------------------------------------------


@st.composite
def _heavy_ball_instances(draw):
    d = draw(st.integers(1, 4))
    return dict(A=draw(spd_matrices(d, cond_max=50.0, scale_low=0.5, scale_high=5.0)), b=draw(vectors(d, 3.0)),
                x0=draw(vectors(d, 3.0)), alpha=draw(vectors(d, 0.95, low=0.05)), beta=draw(vectors(d, 1.0)),
                lr_fraction=draw(finite_floats(0.01, 1.0)))


@check("cfgd.at.heavy-ball")
def at_heavy_ball(ctx: Context) -> Evidence:
    """AT-CFGD with c^(t) = x^(t−1) on a quadratic equals heavy-ball x⁺ = x − η∇f(x) − ηG(x − x_prev),
    G = diag(γ⊙r), i.e. momentum coefficient −ηγ_j r_j per coordinate (derived from the closed form).

    Property: hypothesis over d ≤ 4, SPD A, per-coordinate α, β, η = fraction/(λ_max(A) + max|γr|): every
    step of implementations.cfgd.at_cfgd (40 steps) equals the heavy-ball step at the same states within
    the rounding bound of :func:`heavy_ball_margin`. Also reports the whole-trajectory deviation from an
    independent heavy-ball recursion on one instance.
    """
    result = ctx.search(_heavy_ball_instances(), partial(heavy_ball_margin, like=ctx.like), max_examples=60)
    gen = ctx.torch_generator()
    A = random_spd_batch(1, 6, 1.0, 10.0, gen, ctx.like)[0]
    b, x0 = ctx.randn(6, generator=gen), ctx.randn(6, generator=gen)
    alpha, beta = torch.full((6,), 0.1, **ctx.like), torch.zeros(6, **ctx.like)
    gamma_r = gamma(alpha, beta) * torch.diagonal(A)
    lr = 1.0 / float(torch.linalg.eigvalsh(A)[-1])
    at_trajectory = at_cfgd(A, b, x0, alpha, beta, lr, 200).trajectory
    hb = [x0, heavy_ball_step(A, b, x0, x0, gamma_r, lr)]
    for _ in range(199):
        hb.append(heavy_ball_step(A, b, hb[-1], hb[-2], gamma_r, lr))
    deviation = float((at_trajectory - torch.stack(hb)).norm(dim=-1).max() / torch.stack(hb).norm(dim=-1).max())
    counterexample = None
    if result.found:
        counterexample = _plain_counterexample(result)
    return Evidence(holds=not result.found, counterexample=counterexample,
                    numbers={"examples": result.examples_tried, "worst_error_over_bound": result.worst_margin_seen + 1,
                             "trajectory_relative_deviation_200_steps": deviation},
                    notes="momentum coefficient −ηγr is positive when β < (1−α)/(2−α)")


# ------------------------------------------------------------------------------------------------------


@st.composite
def _symmetric_matrices(draw):
    d = draw(st.integers(1, 8))
    m = draw(vectors(d * d, 5.0)).reshape(d, d)
    return (m + m.T) / 2


@check("cfgd.hutchinson.unbiased")
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
    d, replicas = 6, ctx.pick(quick=20000, full=200000)
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
