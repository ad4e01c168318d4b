"""Caputo fractional derivatives for CFGD (THEORY.md §1.1–1.2): sympy derivations and mpmath oracles.

Symbolic part: every identity is reduced to an expression that sympy simplifies to 0. The order is written
α = 1 − q with q a positive symbol, so the integrals' convergence condition (α < 1) is an assumption sympy
uses (it then evaluates 0^q = 0); no identity below needs α > 0, so they hold for every α < 1, which covers
α ∈ (0, 1). Functions named ``*_residual`` return the simplified residual (0 when the identity holds).

Numerical part (mpmath, ``dps`` ≥ 30 digits): the Caputo derivatives by their definitions, with the kernel
singularity removed by s = |x − τ|^(1−α) (which turns (x−τ)^(−α) dτ into ds/(1−α)) before tanh-sinh
quadrature, and Gauss–Jacobi rules from the roots of the Jacobi polynomial (mpmath polyroots) with weights
from the closed formula, independent of the Golub–Welsch route of implementations.cfgd.gauss_jacobi.
"""

from __future__ import annotations

import functools
from typing import Callable

import mpmath as mp
import sympy as sp

# ---------------------------------------------------------------------------------------------------------
# Symbols
# ---------------------------------------------------------------------------------------------------------
q = sp.Symbol("q", positive=True)  # q = 1 − α
ALPHA = 1 - q
h = sp.Symbol("h", positive=True)  # |x − c|
c_sym = sp.Symbol("c", real=True)
beta_sym = sp.Symbol("beta", real=True)
tau, t_sym, u_sym = sp.symbols("tau t u", real=True)


def c_alpha(alpha) -> sp.Expr:
    """C_α = Γ(2−α)/(Γ(1−α) 2^(1−α)) (THEORY.md §1.2)."""
    return sp.gamma(2 - alpha) / (sp.gamma(1 - alpha) * 2 ** (1 - alpha))


def caputo_definition(df: Callable, x, c, alpha, order_one_plus: bool = False) -> sp.Expr:
    """The Caputo derivative by its definition (THEORY.md §1.1) as a sympy Integral, for x = c ± h known.

    D^α f(x) = ±1/Γ(1−α) ∫ f'(τ)|x−τ|^(−α) dτ over [c, x] (x > c, sign +) or [x, c] (x < c, sign −);
    ``order_one_plus``: D^(1+α), pass f'' as ``df``; the sign is + on both sides.
    """
    side = sp.sign(x - c)
    if side == 1:
        integral = sp.Integral(df(tau) * (x - tau) ** (-alpha), (tau, c, x))
    elif side == -1:
        integral = sp.Integral(df(tau) * (tau - x) ** (-alpha), (tau, x, c))
    else:
        raise ValueError("x − c must have a known sign (use x = c + h or x = c − h with h > 0)")
    sign = 1 if order_one_plus else side
    return sign * integral / sp.gamma(1 - alpha)


def evaluate(integral_expr: sp.Expr, new_variable, substitution) -> sp.Expr:
    """Evaluate every Integral in ``integral_expr`` after the change of variables τ = substitution(new)."""
    def transform(integral):
        return integral.transform(tau, (substitution, new_variable)).doit(conds="none")
    return integral_expr.replace(lambda e: isinstance(e, sp.Integral), transform)


def power_rule_residual(k: int) -> sp.Expr:
    """D^α (x−c)^k − Γ(k+1)/Γ(k+1−α)(x−c)^(k−α) for x = c + h > c (derived; symbolic α = 1 − q).

    Evaluated through τ = c + h t, which turns the integral into k h^(k−α) B(k, 1−α).
    """
    x = c_sym + h
    definition = caputo_definition(lambda s: sp.diff((s - c_sym) ** k, s), x, c_sym, ALPHA)
    value = evaluate(definition, t_sym, c_sym + h * t_sym)
    return sp.simplify(sp.gammasimp(value - sp.gamma(k + 1) / sp.gamma(k + 1 - ALPHA) * h ** (k - ALPHA)))


def constant_rule_residual(side: int) -> sp.Expr:
    """D^α of a constant, by the definition (f' = 0), at x = c + side·h. The claim: this is 0."""
    x = c_sym + side * h
    definition = caputo_definition(lambda s: sp.diff(sp.Integer(7), s), x, c_sym, ALPHA)
    return sp.simplify(evaluate(definition, t_sym, c_sym + side * h * t_sym))


def identity_normaliser(x, c, alpha) -> sp.Expr:
    """D^α I(x) = sign(x−c)|x−c|^(1−α)/Γ(2−α) (THEORY.md §1.1)."""
    return sp.sign(x - c) * sp.Abs(x - c) ** (1 - alpha) / sp.gamma(2 - alpha)


def identity_normaliser_residuals(side: int) -> tuple[sp.Expr, sp.Expr]:
    """(D^α I − sign(x−c)|x−c|^(1−α)/Γ(2−α), D^(1+α) I) at x = c + side·h, by the definitions (derived)."""
    x = c_sym + side * h
    mapping = c_sym + side * h * t_sym
    first = evaluate(caputo_definition(lambda s: sp.diff(s, s), x, c_sym, ALPHA), t_sym, mapping)
    second = evaluate(caputo_definition(lambda s: sp.diff(s, s, 2), x, c_sym, ALPHA, True), t_sym, mapping)
    return (sp.simplify(sp.gammasimp(first - identity_normaliser(x, c_sym, ALPHA))), sp.simplify(second))


def _integrand_on_unit_interval(integral_expr: sp.Expr, x, c) -> sp.Expr:
    """The integrand in u ∈ [−1, 1] after τ = c + (x−c)(1+u)/2, with the orientation made ascending."""
    integral_expr = sp.powsimp(sp.expand(integral_expr))
    integrals = list(integral_expr.atoms(sp.Integral))
    if len(integrals) != 1:
        raise ValueError("expected exactly one integral")
    integral = integrals[0]
    transformed = integral.transform(tau, (c + (x - c) * (1 + u_sym) / 2, u_sym))
    (_, low, high), = transformed.limits
    integrand = transformed.function * (1 if (low, high) == (-1, 1) else -1)
    if {low, high} != {-1, 1}:
        raise ValueError(f"unexpected limits {low}, {high}")
    return integral_expr.subs(integral, 1) * integrand


def change_of_variables_residual(side: int) -> sp.Expr:
    """Integrand residual of the quadrature form (THEORY.md §1.2) at x = c + side·h, for abstract f', f''.

    The scaled derivative (D^α f + β|x−c| D^(1+α) f)/D^α I written as ∫_{-1}^{1} (…) du, minus
    C_α (1−u)^(−α)[f'(τ(u)) + β (x−c) f''(τ(u))]; 0 means the two integrals agree for every f.
    """
    first, second = sp.Function("fprime"), sp.Function("fsecond")
    x = c_sym + side * h
    normaliser = identity_normaliser(x, c_sym, ALPHA)
    d_alpha = _integrand_on_unit_interval(caputo_definition(first, x, c_sym, ALPHA), x, c_sym)
    d_one_plus = _integrand_on_unit_interval(caputo_definition(second, x, c_sym, ALPHA, True), x, c_sym)
    scaled = (d_alpha + beta_sym * h * d_one_plus) / normaliser
    tau_u = c_sym + (x - c_sym) * (1 + u_sym) / 2
    target = (c_alpha(ALPHA) * (1 - u_sym) ** (-ALPHA)
              * (first(tau_u) + beta_sym * (x - c_sym) * second(tau_u)))
    residual = sp.powsimp(sp.expand_power_base(sp.expand(scaled - target), force=True), force=True)
    return sp.simplify(sp.gammasimp(residual.subs(u_sym, 1 - 2 * t_sym)))


def c_alpha_residual() -> sp.Expr:
    """Γ(2−α)/(Γ(1−α)2^(1−α)) − (1−α)/2^(1−α) (derived: Γ(2−α) = (1−α)Γ(1−α))."""
    return sp.simplify(sp.gammasimp(c_alpha(ALPHA) - (1 - ALPHA) / 2 ** (1 - ALPHA)))


def quadratic_closed_form_residual(side: int) -> sp.Expr:
    """Scaled Caputo derivative of a quadratic along coordinate j minus p + γ r (x − c) (paper Eq. 8 form).

    Along e_j, ∂_j f(τ) = p + r (τ − x) with p = (Ax + b)_j, r = A_jj, and ∂²_jj f = r; the claim is
    D_j f = p + (β − (1−α)/(2−α)) r (x − c), here with x = c + side·h (derived).
    """
    p, r = sp.symbols("p r", real=True)
    x = c_sym + side * h
    mapping = c_sym + side * h * t_sym
    d_alpha = evaluate(caputo_definition(lambda s: p + r * (s - x), x, c_sym, ALPHA), t_sym, mapping)
    d_one_plus = evaluate(caputo_definition(lambda s: r, x, c_sym, ALPHA, True), t_sym, mapping)
    scaled = (d_alpha + beta_sym * h * d_one_plus) / identity_normaliser(x, c_sym, ALPHA)
    gamma_coefficient = beta_sym - (1 - ALPHA) / (2 - ALPHA)
    return sp.simplify(sp.gammasimp(scaled - (p + gamma_coefficient * r * (x - c_sym))))


def single_node_residuals() -> dict[str, sp.Expr]:
    """s = 1 Gauss–Jacobi rule (derived): u₁ is the root of P_1^(−α,0), w₁ = ∫(1−u)^(−α) du, C_α w₁ = 1.

    Returns residuals of u₁ − α/(2−α), w₁ − 2^(1−α)/(1−α), C_α w₁ − 1, and of the exactness of the rule on
    the linear polynomial u (∫(1−u)^(−α) u du − w₁u₁).
    """
    roots = sp.solve(sp.jacobi(1, -ALPHA, 0, u_sym), u_sym)
    if len(roots) != 1:
        raise ValueError(f"P_1 should have one root, got {roots}")
    node = roots[0]
    weight = sp.integrate((1 - u_sym) ** (-ALPHA), (u_sym, -1, 1), conds="none")
    first_moment = sp.integrate((1 - u_sym) ** (-ALPHA) * u_sym, (u_sym, -1, 1), conds="none")
    return {
        "node": sp.simplify(node - ALPHA / (2 - ALPHA)),
        "weight": sp.simplify(weight - 2 ** (1 - ALPHA) / (1 - ALPHA)),
        "c_alpha_weight": sp.simplify(c_alpha(ALPHA) * weight - 1),
        "linear_exactness": sp.simplify(first_moment - weight * node),
    }


# ---------------------------------------------------------------------------------------------------------
# mpmath oracles
# ---------------------------------------------------------------------------------------------------------
def _singularity_free_integral(derivative: Callable, x, c, alpha):
    """∫_0^{|x−c|^(1−α)} g(x − sign(x−c) s^(1/(1−α))) ds, which equals (1−α) ∫ g(τ)|x−τ|^(−α) dτ over
    the interval between c and x (substitution s = |x − τ|^(1−α))."""
    x, c, alpha = mp.mpf(x), mp.mpf(c), mp.mpf(alpha)
    side = mp.sign(x - c)
    exponent = 1 / (1 - alpha)
    distance = abs(x - c)
    upper = distance ** (1 - alpha)
    # s = upper·σ, σ ∈ [0, 1], so x − sign·s^(1/(1−α)) = x − sign·|x−c|·σ^(1/(1−α)): the quadrature sees a
    # unit interval whatever |x − c| is (mp.quad's stopping test is absolute, it fails at |x − c| ~ 1e-268)
    # and the integrand is divided by its largest sampled magnitude (the test is absolute in the values too)
    integrand = lambda sigma: derivative(x - side * distance * sigma ** exponent)  # noqa: E731
    magnitude = max(abs(integrand(mp.mpf(k) / 8)) for k in range(9)) or mp.mpf(1)
    return upper * magnitude * mp.quad(lambda sigma: integrand(sigma) / magnitude, [0, 1])


def caputo_mp(derivative: Callable, x, c, alpha, order_one_plus: bool = False):
    """D^α f(x) (pass f') or, with ``order_one_plus``, D^(1+α) f(x) (pass f''), at the current mp.dps.

    D^α f = sign(x−c)/Γ(2−α) ∫_0^{|x−c|^(1−α)} f'(x − sign(x−c)s^(1/(1−α))) ds; D^(1+α) the same with f''
    and sign +1 (THEORY.md §1.1 after s = |x−τ|^(1−α)). Returns 0 at x = c.
    """
    x, c, alpha = mp.mpf(x), mp.mpf(c), mp.mpf(alpha)
    if x == c:
        return mp.mpf(0)
    sign = 1 if order_one_plus else mp.sign(x - c)
    return sign * _singularity_free_integral(derivative, x, c, alpha) / mp.gamma(2 - alpha)


def identity_normaliser_mp(x, c, alpha):
    """sign(x−c)|x−c|^(1−α)/Γ(2−α)."""
    x, c, alpha = mp.mpf(x), mp.mpf(c), mp.mpf(alpha)
    return mp.sign(x - c) * abs(x - c) ** (1 - alpha) / mp.gamma(2 - alpha)


def scaled_caputo_mp(first: Callable, second: Callable, x, c, alpha, beta):
    """(D^α f + β|x−c| D^(1+α) f)/D^α I at x (THEORY.md §1.1, Shin et al. "Eq. 6"); first = f', second = f''."""
    x, c, beta = mp.mpf(x), mp.mpf(c), mp.mpf(beta)
    numerator = caputo_mp(first, x, c, alpha) + beta * abs(x - c) * caputo_mp(second, x, c, alpha, True)
    return numerator / identity_normaliser_mp(x, c, alpha)


def jacobi_polynomial_coefficients(s: int, a, b) -> list:
    """Coefficients (highest degree first) of P_s^(a,b) as a polynomial in y = (u − 1)/2:
    P_s^(a,b)(u) = Γ(a+s+1)/(s! Γ(a+b+s+1)) Σ_m C(s,m) Γ(a+b+s+m+1)/Γ(a+m+1) y^m (DLMF 18.5.7)."""
    a, b = mp.mpf(a), mp.mpf(b)
    lead = mp.gamma(a + s + 1) / (mp.factorial(s) * mp.gamma(a + b + s + 1))
    coefficients = [lead * mp.binomial(s, m) * mp.gamma(a + b + s + m + 1) / mp.gamma(a + m + 1)
                    for m in range(s + 1)]
    return coefficients[::-1]


def gauss_jacobi_mp(s: int, alpha) -> tuple[list, list]:
    """Cached :func:`gauss_jacobi_rule_mp` at the current mp.dps."""
    return _gauss_jacobi_cached(s, mp.mpf(alpha), mp.mp.dps)


@functools.lru_cache(maxsize=256)
def _gauss_jacobi_cached(s: int, alpha, dps: int) -> tuple[list, list]:
    with mp.workdps(dps):
        return gauss_jacobi_rule_mp(s, alpha)


def gauss_jacobi_rule_mp(s: int, alpha) -> tuple[list, list]:
    """Nodes (ascending) and weights of the s-node rule for (1−u)^(−α) on [−1, 1], at the current mp.dps.

    Nodes: roots of P_s^(−α,0) (mpmath polyroots in y = (u−1)/2, 3× working precision internally).
    Weights: w_i = Γ(s+a+1)Γ(s+b+1)/(Γ(s+a+b+1) s!) 2^(a+b+1) / ((1−u_i²) P_s'(u_i)²), a = −α, b = 0, with
    P_s' = (s+a+b+1)/2 P_{s−1}^(a+1,b+1) (DLMF 18.9.15; Abramowitz–Stegun 25.4.33).
    """
    a, b = -mp.mpf(alpha), mp.mpf(0)
    with mp.workdps(3 * mp.mp.dps):
        roots = mp.polyroots(jacobi_polynomial_coefficients(s, a, b), maxsteps=200, extraprec=4 * mp.mp.dps)
    nodes = sorted(1 + 2 * mp.re(y) for y in roots)
    scale = (mp.gamma(s + a + 1) * mp.gamma(s + b + 1) / (mp.gamma(s + a + b + 1) * mp.factorial(s))
             * mp.power(2, a + b + 1))
    weights = []
    for u in nodes:
        derivative = (s + a + b + 1) / 2 * mp.jacobi(s - 1, a + 1, b + 1, u)
        weights.append(scale / ((1 - u * u) * derivative ** 2))
    return nodes, weights


def jacobi_weighted_integral_mp(g: Callable, alpha):
    """∫_{-1}^{1} (1−u)^(−α) g(u) du = 1/(1−α) ∫_0^{2^(1−α)} g(1 − w^(1/(1−α))) dw (w = (1−u)^(1−α))."""
    alpha = mp.mpf(alpha)
    exponent = 1 / (1 - alpha)
    return mp.quad(lambda w: g(1 - w ** exponent), [0, mp.power(2, 1 - alpha)]) / (1 - alpha)


def quadrature_form_mp(first: Callable, second: Callable, x, c, alpha, beta, nodes: int = 24):
    """C_α Σ_m w_m [f'(τ_m) + β (x−c) f''(τ_m)], τ_m = c + (x−c)(1+u_m)/2, with the mpmath Gauss–Jacobi
    rule of ``nodes`` nodes (THEORY.md §1.2): for entire f', f'' the error decays faster than geometrically."""
    x, c, alpha, beta = mp.mpf(x), mp.mpf(c), mp.mpf(alpha), mp.mpf(beta)
    points, weights = gauss_jacobi_mp(nodes, alpha)
    c_a = (1 - alpha) / mp.power(2, 1 - alpha)
    total = mp.fsum(w * (first(c + (x - c) * (1 + u) / 2) + beta * (x - c) * second(c + (x - c) * (1 + u) / 2))
                    for u, w in zip(points, weights))
    return c_a * total


def exp_caputo_closed_form(lam, x, c, alpha):
    """D^α e^(λτ) at x > c: λ^α e^(λx) γ(1−α, λ(x−c))/Γ(1−α), λ > 0 (derived: substitute σ = x − τ
    in the definition; γ the lower incomplete gamma function)."""
    lam, x, c, alpha = mp.mpf(lam), mp.mpf(x), mp.mpf(c), mp.mpf(alpha)
    return lam ** alpha * mp.exp(lam * x) * mp.gammainc(1 - alpha, 0, lam * (x - c)) / mp.gamma(1 - alpha)


def jacobi_remainder_mp(s: int, alpha):
    """∫(1−u)^(−α) π_s(u)² du = μ₀ Π_{k=1}^{s} β_k for the monic orthogonal π_s (β_k the squared
    off-diagonal recurrence coefficients, k = s included). It is the error ∫ − Q of the s-node rule on
    (1−u)^(2s) (derived: the Gauss remainder is f^(2s)(ξ)/(2s)! ‖π_s‖², and f^(2s)/(2s)! = 1 here)."""
    a, b = -mp.mpf(alpha), mp.mpf(0)
    total = mp.power(2, a + b + 1) * mp.gamma(a + 1) * mp.gamma(b + 1) / mp.gamma(a + b + 2)
    for n in range(1, s + 1):
        sigma = 2 * n + a + b
        total *= 4 * n * (n + a) * (n + b) * (n + a + b) / (sigma ** 2 * (sigma + 1) * (sigma - 1))
    return total
