"""Margins of the CFGD conditions (THEORY.md §1.2–1.3) on one instance; positive means violated by that much.

Every tolerance is derived from the working precision: eps and the underflow unit of the dtype the
implementation computed in (:func:`precision`; 2^-52 and 2^-1074 in float64), or the mpmath precision
(ORACLE_DPS digits) of an oracle.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import torch

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


def linear_exact_margin(instance: dict, direction=quadrature_direction_affine) -> float:
    """max_j |D_j f − g_j| / (4(s+2)·(eps·|g_j| + 2^-1074)) − 1 (error over bound, minus 1): the weights' sum
    is μ₀(1 + O(s eps)) (orthonormal eigenvectors), plus s+2 rounded operations in the weighted sum. eps and
    the underflow unit are those of the direction's dtype (:func:`precision`), g_j as rounded to it."""
    value = direction(instance["gradient"], instance["x"], instance["c"], instance["alpha"], instance["beta"],
                      instance["s"])
    eps, underflow = precision(value)
    g = rounded(instance["gradient"], value)
    value = value.cpu().numpy()
    return float(np.max(np.abs(value - g) / (4 * (instance["s"] + 2) * (eps * np.abs(g) + underflow)))) - 1


def gauss_jacobi_error_bounds(nodes: torch.Tensor, weights: torch.Tensor, alpha: float) -> tuple[float, np.ndarray]:
    """Round-off bounds for Golub–Welsch in float64 (derived):
    nodes: |Δu| ≤ 4 s eps ‖J‖ with ‖J‖ ≤ 1 (eigvalsh is backward stable, eigenvalues of a symmetric matrix are
    1-Lipschitz in it; the Jacobi matrix's spectrum lies in [−1, 1]);
    weights: w_i = μ₀ v_{0i}², the eigenvector error is ≤ 4 s eps/gap_i (Davis–Kahan, gap_i = distance to the
    nearest other node), so |Δw_i|/w_i ≤ 2·4 s eps/(gap_i √(w_i/μ₀)) + 4 eps (μ₀'s own rounding)."""
    s = nodes.numel()
    node_bound = 4 * s * EPS
    if s == 1:
        return node_bound, np.array([4 * EPS])
    u = nodes.cpu().numpy()
    gaps = np.min(np.where(np.eye(s, dtype=bool), np.inf, np.abs(u[:, None] - u[None, :])), axis=1)
    mu0 = 2 ** (1 - alpha) / (1 - alpha)
    weight_bound = 8 * s * EPS / (gaps * np.sqrt(weights.cpu().numpy() / mu0)) + 4 * EPS
    return node_bound, weight_bound


def jacobi_quadrature_error(coefficients: np.ndarray, alpha: float, s: int, like: dict | None = None,
                            rule=gauss_jacobi) -> tuple[float, float, float]:
    """For p(u) = Σ_m a_m (1−u)^m: (Q − I, derived round-off bound, |I|), Q the s-node float64 rule (computed
    with the ``dtype=`` and ``device=`` of ``like``, default float64 on the CPU) and
    I = Σ_m a_m 2^(m+1−α)/(m+1−α) exactly (mpmath, 40 digits).

    Bound: Σ_i w_i [|p(u_i)|(δw_i + (deg+2) eps) + |p'(u_i)| δu] with δu, δw_i from
    :func:`gauss_jacobi_error_bounds` (Horner-free power evaluation: deg+2 rounded operations per node).
    ``rule(s, alpha)`` → (nodes, weights): the implementation under test (default
    implementations.cfgd.gauss_jacobi).
    """
    nodes, weights = rule(s, alpha if like is None else torch.as_tensor(alpha, **like))
    node_bound, weight_bound = gauss_jacobi_error_bounds(nodes, weights, alpha)
    base = 1 - nodes.cpu().numpy()
    powers = base[:, None] ** np.arange(len(coefficients))[None, :]
    values = powers @ coefficients
    derivative = -(base[:, None] ** np.maximum(np.arange(len(coefficients)) - 1, 0)[None, :]
                   * np.arange(len(coefficients))[None, :]) @ coefficients
    w = weights.cpu().numpy()
    quadrature = float(np.sum(w * values))
    degree = len(coefficients) - 1
    bound = float(np.sum(w * (np.abs(values) * (weight_bound + (degree + 2) * EPS) + np.abs(derivative) * node_bound
                              + (degree + 2) * UNDERFLOW)))
    with mp.workdps(ORACLE_DPS):
        a = mp.mpf(alpha)
        exact = mp.fsum(mp.mpf(float(coef)) * mp.power(2, m + 1 - a) / (m + 1 - a)
                        for m, coef in enumerate(coefficients))
        return float(mp.mpf(quadrature) - exact), bound, float(abs(exact))


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
    like = {"dtype": torch.float64} if like is None else like
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
                    lr: float) -> torch.Tensor:
    """x⁺ = x − η(Ax + b) − η G (x − x_prev), G = diag(γ⊙r) (THEORY.md §1.3, heavy-ball form)."""
    return x - lr * (x @ A + b) - lr * gamma_r * (x - x_prev)


def heavy_ball_margin(instance: dict, runner=at_cfgd, steps: int = 40, like: dict | None = None) -> float:
    """max_t ‖x_AT^(t+1) − HB(x_AT^(t), x_AT^(t−1))‖ / (8(d+4)(eps·scale_t + 2^-1074)) − 1, scale_t = ‖x^(t)‖ +
    η(‖A‖‖x^(t)‖ + ‖b‖ + ‖G‖(‖x^(t)‖ + ‖x^(t−1)‖)): each step's identity at the visited states, so round-off
    does not accumulate (derived). x^(−1) = x^(0) (c^(0) = x^(0)). ``like``: the ``dtype=`` and ``device=`` of the
    run (default float64 on the CPU), whose eps and underflow unit the bound uses."""
    like = {"dtype": torch.float64} if like is None else like
    A, b, x0, alpha, beta = (torch.as_tensor(np.asarray(instance[k], dtype=float), **like)
                             for k in ("A", "b", "x0", "alpha", "beta"))
    eps, underflow = precision(A)
    gamma_r = gamma(alpha, beta) * torch.diagonal(A)
    lr = instance["lr_fraction"] / float(torch.linalg.eigvalsh(A)[-1] + gamma_r.abs().max())
    trajectory = runner(A, b, x0, alpha, beta, lr, steps).trajectory
    previous = torch.cat([trajectory[:1], trajectory[:-2]])
    predicted = heavy_ball_step(A, b, trajectory[:-1], previous, gamma_r, lr)
    norm_a, norm_g = float(torch.linalg.matrix_norm(A, 2)), float(gamma_r.abs().max())
    x_norm, prev_norm = trajectory[:-1].norm(dim=-1), previous.norm(dim=-1)
    scale = x_norm + lr * (norm_a * x_norm + b.norm() + norm_g * (x_norm + prev_norm))
    d = A.shape[0]
    return float(((trajectory[1:] - predicted).norm(dim=-1) / (8 * (d + 4) * (eps * scale + underflow))).max()) - 1


def all_rademacher_vectors(d: int, dtype=torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    """All 2^d sign vectors, shape (2^d, d), in ``dtype`` on ``device`` (default: the CPU)."""
    codes = torch.arange(2 ** d, device=device).unsqueeze(-1) >> torch.arange(d, device=device)
    return (1 - 2 * (codes & 1)).to(dtype)


def hutchinson_enumeration_margin(H: np.ndarray, estimate=hutchinson_estimate, like: dict | None = None) -> float:
    """Over all 2^d probes: max of |mean(v⊙Hv) − diag H| / (8d(eps Σ_i|H_ji| + 2^-1074)) and
    |var(v⊙Hv) − Σ_{i≠j} H_ji²| / (8(2d+4)(eps (Σ_i|H_ji|)² + 2^-1074)), minus 1 (derived: Hv sums d terms of
    size ≤ Σ_i|H_ji|; the mean and variance over 2^d probes are pairwise-summed, adding ≤ d rounding levels).
    ``like``: the ``dtype=`` and ``device=`` of the computation (default float64 on the CPU), whose eps and
    underflow unit the bounds use; H is taken as rounded to that dtype."""
    matrix = torch.as_tensor(H, **({"dtype": torch.float64} if like is None else like))
    d = matrix.shape[0]
    eps, underflow = precision(matrix)
    probes = all_rademacher_vectors(d, matrix.dtype, matrix.device)
    samples = probes * (probes @ matrix)
    mean = estimate(lambda v: v @ matrix, probes)
    variance = ((samples - mean) ** 2).mean(0)
    row_l1 = matrix.abs().sum(-1)
    off_diagonal = (matrix ** 2).sum(-1) - torch.diagonal(matrix) ** 2
    mean_ratio = (mean - torch.diagonal(matrix)).abs() / (4 * (2 * d) * (eps * row_l1 + underflow))
    variance_ratio = (variance - off_diagonal).abs() / (8 * (2 * d + 4) * (eps * row_l1 ** 2 + underflow))
    return float(torch.maximum(mean_ratio, variance_ratio).max()) - 1
