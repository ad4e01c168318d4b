"""Math-L2O bounds as functions of plain numbers, with sympy checks of their algebra (no torch).

Sources: THEORY.md §3.1. The GD bound is standard (Nesterov 2004, Thm 2.1.14; paper Eqs. 9–10). Eqs. 13–14,
Theorem 4.3's rate and the lemma chain are RECONSTRUCTED here in the one-wide-layer NTK style of Nguyen &
Mondelli (2020): see theory/mathl2o_derivation.md for the statements and proofs. Notation:
  r(θ) = vec(𝐌X_T − Y), 𝓕 = ½‖r‖², J = ∂r/∂θ, J_L = ∂r/∂W_L, θ_{k+1} = θ_k − η∇𝓕(θ_k),
  μ₀ = λ_min(J_L J_Lᵀ) at θ₀, Γ ≥ sup_B ‖J‖₂, Λ ≥ Lipschitz constant of J on the ball B = B(θ₀, R).
"""

from __future__ import annotations

import math

import sympy as sp

ONE_MINUS_INV_SQRT2 = 1.0 - 1.0 / math.sqrt(2.0)
#: max |σ''| = 1/(6√3) (at σ = ½ ± 1/(2√3)) and max |σ'''| = 1/8 (at 0) for the logistic σ: checked by
#: derive_sigmoid_bounds(); they bound the curvature of P = 2σ(o) in implementations.mathl2o.certified.
SIGMOID_D2_MAX = 1.0 / (6.0 * math.sqrt(3.0))
SIGMOID_D3_MAX = 1.0 / 8.0
#: x* = 2·arccosh(2^{1/4}): the uniform logit shift at which 4σ'(x) = sech²(x/2) falls to 1/√2, i.e. where
#: σ_min(J_L) has lost the factor 1/√2 that Eq. 13 allows on its ball (derivation §7).
UNIFORM_SHIFT_LIMIT = 2.0 * math.acosh(2.0 ** 0.25)


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    ok = value >= 0 if allow_zero else value > 0
    if not (isinstance(value, (int, float)) and math.isfinite(value) and ok):
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


def gd_sublinear_bound(beta: float, dist_sq: float, T: int, step_scale: float = 1.0) -> float:
    """F(x_T) − F* ≤ β‖x₀ − x*‖²/(2·c·T) for GD with step c/β, 0 < c ≤ 1 (standard; Nesterov Thm 2.1.14)."""
    _positive("beta", beta)
    _positive("dist_sq", dist_sq, allow_zero=True)
    if not 0 < step_scale <= 1:
        raise ValueError(f"step_scale must lie in (0, 1], got {step_scale}")
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an int >= 1, got {T!r}")
    return beta * dist_sq / (2.0 * step_scale * T)


def gd_quadratic_worst_ratio(T: int) -> float:
    """sup over convex quadratics of (f(x_T) − f*)/(β‖x₀−x*‖²/(2cT)) for GD with step c/β (derived).

    Along an eigen-direction with u = cλ/β: f(x_T) − f* = ½λ(1−u)^{2T}‖x₀−x*‖², so the ratio is
    T·u(1−u)^{2T}, maximal at u = 1/(2T+1): T(2T)^{2T}/(2T+1)^{2T+1} → 1/(2e) (independent of c).
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an int >= 1, got {T!r}")
    return math.exp(math.log(T) + 2 * T * math.log(2 * T) - (2 * T + 1) * math.log(2 * T + 1))


def derive_gd_quadratic_worst_ratio() -> dict[str, sp.Expr]:
    """sympy: the stationary point of u(1−u)^{2T} on (0,1) is u = 1/(2T+1) and the maximum value there."""
    u, T = sp.symbols("u T", positive=True)
    g = u * (1 - u) ** (2 * T)
    stationary = sp.solve(sp.Eq(sp.simplify(sp.diff(g, u) / (1 - u) ** (2 * T - 1)), 0), u)
    value = sp.simplify(T * g.subs(u, stationary[0]))
    return {"stationary": stationary[0], "worst_ratio": value}


def ball_radius(gamma: float, loss0: float, mu0: float) -> float:
    """R = 4Γ√(2𝓕₀)/μ₀: the SGD iterates stay in B(θ₀, R) while 𝓕_k ≤ (1 − ημ₀/2)^k 𝓕₀ (reconstructed)."""
    _positive("gamma", gamma, allow_zero=True)
    _positive("loss0", loss0, allow_zero=True)
    _positive("mu0", mu0)
    return 4.0 * gamma * math.sqrt(2.0 * loss0) / mu0


def eq13_margin(mu0: float, gamma: float, lipschitz: float, loss0: float) -> float:
    """Reconstructed Eq. 13: (1 − 1/√2)√μ₀ − Λ·R ≥ 0 with R = 4Γ√(2𝓕₀)/μ₀; then σ_min(J_L) ≥ √(μ₀/2) on B.

    Equivalently μ₀^{3/2} ≥ 4ΛΓ√(2𝓕₀)/(1 − 1/√2). Returns the margin (≥ 0 ⇔ the condition holds); −inf for μ₀ = 0.
    """
    _positive("mu0", mu0, allow_zero=True)
    _positive("lipschitz", lipschitz, allow_zero=True)
    if mu0 == 0:
        return -math.inf
    return ONE_MINUS_INV_SQRT2 * math.sqrt(mu0) - lipschitz * ball_radius(gamma, loss0, mu0)


def eq13_required_mu0(gamma: float, lipschitz: float, loss0: float) -> float:
    """The smallest μ₀ satisfying reconstructed Eq. 13: (4ΛΓ√(2𝓕₀)/(1 − 1/√2))^{2/3}."""
    _positive("gamma", gamma, allow_zero=True)
    _positive("lipschitz", lipschitz, allow_zero=True)
    _positive("loss0", loss0, allow_zero=True)
    return (4.0 * lipschitz * gamma * math.sqrt(2.0 * loss0) / ONE_MINUS_INV_SQRT2) ** (2.0 / 3.0)


def eq13_alpha0_required(mu_required: float, sigma_last: float, tail: float) -> float:
    """Reconstructed α₀ form of Eq. 13: α₀ ≥ (√μ_req + Σ_{t<T}‖K_t‖‖G_t‖)/σ_min(K_T).

    At θ₀ (W_L = 0) J_L = Σ_t K_t G_t with K_t = −𝐌Φ_{T,t} S diag(g_{t−1})/2; Weyl and σ_min(K_T G_T) ≥
    σ_min(K_T)·α₀ (needs N·d ≤ H) give √μ₀ ≥ σ_min(K_T)α₀ − tail. Returns inf when σ_min(K_T) = 0.
    """
    _positive("mu_required", mu_required, allow_zero=True)
    _positive("tail", tail, allow_zero=True)
    _positive("sigma_last", sigma_last, allow_zero=True)
    if sigma_last == 0:
        return math.inf
    return (math.sqrt(mu_required) + tail) / sigma_last


def smoothness_constant(gamma: float, lipschitz: float, loss: float) -> float:
    """C = Γ² + Λ√(2𝓕): 𝓕(θ') ≤ 𝓕(θ) + ⟨∇𝓕(θ), θ'−θ⟩ + (C/2)‖θ'−θ‖² on B (reconstructed Lemma 4.2)."""
    _positive("gamma", gamma, allow_zero=True)
    _positive("lipschitz", lipschitz, allow_zero=True)
    _positive("loss", loss, allow_zero=True)
    return gamma ** 2 + lipschitz * math.sqrt(2.0 * loss)


def eq14_lr_bound(gamma: float, lipschitz: float, loss0: float) -> float:
    """Reconstructed Eq. 14: η ≤ 1/(Γ² + Λ√(2𝓕₀)) (then each SGD step decreases 𝓕 by ≥ (η/2)‖∇𝓕‖²)."""
    return 1.0 / smoothness_constant(gamma, lipschitz, loss0)


def thm43_rate(eta: float, mu0: float) -> float:
    """Reconstructed Theorem 4.3: 𝓕_k ≤ ρ^k 𝓕₀ with ρ = 1 − ημ₀/2 under Eqs. 13–14."""
    _positive("eta", eta)
    _positive("mu0", mu0, allow_zero=True)
    return 1.0 - eta * mu0 / 2.0


def paper_rate(eta: float, beta0: float, beta: float, delta4: float, alpha0: float) -> float:
    """The paper's Theorem 4.3 form (secondary sources): 1 − 4η(β₀²/β²)δ₄α₀² (constants not re-derived)."""
    return 1.0 - 4.0 * eta * (beta0 ** 2 / beta ** 2) * delta4 * alpha0 ** 2


def lemma5_orders(T: int, L: int) -> dict[str, float]:
    """Orders (no constants) of the minimum e of Lemmas 5.1–5.4 (paper, via THEORY.md §3.1).

    5.1: T^{1/(L−1)}; 5.2: T^{(3T+6)/(TL−T−4L+6)}; 5.3: T^{4/(L−1)}; 5.4: T^{5/(L−1)}·L^{1/(L−1)}.
    5.2's exponent is undefined (denominator ≤ 0) for small T·L; it is returned as nan then.
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an int >= 1, got {T!r}")
    if isinstance(L, bool) or not isinstance(L, int) or L < 2:
        raise ValueError(f"L must be an int >= 2, got {L!r}")
    denominator = T * L - T - 4 * L + 6
    return {
        "lemma5.1": T ** (1.0 / (L - 1)),
        "lemma5.2": T ** ((3 * T + 6) / denominator) if denominator > 0 else math.nan,
        "lemma5.3": T ** (4.0 / (L - 1)),
        "lemma5.4": T ** (5.0 / (L - 1)) * L ** (1.0 / (L - 1)),
    }


def derive_chain() -> dict[str, sp.Expr]:
    """sympy checks of the algebraic steps of the reconstructed proof (theory/mathl2o_derivation.md).

    - expansion: ½‖r+Δr‖² − ½‖r‖² − ⟨r, JΔ⟩ − ⟨r, E⟩ − ½‖Δr‖² = 0 when Δr = JΔ + E (scalar surrogate);
    - descent: with η ≤ 1/C, −η + Cη²/2 ≤ −η/2 (the difference −η/2 + Cη²/2 at η = 1/C is 0 and increasing);
    - radius: 1 − √(1−x) ≥ x/2 on [0, 1] (its difference is 0 at x = 0 and has a non-negative derivative);
    - weight scaling: G ∝ e^{L−1} at θ₀ so μ₀(e) = e^{2(L−1)} μ₀(1).
    Each returned expression must simplify to 0 (or be a non-negative derivative, named *_derivative).
    """
    r, j, delta, err, eta, C, x, e, L, mu1 = sp.symbols("r j delta E eta C x e L mu1", real=True)
    dr = j * delta + err
    expansion = sp.expand(sp.Rational(1, 2) * (r + dr) ** 2 - sp.Rational(1, 2) * r ** 2 - r * j * delta
                          - r * err - sp.Rational(1, 2) * dr ** 2)
    descent_at_bound = sp.simplify((-eta + C * eta ** 2 / 2 + eta / 2).subs(eta, 1 / C))
    radius_gap = 1 - sp.sqrt(1 - x) - x / 2
    radius_derivative = sp.simplify(sp.diff(radius_gap, x))
    mu_scaling = sp.simplify((e ** (L - 1)) ** 2 * mu1 - e ** (2 * (L - 1)) * mu1)
    return {"expansion": expansion, "descent_at_bound": descent_at_bound,
            "radius_at_zero": radius_gap.subs(x, 0), "radius_derivative": radius_derivative,
            "mu_scaling": mu_scaling}


def derive_sigmoid_bounds() -> dict[str, sp.Expr]:
    """sympy: every derivative of σ(x) = 1/(1 + e^{−x}) is a polynomial in s = σ(x) ∈ (0, 1): σ' = s(1 − s),
    σ'' = σ'(1 − 2s), σ''' = σ'(1 − 6s + 6s²). Their extrema over x are at the roots in (0, 1) of the next
    derivative (d/dx = σ'·d/ds, σ' > 0): |σ''| is largest, 1/(6√3), at s = ½ ± 1/(2√3); |σ'''| is largest, 1/8,
    at s = ½ (x = 0; its other critical points give 1/24); and sech²(x/2) = 4σ'(x) = 1/√2 at
    x = 2 arccosh(2^{1/4}). Returns the values a test compares with the module's constants."""
    s = sp.symbols("s", positive=True)
    d1 = s * (1 - s)
    d2 = d1 * (1 - 2 * s)
    d3 = d1 * (1 - 6 * s + 6 * s ** 2)
    d2_critical = [r for r in sp.solve(sp.diff(d2, s), s) if r.is_real and 0 < r < 1]
    d3_critical = [r for r in sp.solve(sp.diff(d3, s), s) if r.is_real and 0 < r < 1]
    x = sp.symbols("x", positive=True)
    shift = sp.solve(sp.Eq(4 * sp.exp(-x) / (1 + sp.exp(-x)) ** 2, 1 / sp.sqrt(2)), x)
    return {"d2_max": sp.simplify(max(sp.Abs(d2.subs(s, r)) for r in d2_critical)),
            "d3_values": sorted(sp.simplify(sp.Abs(d3.subs(s, r))) for r in d3_critical),
            "uniform_shift": sorted(shift, key=lambda v: float(v)) if shift else []}


def eq13_t1_necessary_ratio() -> float:
    """x*/8 ≈ 0.15: at T = 1 (depth 2, step-1 features of full row rank) the reconstructed Eq. 13 implies
    ‖r₀‖ ≤ (x*/8)·‖Y + r₀‖ (derivation §7), r₀ the residual after one GD step from X₀ = 0."""
    return UNIFORM_SHIFT_LIMIT / 8.0


def eq13_t1_relative_loss_limit() -> float:
    """The largest 𝓕₀/(½‖Y‖²) that the T = 1 necessary condition allows: with q = x*/8, ‖r₀‖ ≤ q(‖Y‖ + ‖r₀‖)
    gives ‖r₀‖/‖Y‖ ≤ q/(1 − q), so 𝓕₀/(½‖Y‖²) ≤ (q/(1 − q))²."""
    q = eq13_t1_necessary_ratio()
    return (q / (1.0 - q)) ** 2
