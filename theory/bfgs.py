"""Symbolic derivations for BFGS with coordinate-wise step sizes (THEORY.md §2.1), with sympy (no torch).

Each function returns sympy objects that a check simplifies to zero or compares with an interval.
"""

from __future__ import annotations

import sympy as sp


def symmetric_matrix(name: str, n: int) -> sp.Matrix:
    """A generic symmetric n×n matrix of symbols name_ij (i ≤ j)."""
    symbols = {}
    for i in range(n):
        for j in range(i, n):
            symbols[(i, j)] = symbols[(j, i)] = sp.Symbol(f"{name}_{i}{j}", real=True)
    return sp.Matrix(n, n, lambda i, j: symbols[(i, j)])


def symbolic_inverse_bfgs_update(n: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix, sp.Matrix]:
    """(H, s, y, H⁺) with generic symmetric H, symbols s, y and H⁺ = (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ, ρ = 1/(yᵀs)."""
    H = symmetric_matrix("h", n)
    s = sp.Matrix(sp.symbols(f"s0:{n}", real=True))
    y = sp.Matrix(sp.symbols(f"y0:{n}", real=True))
    rho = 1 / (y.T * s)[0, 0]
    eye = sp.eye(n)
    return H, s, y, (eye - rho * s * y.T) * H * (eye - rho * y * s.T) + rho * s * s.T


def inverse_bfgs_secant_residual(n: int = 3) -> sp.Matrix:
    """H⁺y − s for H⁺ = (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ, ρ = 1/(yᵀs), generic symmetric H (derived, N&W Eq. 6.17).

    Simplifies to the zero vector: the secant equation holds for every H, s, y with yᵀs ≠ 0.
    """
    _, s, y, H_plus = symbolic_inverse_bfgs_update(n)
    return sp.simplify(H_plus * y - s)


def inverse_bfgs_curvature_along_y(n: int = 2) -> sp.Expr:
    """yᵀH⁺y − yᵀs (derived): zero, so yᵀs ≤ 0 makes H⁺ not positive definite (y is a witness)."""
    _, s, y, H_plus = symbolic_inverse_bfgs_update(n)
    return sp.simplify((y.T * H_plus * y)[0, 0] - (y.T * s)[0, 0])


def exact_hessian_error_map(n: int = 2) -> sp.Matrix:
    """e⁺ − (I − P)e for f = ½(x − x*)ᵀA(x − x*) + c, x⁺ = x − P A⁻¹ ∇f(x), e = x − x* (D4, derived).

    Simplifies to the zero vector for a generic symmetric invertible A and diagonal P.
    """
    A = symmetric_matrix("a", n)
    P = sp.diag(*sp.symbols(f"p0:{n}", real=True))
    x = sp.Matrix(sp.symbols(f"x0:{n}", real=True))
    x_star = sp.Matrix(sp.symbols(f"z0:{n}", real=True))
    gradient = A * (x - x_star)
    x_next = x - P * A.inv() * gradient
    return sp.simplify((x_next - x_star) - (sp.eye(n) - P) * (x - x_star))


def coordinate_contraction_sets() -> tuple[sp.Set, sp.Set]:
    """({p : |1 − p| < 1}, {p : |1 − p| ≤ 1}) over the reals: (Interval.open(0, 2), Interval(0, 2)) (D4)."""
    p = sp.Symbol("p", real=True)
    strict = sp.solveset(sp.Abs(1 - p) < 1, p, sp.S.Reals)
    weak = sp.solveset(sp.Abs(1 - p) <= 1, p, sp.S.Reals)
    return strict, weak


def descent_split(n: int = 2) -> sp.Expr:
    """gᵀPHg − [gᵀHg + gᵀ(P − I)Hg]: zero (the identity behind D1; the bound then uses
    gᵀHg ≥ λ_min‖g‖² and |gᵀ(P − I)Hg| ≤ δλ_max‖g‖²)."""
    H = symmetric_matrix("h", n)
    P = sp.diag(*sp.symbols(f"p0:{n}", real=True))
    g = sp.Matrix(sp.symbols(f"g0:{n}", real=True))
    return sp.expand((g.T * P * H * g)[0, 0] - ((g.T * H * g)[0, 0] + (g.T * (P - sp.eye(n)) * H * g)[0, 0]))


def sufficient_decrease_gap_1d() -> sp.Expr:
    """For d = 1, f = (L/2)x², H = h, p ≥ 1 (δ = p − 1): the D2 bound minus f(x⁺) (derived).

    D2: f(x⁺) ≤ f(x) − [h − δh − (L/2)(1 + δ)²h²]g². In 1-D with p ≥ 1 the gap is 2δh g² ≥ 0 from the
    first term (c = λ_min − δλ_max is loose by δh + δh) while the curvature term is exact; with p = 1
    (δ = 0) the gap is 0, so D2 is attained (tight) at P = I.
    """
    L, h, p, x = sp.symbols("L h p x", positive=True)
    g = L * x
    delta = p - 1
    f_next = L / 2 * (x - p * h * g) ** 2
    bound = L / 2 * x ** 2 - (h - delta * h - L / 2 * (1 + delta) ** 2 * h ** 2) * g ** 2
    return sp.simplify(bound - f_next)
