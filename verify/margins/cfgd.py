"""Margins of the CFGD conditions (THEORY.md §1.2–1.3) on one instance; positive means violated by that much.

Every tolerance is derived from the working precision: eps and the underflow unit of the dtype the
implementation computed in (:func:`precision`; 2^-52 and 2^-1074 in float64), or the mpmath precision
(ORACLE_DPS digits) of an oracle.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import torch

from implementations.cfgd.caputo import caputo_constant, caputo_gradient, coordinate_derivatives
from implementations.cfgd.gauss_jacobi import gauss_jacobi
from implementations.cfgd.hutchinson import hutchinson_estimate
from implementations.cfgd.quadratic import at_cfgd, gamma, quadratic_direction
from theory import cfgd as theory

EPS = float(np.finfo(np.float64).eps)


# each rounded float64 operation errs by at most eps·|result| + UNDERFLOW (gradual underflow: subnormal results
# carry an absolute error up to half the smallest subnormal); every round-off bound below includes both terms
UNDERFLOW = 2.0 ** -1074


ORACLE_DPS = 40


def precision(tensor: torch.Tensor) -> tuple[float, float]:
    """(eps, smallest subnormal) of ``tensor``'s dtype: the round-off units of the bounds below, EPS and UNDERFLOW
    in float64 (2^-23 and 2^-149 in float32)."""
    info = torch.finfo(tensor.dtype)
    return float(info.eps), float(info.smallest_normal * info.eps)


def rounded(value, like: torch.Tensor) -> np.ndarray:
    """``value`` rounded to ``like``'s dtype, as a float64 numpy array: an instance as a check in that dtype sees
    it (the identity in float64)."""
    host = torch.as_tensor(np.asarray(value, dtype=float), dtype=torch.float64, device="cpu")
    return host.to(like.dtype).double().numpy()


def quadrature_direction_affine(gradient: np.ndarray, x: np.ndarray, c: np.ndarray, alpha: np.ndarray,
                                beta: np.ndarray, s: int, dtype: torch.dtype = torch.float64,
                                device: torch.device | str | None = None) -> torch.Tensor:
    """The s-node Gauss–Jacobi form of §1.2 for an affine f (∂_j f ≡ g_j, ∂²f ≡ 0), in torch (``dtype`` on
    ``device``, default float64 on the CPU): C_α Σ_m w_m [g_j + β_j (x_j − c_j)·0]."""
    like = dict(dtype=dtype, device=device)
    alpha_t = torch.as_tensor(alpha, **like)
    _, weights = gauss_jacobi(s, alpha_t)
    c_alpha = (1 - alpha_t) / torch.pow(2.0, 1 - alpha_t)
    g = torch.as_tensor(gradient, **like)
    curvature = torch.zeros_like(g)
    integrand = g.unsqueeze(-1) + (torch.as_tensor(beta, **like) * torch.as_tensor(x - c, **like)
                                   * curvature).unsqueeze(-1)
    return c_alpha * (weights * integrand).sum(-1)


def linear_exact_ratios(value: torch.Tensor, gradient: torch.Tensor, s: int) -> torch.Tensor:
    """max_j |D_j f − g_j| / (4(s+2)·(eps·|g_j| + 2^-1074)) − 1 over the last dimension (one margin per instance
    of a batch (..., d)): the weights' sum is μ₀(1 + O(s eps)) (orthonormal eigenvectors), plus s+2 rounded
    operations in the weighted sum. ``value`` is the direction of the affine f with gradient ``gradient`` (g in
    the direction's dtype); eps and the underflow unit are that dtype's (:func:`precision`)."""
    eps, underflow = precision(value)
    return ((value - gradient).abs() / (4 * (s + 2) * (eps * gradient.abs() + underflow))).amax(-1) - 1


def linear_exact_margin(instance: dict, direction=quadrature_direction_affine) -> float:
    """:func:`linear_exact_ratios` of one instance (numpy arrays): g as rounded to the direction's dtype."""
    value = direction(instance["gradient"], instance["x"], instance["c"], instance["alpha"], instance["beta"],
                      instance["s"])
    g = torch.as_tensor(rounded(instance["gradient"], value), dtype=value.dtype, device=value.device)
    return float(linear_exact_ratios(value, g, instance["s"]))


def rule_error_bounds(nodes: torch.Tensor, weights: torch.Tensor, alpha: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Round-off bounds for Golub–Welsch in float64 (derived), batched over the leading dimensions of ``nodes``
    and ``weights`` (..., s) and ``alpha`` (...):
    nodes: |Δu| ≤ 4 s eps ‖J‖ with ‖J‖ ≤ 1 (eigvalsh is backward stable, eigenvalues of a symmetric matrix are
    1-Lipschitz in it; the Jacobi matrix's spectrum lies in [−1, 1]);
    weights: w_i = μ₀ v_{0i}², the eigenvector error is ≤ 4 s eps/gap_i (Davis–Kahan, gap_i = distance to the
    nearest other node), so |Δw_i|/w_i ≤ 2·4 s eps/(gap_i √(w_i/μ₀)) + 4 eps (μ₀'s own rounding).
    Returns (node bound, relative weight bounds (..., s))."""
    s = nodes.shape[-1]
    node_bound = 4 * s * EPS
    if s == 1:
        return node_bound, torch.full_like(weights, 4 * EPS)
    distance = (nodes.unsqueeze(-1) - nodes.unsqueeze(-2)).abs()
    eye = torch.eye(s, dtype=torch.bool, device=nodes.device)
    gaps = distance.masked_fill(eye, torch.inf).amin(-1)
    mu0 = (torch.pow(2.0, 1 - alpha) / (1 - alpha)).unsqueeze(-1)
    return node_bound, 8 * s * EPS / (gaps * torch.sqrt(weights / mu0)) + 4 * EPS


def gauss_jacobi_error_bounds(nodes: torch.Tensor, weights: torch.Tensor, alpha: float) -> tuple[float, np.ndarray]:
    """:func:`rule_error_bounds` of one rule (nodes, weights of shape (s,), a float α), the weight bounds as a
    numpy array."""
    node_bound, weight_bound = rule_error_bounds(nodes, weights, torch.as_tensor(alpha, dtype=nodes.dtype,
                                                                                  device=nodes.device))
    return node_bound, weight_bound.cpu().numpy()


def jacobi_quadrature_terms(coefficients: torch.Tensor, nodes: torch.Tensor, weights: torch.Tensor,
                            alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For p(u) = Σ_m a_m (1−u)^m (coefficients (..., M)) and a rule (nodes, weights (..., s), α (...)), batched:
    (Q = Σ_i w_i p(u_i), derived round-off bound of Q − I), both of shape (...).

    Bound: Σ_i w_i [|p(u_i)|(δw_i + (deg+2) eps) + |p'(u_i)| δu + (deg+2)·2^-1074] with δu, δw_i from
    :func:`rule_error_bounds` (Horner-free power evaluation: deg+2 rounded operations per node)."""
    node_bound, weight_bound = rule_error_bounds(nodes, weights, alpha)
    degree = coefficients.shape[-1] - 1
    exponents = torch.arange(degree + 1, dtype=nodes.dtype, device=nodes.device)
    base = (1 - nodes).unsqueeze(-1)
    a = coefficients.unsqueeze(-2)
    values = (a * base ** exponents).sum(-1)
    derivative = -(a * exponents * base ** (exponents - 1).clamp(min=0)).sum(-1)
    quadrature = (weights * values).sum(-1)
    bound = (weights * (values.abs() * (weight_bound + (degree + 2) * EPS) + derivative.abs() * node_bound
                        + (degree + 2) * UNDERFLOW)).sum(-1)
    return quadrature, bound


def jacobi_quadrature_error(coefficients: np.ndarray, alpha: float, s: int, like: dict | None = None,
                            rule=gauss_jacobi) -> tuple[float, float, float]:
    """For p(u) = Σ_m a_m (1−u)^m: (Q − I, derived round-off bound, |I|), Q the s-node float64 rule (computed
    with the ``dtype=`` and ``device=`` of ``like``, default float64 on the CPU; Q and its bound by
    :func:`jacobi_quadrature_terms`) and I = Σ_m a_m 2^(m+1−α)/(m+1−α) exactly (mpmath, 40 digits).
    ``rule(s, alpha)`` → (nodes, weights): the implementation under test (default
    implementations.cfgd.gauss_jacobi).
    """
    nodes, weights = rule(s, alpha if like is None else torch.as_tensor(alpha, **like))
    quadrature, bound = jacobi_quadrature_terms(torch.as_tensor(np.asarray(coefficients, dtype=float),
                                                                dtype=nodes.dtype, device=nodes.device),
                                                nodes, weights, torch.as_tensor(alpha, dtype=nodes.dtype,
                                                                                device=nodes.device))
    with mp.workdps(ORACLE_DPS):
        a = mp.mpf(alpha)
        exact = mp.fsum(mp.mpf(float(coef)) * mp.power(2, m + 1 - a) / (m + 1 - a)
                        for m, coef in enumerate(coefficients))
        return float(mp.mpf(float(quadrature)) - exact), float(bound), float(abs(exact))


def exactness_margin(instance: dict, like: dict | None = None, rule=gauss_jacobi) -> float:
    """|Q − I|/bound − 1 for a polynomial of degree ≤ 2s − 1 (positive: the rule is not exact); ``like`` and
    ``rule``: as in :func:`jacobi_quadrature_error`."""
    error, bound, _ = jacobi_quadrature_error(instance["coefficients"], instance["alpha"], instance["s"], like,
                                              rule)
    return abs(error) / bound - 1


def closed_form_margin(instance: dict, direction=quadratic_direction, dps: int = 30, like: dict | None = None) -> float:
    """max_j |D_j(working dtype) − D_j(mpmath definition along e_j)|/tol_j − 1, with
    tol_j = 2(d+4) eps (Σ_k |A_jk x_k| + |b_j| + (|β_j| + (1−α_j)/(2−α_j)) |A_jj (x_j − c_j)|): rounded sums of
    d+3 terms, where γ_j = β_j − (1−α_j)/(2−α_j) is itself a rounded difference, so its error scales with the
    magnitudes of both parts, not with |γ_j| (the full budget found β = 0.5, α = 1/32, where γ ≈ 0.008 comes
    from cancelling 0.5 − 0.492 and a bound scaled by |γ_j| was exceeded 1.6-fold).
    ``like``: the ``dtype=`` and ``device=`` D is computed with (default float64 on the CPU); eps and the
    underflow unit are that dtype's, and the oracle sees the instance as rounded to it."""
    like = {"dtype": torch.float64, "device": "cpu"} if like is None else like
    tensors = [torch.as_tensor(np.asarray(instance[k], dtype=float), **like)
               for k in ("A", "b", "x", "alpha", "beta", "c")]
    value = direction(*tensors)
    eps, underflow = precision(value)
    value = value.cpu().numpy()
    A, b, x, alpha, beta, c = (t.double().cpu().numpy() for t in tensors)
    d = len(x)
    gamma_parts = (np.abs(beta) + (1 - alpha) / (2 - alpha)) * np.abs(np.diag(A))
    margins = []
    with mp.workdps(dps):
        for j in range(d):
            if x[j] == c[j]:
                continue  # D^α I(x_j) = 0: the scaled derivative is undefined at x_j = c_j
            p = mp.fsum(mp.mpf(A[j, k]) * mp.mpf(x[k]) for k in range(d)) + mp.mpf(b[j])
            r = mp.mpf(A[j, j])
            xj = mp.mpf(x[j])
            oracle = theory.scaled_caputo_mp(lambda s, p=p, r=r, xj=xj: p + r * (s - xj), lambda s, r=r: r, xj,
                                             mp.mpf(c[j]), mp.mpf(alpha[j]), mp.mpf(beta[j]))
            scale = np.sum(np.abs(A[j] * x)) + abs(b[j]) + gamma_parts[j] * abs(x[j] - c[j])
            margins.append(abs(value[j] - float(oracle)) / (2 * (d + 4) * (eps * scale + underflow)) - 1)
    return max(margins, default=-1.0)


def heavy_ball_step(A: torch.Tensor, b: torch.Tensor, x: torch.Tensor, x_prev: torch.Tensor, gamma_r: torch.Tensor,
                    lr) -> torch.Tensor:
    """x⁺ = x − η(Ax + b) − η G (x − x_prev), G = diag(γ⊙r) (THEORY.md §1.3, heavy-ball form); batched: A (..., d, d)
    with x, x_prev (..., d) (any further leading dimensions of x broadcast against A's) and η a number or a
    tensor that broadcasts against x."""
    return x - lr * ((x.unsqueeze(-2) @ A).squeeze(-2) + b) - lr * gamma_r * (x - x_prev)


def heavy_ball_margins(A: torch.Tensor, b: torch.Tensor, x0: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor,
                       lr_fraction: torch.Tensor, runner=at_cfgd, steps: int = 40) -> torch.Tensor:
    """:func:`heavy_ball_margin` of a batch of instances (A (..., d, d) SPD, b, x0, α, β (..., d), the step-size
    fractions (...)), one margin per instance, in A's dtype (its eps and underflow unit) on A's device: the run
    ``runner(A, b, x0, α, β, η, steps)`` with η = fraction/(λ_max(A) + max|γr|) per instance, every step
    compared with the heavy-ball step at the visited states."""
    eps, underflow = precision(A)
    gamma_r = gamma(alpha, beta) * torch.diagonal(A, dim1=-2, dim2=-1)
    norm_g = gamma_r.abs().amax(-1)
    lr = lr_fraction / (torch.linalg.eigvalsh(A)[..., -1] + norm_g)
    trajectory = runner(A, b, x0, alpha, beta, lr, steps).trajectory
    previous = torch.cat([trajectory[:1], trajectory[:-2]])
    predicted = heavy_ball_step(A, b, trajectory[:-1], previous, gamma_r, lr.unsqueeze(-1))
    norm_a = torch.linalg.matrix_norm(A, 2)
    x_norm, prev_norm = trajectory[:-1].norm(dim=-1), previous.norm(dim=-1)
    scale = x_norm + lr * (norm_a * x_norm + b.norm(dim=-1) + norm_g * (x_norm + prev_norm))
    d = A.shape[-1]
    return ((trajectory[1:] - predicted).norm(dim=-1) / (8 * (d + 4) * (eps * scale + underflow))).amax(0) - 1


def heavy_ball_margin(instance: dict, runner=at_cfgd, steps: int = 40, like: dict | None = None) -> float:
    """max_t ‖x_AT^(t+1) − HB(x_AT^(t), x_AT^(t−1))‖ / (8(d+4)(eps·scale_t + 2^-1074)) − 1, scale_t = ‖x^(t)‖ +
    η(‖A‖‖x^(t)‖ + ‖b‖ + ‖G‖(‖x^(t)‖ + ‖x^(t−1)‖)): each step's identity at the visited states, so round-off
    does not accumulate (derived). x^(−1) = x^(0) (c^(0) = x^(0)). ``like``: the ``dtype=`` and ``device=`` of the
    run (default float64 on the CPU), whose eps and underflow unit the bound uses. One instance of
    :func:`heavy_ball_margins`."""
    like = {"dtype": torch.float64, "device": "cpu"} if like is None else like
    tensors = [torch.as_tensor(np.asarray(instance[k], dtype=float), **like)
               for k in ("A", "b", "x0", "alpha", "beta", "lr_fraction")]
    return float(heavy_ball_margins(*tensors, runner=runner, steps=steps))


def all_rademacher_vectors(d: int, dtype=torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    """All 2^d sign vectors, shape (2^d, d), in ``dtype`` on ``device`` (default: the CPU)."""
    codes = torch.arange(2 ** d, device=device).unsqueeze(-1) >> torch.arange(d, device=device)
    return (1 - 2 * (codes & 1)).to(dtype)


def hutchinson_enumeration_margins(H: torch.Tensor, estimate=hutchinson_estimate) -> torch.Tensor:
    """:func:`hutchinson_enumeration_margin` of a batch of symmetric matrices H (..., d, d), one margin per matrix,
    in H's dtype (its eps and underflow unit) on H's device: ``estimate(hvp, probes)`` with the 2^d sign vectors
    as probes of shape (2^d, ..., d) and hvp(V) = H V per matrix."""
    d = H.shape[-1]
    eps, underflow = precision(H)
    signs = all_rademacher_vectors(d, H.dtype, H.device)
    probes = signs.reshape(signs.shape[0], *([1] * (H.dim() - 2)), d).expand(signs.shape[0], *H.shape[:-2], d)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        return torch.einsum("...ij,k...j->k...i", H, v)

    samples = probes * hvp(probes)
    mean = estimate(hvp, probes)
    variance = ((samples - mean) ** 2).mean(0)
    diagonal = torch.diagonal(H, dim1=-2, dim2=-1)
    row_l1 = H.abs().sum(-1)
    off_diagonal = (H ** 2).sum(-1) - diagonal ** 2
    mean_ratio = (mean - diagonal).abs() / (4 * (2 * d) * (eps * row_l1 + underflow))
    variance_ratio = (variance - off_diagonal).abs() / (8 * (2 * d + 4) * (eps * row_l1 ** 2 + underflow))
    return torch.maximum(mean_ratio, variance_ratio).amax(-1) - 1


def hutchinson_enumeration_margin(H: np.ndarray, estimate=hutchinson_estimate, like: dict | None = None) -> float:
    """Over all 2^d probes: max of |mean(v⊙Hv) − diag H| / (8d(eps Σ_i|H_ji| + 2^-1074)) and
    |var(v⊙Hv) − Σ_{i≠j} H_ji²| / (8(2d+4)(eps (Σ_i|H_ji|)² + 2^-1074)), minus 1 (derived: Hv sums d terms of
    size ≤ Σ_i|H_ji|; the mean and variance over 2^d probes are pairwise-summed, adding ≤ d rounding levels).
    ``like``: the ``dtype=`` and ``device=`` of the computation (default float64 on the CPU), whose eps and
    underflow unit the bounds use; H is taken as rounded to that dtype. One matrix of
    :func:`hutchinson_enumeration_margins`."""
    matrix = torch.as_tensor(H, **({"dtype": torch.float64, "device": "cpu"} if like is None else like))
    return float(hutchinson_enumeration_margins(matrix, estimate))


# ---- batched margins of the sweeps (verify.sweep): one value per instance, positive = violated -------------------

def _exponent_error(terms, k) -> torch.Tensor:
    """Absolute error bound of a computed exponent Σ ±t_i (logs, lgammas and their products), derived: each t_i
    carries ≤ 3 rounding errors relative to itself (log or lgamma to 1 ulp — glibc's lgamma is accurate to a few
    ulps, with an absolute error of a few eps near its zeros at 1 and 2 — then a product), the sum ≤ 2 more, and
    the rounded h = |x − c| perturbs log h by eps, times the power k: 4 eps (Σ|t_i| + k + 1)."""
    return 4 * EPS * (sum(t.abs() for t in terms) + k + 1)


def caputo_power_terms(alpha: torch.Tensor, k: torch.Tensor, c: torch.Tensor, x: torch.Tensor, s: int,
                       rule=gauss_jacobi) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """D^α (τ−c)^k at x (batched over α, k, c, x of one shape; k integer-valued in 1..2s), in float64:
    (the definition evaluated by the s-node Gauss–Jacobi rule, the closed form, a round-off bound of their
    difference).

    Definition: D^α f(x) = sign(x−c)/Γ(1−α) ∫ f'(τ)|x−τ|^(−α) dτ over the segment between c and x; with
    τ = c + (x−c)(1+u)/2 it is sign(x−c) (h/2)^(1−α)/Γ(1−α) ∫_{−1}^{1} (1−u)^(−α) f'(τ(u)) du, h = |x − c|
    (derived, THEORY.md §1.2), and for f' = k(τ−c)^(k−1) = k sign^(k−1) h^(k−1) ((1+u)/2)^(k−1) — a polynomial of
    degree k − 1 ≤ 2s − 1, which ``rule(s, α)`` (implementations.cfgd.gauss_jacobi) integrates exactly:
      value = sign^k k (h/2)^(1−α) h^(k−1) Σ_m w_m ((1+u_m)/2)^(k−1) / Γ(1−α).
    Closed form (the power rule, on both sides of c): sign^k Γ(k+1)/Γ(k+1−α) h^(k−α); both as exp of a sum of
    logs and lgammas.
    Bound (derived, first order, times 2): the sum S = Σ w_m p_m has Σ w_m [p_m(δw_m + (k+2) eps) + |p'_m| δu]
    + s eps S (δu, δw_m: :func:`rule_error_bounds`), each exponent :func:`_exponent_error`, exp and the products
    4 eps more."""
    offset = x - c
    h = offset.abs()
    sign = torch.sign(offset)
    nodes, weights = rule(s, alpha)
    node_bound, weight_bound = rule_error_bounds(nodes, weights, alpha)
    power = (k - 1).unsqueeze(-1)
    z = (1 + nodes) / 2
    p = z ** power
    slope = torch.where(power > 0, power * z ** (power - 1).clamp(min=0) / 2, torch.zeros_like(z))
    total = (weights * p).sum(-1)
    total_error = (weights * (p * (weight_bound + (power + 3) * EPS) + slope * node_bound)).sum(-1) + s * EPS * total
    value_terms = ((1 - alpha) * torch.log(h / 2), torch.lgamma(1 - alpha), (k - 1) * torch.log(h))
    value = sign ** k * k * torch.exp(value_terms[0] - value_terms[1] + value_terms[2]) * total
    closed_terms = (torch.lgamma(k + 1), torch.lgamma(k + 1 - alpha), (k - alpha) * torch.log(h))
    closed = sign ** k * torch.exp(closed_terms[0] - closed_terms[1] + closed_terms[2])
    tol = 2 * (value.abs() * (total_error / total + _exponent_error(value_terms, k) + 4 * EPS)
               + closed.abs() * (_exponent_error(closed_terms, k) + 4 * EPS))
    return value, closed, tol + UNDERFLOW


def caputo_power_margins(batch: dict, s: int, rule=gauss_jacobi) -> torch.Tensor:
    """|value − closed form|/bound − 1 of :func:`caputo_power_terms` on a batch (``alpha``, ``k``, ``c``, ``x``)."""
    value, closed, tol = caputo_power_terms(batch["alpha"], batch["k"], batch["c"], batch["x"], s, rule)
    return (value - closed).abs() / tol - 1


def caputo_power_margin(instance: dict, s: int, rule=gauss_jacobi) -> float:
    """One instance (numbers ``alpha``, ``k``, ``c``, ``x``) of :func:`caputo_power_margins` in float64 on the CPU,
    with the closed form replaced by the mpmath definition (theory.cfgd.caputo_mp, ORACLE_DPS digits): the
    implementation's value against an independent oracle, in units of the same bound."""
    tensors = {key: torch.tensor([float(instance[key])], dtype=torch.float64, device="cpu")
               for key in ("alpha", "k", "c", "x")}
    value, _, tol = caputo_power_terms(tensors["alpha"], tensors["k"], tensors["c"], tensors["x"], s, rule)
    k = int(round(float(instance["k"])))
    with mp.workdps(ORACLE_DPS):
        c, x = mp.mpf(float(instance["c"])), mp.mpf(float(instance["x"]))
        definition = theory.caputo_mp(lambda t: k * (t - c) ** (k - 1), x, c, mp.mpf(float(instance["alpha"])))
        return float(abs(mp.mpf(float(value)) - definition) / mp.mpf(float(tol))) - 1


def polynomial_derivative(coefficients: torch.Tensor, z: torch.Tensor, order: int) -> torch.Tensor:
    """d^order/dz^order of Σ_k a_k z^k = Σ_{k≥order} k!/(k−order)! a_k z^(k−order), batched: coefficients (..., K+1),
    z (...)."""
    k = torch.arange(coefficients.shape[-1], dtype=z.dtype, device=z.device)
    falling = torch.ones_like(k)
    for i in range(order):
        falling = falling * (k - i)
    return (coefficients * falling * z.unsqueeze(-1) ** (k - order).clamp(min=0)).sum(-1)


class SeparablePolynomial:
    """f(y) = Σ_i Σ_k a_ik (y_i − c_i)^k: one polynomial per coordinate, so that one call of the scaled Caputo
    gradient on a vector of n coordinates evaluates n independent one-dimensional instances (a sweep's batch).
    Provides the closed-form coordinate partials implementations.cfgd.caputo uses for structured objectives
    (``coordinate_partials``: φ_j' and φ_j'' of φ_j(t) = f(y + t e_j))."""

    has_coordinate_structure = True

    def __init__(self, coefficients: torch.Tensor, centre: torch.Tensor):
        self.coefficients, self.centre = coefficients, centre

    @property
    def dim(self) -> int:
        return self.centre.shape[0]

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return polynomial_derivative(self.coefficients, y - self.centre, 0).sum()

    def coordinate_partials(self, y: torch.Tensor, index: torch.Tensor, t: torch.Tensor,
                            probe_vectors: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if probe_vectors is not None:
            raise ValueError("SeparablePolynomial has no Hutchinson probes (its Hessian is diagonal)")
        z = y[index] + t - self.centre[index]
        return (polynomial_derivative(self.coefficients[index], z, 1),
                polynomial_derivative(self.coefficients[index], z, 2))


def separable_scaled_caputo(coefficients: torch.Tensor, offset: torch.Tensor, alpha: torch.Tensor,
                            beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The scaled Caputo derivative (D^α f + β|x−c| D^(1+α) f)/D^α I of f(τ) = Σ_k a_k (τ−c)^k at x = c + offset
    in closed form, and the sum of its terms' magnitudes (batched: coefficients (..., K+1), the rest (...)).

    From the power rule on both sides, D^α (τ−c)^k = sign^k Γ(k+1)/Γ(k+1−α)|x−c|^(k−α) and
    D^(1+α) (τ−c)^k = sign^k Γ(k+1)/Γ(k−α)|x−c|^(k−1−α) for k ≥ 2 (0 for k = 1), and D^α I = sign|x−c|^(1−α)/Γ(2−α)
    (derived): Σ_{k≥1} a_k (x−c)^(k−1) Π_{i=2}^k i/(i−α) · (1 + β(k−α)[k ≥ 2]) — rational in α, no Γ."""
    k = torch.arange(1, coefficients.shape[-1], dtype=offset.dtype, device=offset.device)
    a = alpha.unsqueeze(-1)
    higher = k >= 2
    factor = torch.cumprod(torch.where(higher, k / (k - a), torch.ones_like(a)), -1)
    smoothing = torch.where(higher, beta.unsqueeze(-1) * (k - a), torch.zeros_like(a))
    powers = offset.unsqueeze(-1) ** (k - 1)
    terms = coefficients[..., 1:] * powers * factor
    magnitude = (terms.abs() * (1 + smoothing.abs())).sum(-1)
    return (terms * (1 + smoothing)).sum(-1), magnitude


def caputo_form_terms(batch: dict, s: int,
                      direction=caputo_gradient) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The scaled Caputo gradient of one-dimensional polynomials f(τ) = Σ_k a_k (τ−c)^k (batch: ``coefficients``
    (n, K+1), ``alpha``, ``beta``, ``c``, ``x`` (n,)), K ≤ 2s so that the integrand f' + β(x−c) f'' is a polynomial of
    degree ≤ 2s − 1 in u: (``direction(f, x, α, β, c, nodes=s)`` — default implementations.cfgd.caputo_gradient on a
    :class:`SeparablePolynomial`, the n instances as its n coordinates —, the closed form
    :func:`separable_scaled_caputo`, a round-off bound of their difference).

    Bound (derived, first order, times 2), with eps and the underflow unit of the direction's dtype:
    quadrature C_α Σ_m w_m [A_m (δw_m + (2K + s + 8) eps) + B_m δz_m], where A_m, B_m are the integrand and its
    z-derivative with every coefficient, β and z_m = τ_m − c in absolute value, δw_m and δu the rule's bounds
    (:func:`rule_error_bounds`) and δz_m = |x−c| δu/2 + 4 eps (|x| + |c| + |x−c|) (τ, the shift τ − x and back);
    closed form (4K + 8) eps times the magnitude of its terms."""
    a, alpha, beta, c, x = (batch[key] for key in ("coefficients", "alpha", "beta", "c", "x"))
    value = direction(SeparablePolynomial(a, c), x, alpha, beta, c, nodes=s)
    offset = x - c
    closed, magnitude = separable_scaled_caputo(a, offset, alpha, beta)
    eps, underflow = precision(value)
    nodes, weights = gauss_jacobi(s, alpha)
    node_bound, weight_bound = rule_error_bounds(nodes.double(), weights.double(), alpha.double())  # float64 units,
    node_bound, weight_bound = node_bound * eps / EPS, (weight_bound * eps / EPS).to(weights.dtype)  # now the dtype's
    z = (offset.unsqueeze(-1) * (1 + nodes) / 2).abs()
    a_abs, smoothing = a.abs().unsqueeze(-2), (beta * offset).abs().unsqueeze(-1)
    integrand = polynomial_derivative(a_abs, z, 1) + smoothing * polynomial_derivative(a_abs, z, 2)
    slope = polynomial_derivative(a_abs, z, 2) + smoothing * polynomial_derivative(a_abs, z, 3)
    delta_z = (offset.abs() * node_bound / 2 + 4 * eps * (x.abs() + c.abs() + offset.abs())).unsqueeze(-1)
    order = a.shape[-1] - 1
    quadrature = caputo_constant(alpha) * (weights * (integrand * (weight_bound + (2 * order + s + 8) * eps)
                                                      + slope * delta_z)).sum(-1)
    tol = 2 * (quadrature + (4 * order + 8) * eps * magnitude) + underflow
    return value, closed, tol


def caputo_form_margins(batch: dict, s: int, direction=caputo_gradient) -> torch.Tensor:
    """|value − closed form|/bound − 1 of :func:`caputo_form_terms`, one margin per instance."""
    value, closed, tol = caputo_form_terms(batch, s, direction)
    return (value - closed).abs() / tol - 1


def caputo_form_oracle(instance: dict, dps: int = ORACLE_DPS):
    """The mpmath definition (theory.cfgd.scaled_caputo_mp, ``dps`` digits) of the scaled Caputo derivative of the
    polynomial instance of :func:`caputo_form_terms` (plain numbers and a coefficient list)."""
    with mp.workdps(dps):
        a = [mp.mpf(float(v)) for v in instance["coefficients"]]
        c = mp.mpf(float(instance["c"]))

        def first(t):
            return mp.fsum(k * a[k] * (t - c) ** (k - 1) for k in range(1, len(a)))

        def second(t):
            return mp.fsum(k * (k - 1) * a[k] * (t - c) ** (k - 2) for k in range(2, len(a)))

        return theory.scaled_caputo_mp(first, second, mp.mpf(float(instance["x"])), c,
                                       mp.mpf(float(instance["alpha"])), mp.mpf(float(instance["beta"])))


def caputo_form_margin(instance: dict, s: int, direction=caputo_gradient) -> float:
    """One instance of :func:`caputo_form_margins` in float64 on the CPU, with the closed form replaced by the
    mpmath definition (:func:`caputo_form_oracle`): the implementation against an independent oracle, in units of
    the same bound."""
    host = {"dtype": torch.float64, "device": "cpu"}
    batch = {key: torch.tensor([float(instance[key])], **host) for key in ("alpha", "beta", "c", "x")}
    batch["coefficients"] = torch.tensor([[float(v) for v in instance["coefficients"]]], **host)
    value, _, tol = caputo_form_terms(batch, s, direction)
    oracle = caputo_form_oracle(instance)
    with mp.workdps(ORACLE_DPS):
        return float(abs(mp.mpf(float(value)) - oracle) / mp.mpf(float(tol))) - 1


class BlockQuadratic:
    """f(y) = Σ_n ½ y_nᵀA_n y_n + b_nᵀy_n for y the concatenation of n blocks y_n of size d (A (n, d, d) symmetric,
    b (n, d)): n independent quadratics as one objective of n·d coordinates, so that one call of the scaled Caputo
    gradient evaluates a sweep's batch. ``coordinate_partials`` (the interface implementations.cfgd.caputo uses for
    structured objectives): φ_j'(t) = (A y + b)_j + t A_jj, φ_j'' = A_jj, and with probes V (K, n·d) the mixed
    partials M[i, k] = (A v_k)_j."""

    has_coordinate_structure = True

    def __init__(self, A: torch.Tensor, b: torch.Tensor):
        self.A, self.b = A, b

    @property
    def dim(self) -> int:
        return self.b.numel()

    def _apply(self, y: torch.Tensor) -> torch.Tensor:
        """A_n y_n for y (..., n·d), flattened back."""
        blocks = y.reshape(*y.shape[:-1], *self.b.shape)
        return torch.einsum("nij,...nj->...ni", self.A, blocks).reshape(y.shape)

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return (0.5 * y * self._apply(y) + self.b.reshape(-1) * y).sum()

    def coordinate_partials(self, y: torch.Tensor, index: torch.Tensor, t: torch.Tensor,
                            probe_vectors: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        curvature = torch.diagonal(self.A, dim1=-2, dim2=-1).reshape(-1)[index]
        first = (self._apply(y) + self.b.reshape(-1))[index] + t * curvature
        if probe_vectors is None:
            return first, curvature
        return first, self._apply(probe_vectors)[:, index].T


def quadratic_form_margins(A: torch.Tensor, b: torch.Tensor, x: torch.Tensor, alpha: torch.Tensor,
                           beta: torch.Tensor, c: torch.Tensor, direction=quadratic_direction,
                           form=caputo_gradient) -> torch.Tensor:
    """For a batch of quadratics (A (n, d, d) symmetric, b, x, α, β, c (n, d)): max_j |D_j − Q_j|/tol_j − 1, D the
    closed form ``direction(A, b, x, α, β, c)`` (implementations.cfgd.quadratic_direction) and Q the one-node
    Gauss–Jacobi form of the scaled Caputo derivative ``form(f, y, α, β, c, nodes=1)`` (default
    implementations.cfgd.caputo_gradient) of f = :class:`BlockQuadratic` — exact, since along e_j the integrand
    ∂_j f(τ) + β(x−c)A_jj is affine in τ. tol_j = 4(d+6)(eps·scale_j + 2^-1074) in the dtype's eps and underflow
    unit, scale_j = Σ_k|A_jk x_k| + |b_j| + |A_jj|(|x_j| + |c_j| + (1 + |β_j|)|x_j − c_j|) (derived: both sides
    sum d+1 products; the closed form adds γ_j r_j(x_j−c_j) with γ's parts |β_j| + (1−α)/(2−α) ≤ |β_j| + 1; the
    quadrature form rounds τ = c + (x−c)(1+u)/2 and the shift τ − x, errors of eps(|x_j| + |c_j|) times A_jj)."""
    closed = direction(A, b, x, alpha, beta, c)
    quadrature = form(BlockQuadratic(A, b), x.reshape(-1), alpha.reshape(-1), beta.reshape(-1), c.reshape(-1),
                      nodes=1).reshape(x.shape)
    eps, underflow = precision(closed)
    r = torch.diagonal(A, dim1=-2, dim2=-1)
    scale = ((A * x.unsqueeze(-2)).abs().sum(-1) + b.abs()
             + r.abs() * (x.abs() + c.abs() + (1 + beta.abs()) * (x - c).abs()))
    d = x.shape[-1]
    return ((closed - quadrature).abs() / (4 * (d + 6) * (eps * scale + underflow))).amax(-1) - 1


def polynomial_integrals(coefficients: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """I = ∫_{−1}^{1} (1−u)^(−α) Σ_m a_m (1−u)^m du = Σ_m a_m 2^(m+1−α)/(m+1−α) in the coefficients' dtype, batched
    (coefficients (..., M), α (...)), and its round-off bound Σ_m |term_m| (m + M + 6) eps (derived: the exponent
    (m+1) − α is rounded once, perturbing 2^e by ln 2·|e| eps ≤ (m+1) eps relative; pow, division and product 3
    eps more; the sum of M terms M eps)."""
    m = torch.arange(coefficients.shape[-1], dtype=coefficients.dtype, device=coefficients.device)
    exponent = (m + 1) - alpha.unsqueeze(-1)
    terms = coefficients * torch.pow(2.0, exponent) / exponent
    eps = precision(coefficients)[0]
    return terms.sum(-1), (terms.abs() * (m + coefficients.shape[-1] + 6)).sum(-1) * eps


def _grouped(keys: torch.Tensor, evaluate) -> torch.Tensor:
    """One value per instance, computed group by group of equal integer ``keys`` (e.g. a rule's node count, which
    one batched call must share): ``evaluate(key, mask)`` returns the values of the instances ``mask`` selects."""
    result = None
    for key in torch.unique(keys).tolist():
        mask = keys == key
        values = evaluate(int(key), mask)
        if result is None:
            result = values.new_empty(keys.shape)
        result[mask] = values
    return result


def exactness_margins(alpha: torch.Tensor, s: torch.Tensor, coefficients: torch.Tensor,
                      rule=gauss_jacobi) -> torch.Tensor:
    """:func:`exactness_margin` of a batch: instance i is the ``s[i]``-node rule (``rule(s, α)``) on the polynomial
    with the first 2 s[i] coefficients of row i in the (1−u)^m basis (degree 2s − 1); |Q − I|/(bound + bound of I)
    − 1 with Q and its bound from :func:`jacobi_quadrature_terms` and I computed in float64 by
    :func:`polynomial_integrals` (the one-instance margin takes I from mpmath instead)."""
    def evaluate(nodes_count: int, mask: torch.Tensor) -> torch.Tensor:
        a, coefficients_s = alpha[mask], coefficients[mask][:, :2 * nodes_count]
        nodes, weights = rule(nodes_count, a)
        quadrature, bound = jacobi_quadrature_terms(coefficients_s, nodes, weights, a)
        exact, exact_bound = polynomial_integrals(coefficients_s, a)
        return (quadrature - exact).abs() / (bound + exact_bound) - 1
    return _grouped(s.round().long(), evaluate)


def jacobi_polynomial(n: int, a: torch.Tensor, b: float, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """P_n^(a,b)(u) by the three-term recurrence (DLMF 18.9.1–2; a, b broadcast against u) and a running bound
    of its round-off (first order, derived): P_0 = 1, P_1 = (a − b)/2 + (a + b + 2)u/2, and for m ≥ 2
    c₁ P_m = c₂ P_{m−1} − c₃ P_{m−2} with c₁ = 2m(m+a+b)(σ−2), c₂ = (σ−1)(σ(σ−2)u + a² − b²),
    c₃ = 2(m+a−1)(m+b−1)σ, σ = 2m + a + b; the computed P_m inherits (|c₂|e_{m−1} + |c₃|e_{m−2})/|c₁| and adds
    12 eps (|c₂P_{m−1}| + |c₃P_{m−2}|)/|c₁| (≤ 5 roundings in each coefficient, 3 in the combination)."""
    previous, previous_error = torch.ones_like(u), torch.zeros_like(u)
    if n == 0:
        return previous, previous_error
    current = (a - b) / 2 + (a + b + 2) * u / 2
    error = 4 * EPS * ((a - b).abs() / 2 + (a + b + 2).abs() * u.abs() / 2)
    for m in range(2, n + 1):
        sigma = 2 * m + a + b
        c1 = 2 * m * (m + a + b) * (sigma - 2)
        c2 = (sigma - 1) * (sigma * (sigma - 2) * u + a * a - b * b)
        c3 = 2 * (m + a - 1) * (m + b - 1) * sigma
        following = (c2 * current - c3 * previous) / c1
        error, previous_error = ((c2.abs() * error + c3.abs() * previous_error
                                  + 12 * EPS * ((c2 * current).abs() + (c3 * previous).abs())) / c1.abs(), error)
        previous, current = current, following
    return current, error


def rule_identity_margins(alpha: torch.Tensor, s: int, rule=gauss_jacobi) -> torch.Tensor:
    """The s-node rule ``rule(s, α)`` (batched over α (n,), float64) against the defining identities of Gauss–Jacobi
    quadrature for (1−u)^(−α), evaluated at its own nodes u_i (derived; DLMF 18.9, Abramowitz–Stegun 25.4.33):
    - each u_i is within the node bound δu (:func:`rule_error_bounds`) of a root of P_s^(−α,0): the mean value
      theorem gives |u_i − u*| ≥ (|P(u_i)| − e_P)/(2(|P'(u_i)| + e_P')) (|P'| at most doubles over the ≪ gap
      interval), margin that over δu, minus 1; the nodes increase strictly;
    - w_i = 2^(1−α)/((1−u_i²) P_s'(u_i)²) with P_s' = (s+1−α)/2 P_{s−1}^(1−α,1), within the weight bound δw_i plus
      the reference's own error: |d ln w/du| = 2|α − (1−α)u|/(1−u²) (the Jacobi equation at a root) times the
      node error ≤ 2(|P| + e_P)/(|P'| − e_P'), 2e_P'/|P'| and 8 eps.
    P and P' come from the textbook recurrence (:func:`jacobi_polynomial`, with its running error bounds e_P,
    e_P'), not from the Golub–Welsch matrix the implementation diagonalises. One margin per instance."""
    nodes, weights = rule(s, alpha)
    node_bound, weight_bound = rule_error_bounds(nodes, weights, alpha)
    a = -alpha.unsqueeze(-1)
    value, value_error = jacobi_polynomial(s, a, 0.0, nodes)
    lower, lower_error = jacobi_polynomial(s - 1, a + 1, 1.0, nodes)
    half = (s + 1 + a) / 2
    slope, slope_error = half * lower, half.abs() * lower_error + 2 * EPS * (half * lower).abs()
    node_low = (value.abs() - value_error).clamp(min=0) / (2 * (slope.abs() + slope_error))
    node_margin = (node_low / node_bound).amax(-1) - 1
    if s > 1:
        node_margin = torch.maximum(node_margin, ((nodes[..., :-1] - nodes[..., 1:]) / node_bound).amax(-1))
    node_high = 2 * (value.abs() + value_error) / (slope.abs() - slope_error)
    reference = torch.pow(2.0, 1 + a) / ((1 - nodes ** 2) * slope ** 2)
    sensitivity = 2 * (-a - (1 + a) * nodes).abs() / (1 - nodes ** 2)
    reference_error = sensitivity * node_high + 2 * slope_error / slope.abs() + 8 * EPS
    weight_margin = ((weights / reference - 1).abs() / (weight_bound + reference_error)).amax(-1) - 1
    return torch.maximum(node_margin, weight_margin)


def rule_identity_margins_by_count(alpha: torch.Tensor, s: torch.Tensor, rule=gauss_jacobi) -> torch.Tensor:
    """:func:`rule_identity_margins` of a batch whose instances have their own node counts ``s`` (n,)."""
    return _grouped(s.round().long(), lambda count, mask: rule_identity_margins(alpha[mask], count, rule))


def oracle_rule_row(alpha: float, s: int, like: dict | None = None, rule=gauss_jacobi) -> dict:
    """The s-node rule ``rule(s, α)`` (computed with ``like``'s dtype and device, default float64 on the CPU)
    against the mpmath rule (theory.cfgd.gauss_jacobi_mp: polyroots and the closed weight formula, ORACLE_DPS
    digits), the errors over the bounds of :func:`gauss_jacobi_error_bounds`: a row of cfgd.gj.nodes-weights with
    ``margin`` = the larger ratio − 1."""
    like = {"dtype": torch.float64, "device": "cpu"} if like is None else like
    nodes, weights = rule(s, torch.as_tensor(alpha, **like))
    with mp.workdps(ORACLE_DPS):
        ref_nodes, ref_weights = theory.gauss_jacobi_mp(s, mp.mpf(alpha))
    node_err = np.abs(nodes.cpu().numpy() - np.array([float(v) for v in ref_nodes]))
    weight_err = np.abs(weights.cpu().numpy() / np.array([float(v) for v in ref_weights]) - 1)
    node_bound, weight_bound = gauss_jacobi_error_bounds(nodes, weights, alpha)
    node_ratio, weight_ratio = float(np.max(node_err) / node_bound), float(np.max(weight_err / weight_bound))
    return {"alpha": alpha, "s": s, "max_node_error": float(np.max(node_err)),
            "max_weight_relative_error": float(np.max(weight_err)), "node_error_over_bound": node_ratio,
            "weight_error_over_bound": weight_ratio, "within_bounds": node_ratio <= 1 and weight_ratio <= 1,
            "margin": max(node_ratio, weight_ratio) - 1}


def abs_hutchinson_block_estimate(H: torch.Tensor) -> torch.Tensor:
    """The code's |v⊙Hv| estimate (1/2^d) Σ_v |v_j (Hv)_j| of each of the symmetric H (n, d, d) with all 2^d sign
    patterns as probes: implementations.cfgd.caputo.coordinate_derivatives (hessian="hutchinson-abs", its
    closed-form route) on a :class:`BlockQuadratic` of the n matrices, every pattern repeated in every block."""
    n, d = H.shape[0], H.shape[-1]
    patterns = all_rademacher_vectors(d, H.dtype, H.device)
    points = torch.zeros(n * d, dtype=H.dtype, device=H.device)
    objective = BlockQuadratic(H, torch.zeros(n, d, dtype=H.dtype, device=H.device))
    _, estimate = coordinate_derivatives(objective, points, torch.arange(n * d, device=H.device), points,
                                         "hutchinson-abs", patterns.repeat(1, n))
    return estimate.reshape(n, d)


def abs_hutchinson_generic_estimate(H: torch.Tensor) -> torch.Tensor:
    """The same estimate as :func:`abs_hutchinson_block_estimate` for one matrix H (1, d, d) by the implementation's
    generic route: nested forward-mode derivatives of f(x) = ½xᵀHx at full copies of x (coordinate_derivatives on a
    plain function, no structure), all 2^d sign patterns as probes; shape (1, d)."""
    matrix, dim = H[0], H.shape[-1]
    zeros = torch.zeros(dim, dtype=H.dtype, device=H.device)
    return coordinate_derivatives(lambda x: 0.5 * x @ matrix @ x, zeros, torch.arange(dim, device=H.device), zeros,
                                  "hutchinson-abs", all_rademacher_vectors(dim, H.dtype, H.device))[1].unsqueeze(0)


def abs_hutchinson_margins(H: torch.Tensor, estimate=abs_hutchinson_block_estimate) -> torch.Tensor:
    """For a batch of symmetric H (n, d, d), float64: the code's |v⊙Hv| estimate ``estimate(H)`` (n, d) (default
    :func:`abs_hutchinson_block_estimate`) against the enumerated E|v_j(Hv)_j| (tolerance 1e3·eps·Σ|H|: a sum of
    2^d products of magnitude ≤ Σ|H|) and Jensen's E|v_j(Hv)_j| ≥ |H_jj| (tolerance 1e3·eps·max|H|): the larger
    error over its tolerance, minus 1, per matrix."""
    d = H.shape[-1]
    patterns = all_rademacher_vectors(d, H.dtype, H.device)
    enumerated = (patterns * torch.einsum("...ij,kj->...ki", H, patterns)).abs().mean(-2)
    value = estimate(H)
    implementation = (value - enumerated).abs().amax(-1) / (1e3 * EPS * H.abs().sum((-2, -1)))
    diagonal = torch.diagonal(H, dim1=-2, dim2=-1)
    jensen = (diagonal.abs() - value).amax(-1) / (1e3 * EPS * H.abs().amax((-2, -1)))
    return torch.maximum(implementation, jensen) - 1
