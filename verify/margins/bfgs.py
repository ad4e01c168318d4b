"""Margins of the CWSS conditions (THEORY.md §2), positive means violated by that much: each batched over
instances (``*_margins``, one value per instance, for verify.sweep) beside its one-instance form (``*_margin``,
for hypothesis and a sweep's float64 re-check), which calls the batched one on a batch of one.

Beside them, the random instances the bfgs claims' sweeps evaluate them on (``draw_*``): each ``draw_*(…, like)``
returns ``draw(n, generator)``, n instances as a dict of tensors with a leading instance dimension, created with
``like``'s dtype and device from ``generator`` (verify.sweep.batched_sweep's ``draw``), so that a test or a notebook
can evaluate a margin on the very distribution a claim sweeps."""

from __future__ import annotations

import math

import numpy as np
import torch

from implementations.bfgs import cwss_step, inverse_bfgs_formula
from implementations.bfgs.stability import spectral_stability_bound
from implementations.problems.logistic import LogisticRegression
from verify.sweep import DRAW_LIKE, host_tensor, log_uniform_spd, random_orthogonal, with_eigenvalues

EPS = float(np.finfo(np.float64).eps)


def spd_inverse(A: torch.Tensor) -> torch.Tensor:
    """A⁻¹ of an SPD A, symmetrised: torch.linalg.inv is symmetric only to about κ(A)·eps, which the solvers'
    SPD validation (100·eps) rejects for κ(A) ≳ 100 (the full budget's search hit κ ≈ 1e3 in 5-D)."""
    inverse = torch.linalg.inv(A)
    return (inverse + inverse.mT) / 2


def contraction_margins(A: torch.Tensor, x: torch.Tensor, x_star: torch.Tensor, p: torch.Tensor,
                        step=cwss_step) -> torch.Tensor:
    """:func:`contraction_margin` of a batch of instances (A (..., d, d) SPD, x, x*, p (..., d)), one margin per
    instance, in float64's eps whatever the dtype (the bound of the float64 claim)."""
    e = x - x_star
    g = (A @ e.unsqueeze(-1)).squeeze(-1)
    x_next = step(x, g, spd_inverse(A), p, interval=None)  # p ∈ [−1, 3]: both sides of [0, 2]
    e_next = x_next - x_star
    dim = p.shape[-1]
    kappa = torch.linalg.cond(A)
    tol = 8 * dim * kappa * EPS * (1 + p.abs().amax(-1)) * dim ** 0.5 * e.abs().amax(-1) + 1e-300
    exact = (e_next - (1 - p) * e).abs().amax(-1) - tol
    inside = (p >= 0) & (p <= 2)
    grows = e_next.abs() - e.abs()
    tol = tol.unsqueeze(-1)
    iff = torch.where(inside, grows - tol, -grows - tol + torch.where(e.abs() > 2 * tol, 0.0, -1.0))
    return torch.maximum(exact, iff.amax(-1))


def contraction_margin(instance, like: dict | None = None, step=cwss_step) -> float:
    """Max violation of e⁺ = (I − P)e and of |e⁺_i| ≤ |e_i| ⇔ p_i ∈ [0, 2]; tol = 8d·κ(A)·eps·(1+max|p|)‖e‖
    (forming A⁻¹ costs κ(A)·eps relative accuracy, the products d·eps). ‖e‖ is bounded by √d·max|e_i|: torch's
    2-norm squares the entries and underflows to 0 for |e_i| below ~1e-154, which zeroed the tolerance.
    ``like``: as in :func:`host_tensor`; ``step(x, g, H, P, interval)``: the step under test (default
    implementations.bfgs.cwss_step)."""
    A, x, x_star, p = (host_tensor(v, like) for v in instance)
    return float(contraction_margins(A, x, x_star, p, step))


def _vector_norm(v: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(v, dim=-1)


def batch_of_one(instance, like: dict | None = None) -> tuple[torch.Tensor, ...]:
    """An instance's arrays as tensors (:func:`verify.sweep.host_tensor`) with a leading batch dimension of one."""
    return tuple(host_tensor(v, like).unsqueeze(0) for v in instance)


def draw_secant_spd(dim: int, like: dict = DRAW_LIKE):
    """Batched instances (H, s, y) of :func:`secant_spd_margins` (bfgs.update.secant-spd's sweep) of dimension
    ``dim``: H = Q diag(λ) Qᵀ (Q Haar-orthogonal, λ log-uniform on [10⁻², 10²], so κ(H) ≤ 10⁴ as in the hypothesis
    search), s, y ~ N(0, I), each scaled by its own log-uniform factor in [10⁻², 10²] (yᵀs of either sign, about half
    negative)."""
    def draw(n: int, generator) -> dict:
        q = random_orthogonal(n, dim, generator, like)
        lam = torch.exp((2 * torch.rand(n, dim, generator=generator, **like) - 1) * math.log(1e2))
        H = with_eigenvalues(q, lam)
        scales = torch.exp((2 * torch.rand(n, 2, 1, generator=generator, **like) - 1) * math.log(1e2))
        s, y = (scales * torch.randn(n, 2, dim, generator=generator, **like)).unbind(1)
        return {"H": H, "s": s, "y": y}
    return draw


def secant_spd_margins(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor,
                       formula=inverse_bfgs_formula) -> torch.Tensor:
    """The inverse BFGS update's secant equation and definiteness (THEORY.md §2.2) on a batch (H (..., d, d) SPD,
    s, y (..., d)): the larger of ‖H⁺y − s‖ − tol‖y‖ (over S_H‖y‖) and, over S_H, −λ_min(H⁺) − tol where yᵀs > 0
    (H⁺ ≻ 0), λ_min(H⁺) − yᵀs/‖y‖² − tol where yᵀs < 0 (y itself gives yᵀH⁺y = yᵀs < 0, so H⁺ is not SPD).

    tol = 16·d·eps·S_H, S_H = ‖H‖₂(1 + |ρ|‖s‖‖y‖)² + |ρ|‖s‖², ρ = 1/yᵀs: H⁺'s entries are products of d-term sums
    in the update's three factors, each with relative error γ_d. Instances with |yᵀs| ≤ 10⁻³‖s‖‖y‖ (ρ
    ill-conditioned), s = 0 or y = 0 are left out (margin −1). ``formula(H, s, y)``: the update under test
    (default implementations.bfgs.inverse_bfgs_formula)."""
    ys = (y * s).sum(-1)
    ns, ny = _vector_norm(s), _vector_norm(y)
    excluded = (ns == 0) | (ny == 0) | (ys.abs() <= 1e-3 * ns * ny)
    keep = ~excluded.unsqueeze(-1)
    s, y = torch.where(keep, s, torch.ones_like(s)), torch.where(keep, y, torch.ones_like(y))  # finite placeholders
    ys, ns, ny = (y * s).sum(-1), _vector_norm(s), _vector_norm(y)
    rho = 1 / ys
    scale = torch.linalg.matrix_norm(H, 2) * (1 + rho.abs() * ns * ny) ** 2 + rho.abs() * ns ** 2
    tol = 16 * H.shape[-1] * torch.finfo(H.dtype).eps * scale
    H_plus = formula(H, s, y)
    secant = (_vector_norm((H_plus @ y.unsqueeze(-1)).squeeze(-1) - s) - tol * ny) / (scale * ny)
    lam_min = torch.linalg.eigvalsh(H_plus)[..., 0]
    definiteness = torch.where(ys > 0, -lam_min - tol, lam_min - ys / ny ** 2 - tol) / scale
    return torch.where(excluded, -1.0, torch.maximum(secant, definiteness))


def secant_spd_margin(instance, like: dict | None = None, formula=inverse_bfgs_formula) -> float:
    """:func:`secant_spd_margins` of one instance (H, s, y); ``like``: as in :func:`host_tensor`."""
    return float(secant_spd_margins(*batch_of_one(instance, like), formula=formula)[0])


def draw_non_descent(dim: int, like: dict = DRAW_LIKE):
    """Batched instances (H, p, g) of :func:`non_descent_margins` (D0, bfgs.cwss.interval-not-sufficient's sweep)
    of dimension ``dim``: H = Q diag(λ) Qᵀ (Q Haar-orthogonal, λ log-uniform on [1, 10³]), p uniform on (0, 2)^d,
    g ~ N(0, I)."""
    def draw(n: int, generator) -> dict:
        H, _, _ = log_uniform_spd(n, dim, 1e3, generator, like)
        return {"H": H, "p": 2 * torch.rand(n, dim, generator=generator, **like),
                "g": torch.randn(n, dim, generator=generator, **like)}
    return draw


def non_descent_margins(H: torch.Tensor, p: torch.Tensor, g: torch.Tensor, step=cwss_step) -> torch.Tensor:
    """D0's violation on a batch (H (..., d, d) SPD, p, g (..., d)): gᵀv/(‖g‖²‖H‖₂) − 4d·eps with v = step(0, g,
    H, p) = −PHg the CWSS direction; positive ⇔ −PHg is not a descent direction beyond round-off (|fl(gᵀPHg) −
    gᵀPHg| ≤ γ_{2d}·max|p|·‖H‖‖g‖², max|p| ≤ 2; at d = 2 this is the 8·eps the claim has used). g = 0: −1.
    ``step(x, g, H, P, interval)``: the step under test (default implementations.bfgs.cwss_step)."""
    direction = step(torch.zeros_like(g), g, H, p, interval=None)
    gg = (g * g).sum(-1)
    value = (g * direction).sum(-1) / (gg * torch.linalg.matrix_norm(H, 2))
    return torch.where(gg == 0, -1.0, value - 4 * g.shape[-1] * torch.finfo(g.dtype).eps)


def non_descent_margin(instance, like: dict | None = None, step=cwss_step) -> float:
    """:func:`non_descent_margins` of one instance (H, p, g); ``like``: as in :func:`host_tensor`."""
    return float(non_descent_margins(*batch_of_one(instance, like), step=step)[0])


def draw_curvature(dim: int, samples: int, like: dict = DRAW_LIKE):
    """Batched instances (A, labels, x, P, H) of :func:`curvature_margins` (D5, bfgs.cwss.curvature-strongly-convex's
    sweep; μ is the caller's): A with entries ~ 3·N(0, 1) (m = ``samples`` × d = ``dim``), labels ±1 at random,
    x ~ 5·N(0, I), P uniform on [−3, 3]^d (descent or not), H = Q diag(λ) Qᵀ with λ log-uniform on [10⁻², 10]
    (κ ≤ 10³)."""
    def draw(n: int, generator) -> dict:
        q = random_orthogonal(n, dim, generator, like)
        lam = 10 * torch.exp(-torch.rand(n, dim, generator=generator, **like) * math.log(1e3))
        labels = torch.where(torch.rand(n, samples, generator=generator, **like) < 0.5, -1.0, 1.0)
        return {"A": 3 * torch.randn(n, samples, dim, generator=generator, **like), "labels": labels,
                "x": 5 * torch.randn(n, dim, generator=generator, **like),
                "P": 6 * torch.rand(n, dim, generator=generator, **like) - 3, "H": with_eigenvalues(q, lam)}
    return draw


def curvature_margins(A: torch.Tensor, labels: torch.Tensor, reg: float, x: torch.Tensor, P: torch.Tensor,
                      H: torch.Tensor, problem=LogisticRegression.create, step=cwss_step) -> torch.Tensor:
    """D5 on a batch of ℓ₂-logistic regressions (A (..., m, d), labels (..., m), μ = reg) and steps s = x⁺ − x,
    x⁺ = step(x, g, H, P) with any P (..., d) and SPD H (..., d, d): (μ‖s‖² − yᵀs − tol)/(μ‖s‖² + tol), y = ∇f(x⁺)
    − ∇f(x) (relative: −1 where yᵀs = 2μ‖s‖², 0 where the data add no curvature along s).

    tol = 8(m + d)·eps·(‖A‖_F(‖w₊‖ + ‖w‖) + μ(‖x‖ + ‖x⁺‖))·‖s‖: γ_{m+d} times the size of the two gradient
    evaluations whose difference is y (w: the per-sample weights σ(−yᵢaᵢᵀz)/m of the gradient at z). ``problem(A,
    labels, reg)``: the objective under test (default LogisticRegression.create), ``step``: the step (cwss_step)."""
    objective = problem(A, labels, reg)
    g = objective.gradient(x)
    x_next = step(x, g, H, P, interval=None)
    s = x_next - x
    y = objective.gradient(x_next) - g
    m, d = A.shape[-2:]

    def weights(z):
        return _vector_norm(torch.sigmoid(-objective.labels * (objective.A @ z.unsqueeze(-1)).squeeze(-1)) / m)

    size = torch.linalg.matrix_norm(A) * (weights(x) + weights(x_next)) + reg * (_vector_norm(x) + _vector_norm(x_next))
    info = torch.finfo(x.dtype)
    tol = 8 * (m + d) * info.eps * size * _vector_norm(s)
    bound = reg * (s * s).sum(-1)
    return (bound - (y * s).sum(-1) - tol) / (bound + tol + info.tiny)


def curvature_margin(instance, like: dict | None = None, problem=LogisticRegression.create,
                     step=cwss_step) -> float:
    """:func:`curvature_margins` of one instance (A, labels, reg, x, P, H); ``like``: as in
    :func:`verify.sweep.host_tensor`."""
    A, labels, reg, x, P, H = instance
    A, labels, x, P, H = batch_of_one((A, labels, x, P, H), like)
    return float(curvature_margins(A, labels, reg, x, P, H, problem=problem, step=step)[0])


def decrease_terms(value, gradient, x: torch.Tensor, H: torch.Tensor, P: torch.Tensor, L: torch.Tensor,
                   mu: torch.Tensor | None = None, f_star: torch.Tensor | None = None, step=cwss_step) -> dict:
    """D2/D3 at one CWSS step x⁺ = step(x, g, H, P) of each instance (x, P (..., d), H (..., d, d) SPD; L, μ, f*
    (...)), for an L-smooth f (``value``, ``gradient`` batched over the instances): δ = max|p_i − 1|,
    c = λ_min(H) − δλ_max(H), η = c − (L/2)(1 + δ)²λ_max(H)².

    {"d2": (f(x⁺) − f(x) + η‖g‖²)/scale − tol, "d3": ((f(x⁺) − f*) − (1 − 2μη)(f(x) − f*))/scale − tol where η > 0
    and f* is given (−inf elsewhere), "eta": η, "ratio": (f(x) − f(x⁺))/(η‖g‖²) (NaN where η ≤ 0), "x_next",
    "f_next", "g_next"}; scale = |f(x)| + |f(x⁺)| + |η|‖g‖² (+ the smallest normal number), tol = 64d·eps: the
    round-off of the two values and of η‖g‖², each a d-term sum of products."""
    f, g = value(x), gradient(x)
    delta = (P - 1).abs().amax(-1)
    lam = torch.linalg.eigvalsh(H)
    low, high = lam[..., 0], lam[..., -1]
    eta = low - delta * high - L / 2 * (1 + delta) ** 2 * high ** 2
    x_next = step(x, g, H, P, interval=None)
    f_next = value(x_next)
    gg = (g * g).sum(-1)
    info = torch.finfo(x.dtype)
    scale = f.abs() + f_next.abs() + eta.abs() * gg + info.tiny
    tol = 64 * x.shape[-1] * info.eps
    d2 = (f_next - f + eta * gg) / scale - tol
    positive = eta > 0
    if f_star is None:
        d3 = torch.full_like(d2, -math.inf)
    else:
        d3 = torch.where(positive, ((f_next - f_star) - (1 - 2 * mu * eta) * (f - f_star)) / scale - tol, -math.inf)
    ratio = torch.where(positive, (f - f_next) / torch.where(positive, eta * gg, 1.0), math.nan)
    return {"d2": d2, "d3": d3, "eta": eta, "ratio": ratio, "x_next": x_next, "f_next": f_next,
            "g_next": gradient(x_next)}


def quadratic_objective(A: torch.Tensor, b: torch.Tensor):
    """(value, gradient) of the batch of quadratics f(x) = ½xᵀAx + bᵀx (A (..., d, d), b (..., d)), batched as
    :func:`decrease_terms` takes them."""
    def gradient(x):
        return (A @ x.unsqueeze(-1)).squeeze(-1) + b

    def value(x):
        return 0.5 * (x * (A @ x.unsqueeze(-1)).squeeze(-1)).sum(-1) + (b * x).sum(-1)

    return value, gradient


def quadratic_decrease_margins(A: torch.Tensor, b: torch.Tensor, x: torch.Tensor, H: torch.Tensor, P: torch.Tensor,
                               step=cwss_step) -> torch.Tensor:
    """max(D2, D3) of :func:`decrease_terms` at one CWSS step of each instance of a batch of quadratics f(x) =
    ½xᵀAx + bᵀx (A (..., d, d) SPD, b, x, P (..., d), H (..., d, d) SPD), with L = λ_max(A), μ = λ_min(A) and
    f* = −½bᵀA⁻¹b. ``step``: as in :func:`decrease_terms` (default implementations.bfgs.cwss_step)."""
    lam = torch.linalg.eigvalsh(A)
    f_star = -0.5 * (b * torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)).sum(-1)
    terms = decrease_terms(*quadratic_objective(A, b), x, H, P, lam[..., -1], lam[..., 0], f_star, step=step)
    return torch.maximum(terms["d2"], terms["d3"])


def draw_decrease_H_and_P(n: int, dim: int, L: torch.Tensor, generator,
                          like: dict = DRAW_LIKE) -> tuple[torch.Tensor, torch.Tensor]:
    """The (H, P) of n instances of :func:`decrease_terms` for objectives with smoothness L (n,) (the sweeps of
    bfgs.cwss.sufficient-decrease): H = Q diag(λ) Qᵀ with λ = (h/L)·κ_H^U, h log-uniform on [10⁻³, 1], κ_H
    log-uniform on [1, 10], U uniform on [0, 1]^d (so η > 0 for a good share of the instances), and P = 1 + δu,
    δ uniform on [0, 1], u on [−1, 1]^d; drawn from ``generator`` with ``like``'s dtype and device."""
    q = random_orthogonal(n, dim, generator, like)
    h = torch.exp(-torch.rand(n, 1, generator=generator, **like) * math.log(1e3)) / L.unsqueeze(-1)
    kappa = torch.exp(torch.rand(n, 1, generator=generator, **like) * math.log(10.0))
    lam = h * kappa ** torch.rand(n, dim, generator=generator, **like)
    delta = torch.rand(n, 1, generator=generator, **like)
    return with_eigenvalues(q, lam), 1 + delta * (2 * torch.rand(n, dim, generator=generator, **like) - 1)


def draw_decrease_quadratics(dim: int, like: dict = DRAW_LIKE):
    """Batched instances (A, b, x, H, P) of :func:`quadratic_decrease_margins` (bfgs.cwss.sufficient-decrease's
    quadratic sweeps) of dimension ``dim``: f = ½xᵀAx + bᵀx, b = −Ax* (A = Q diag(λ) Qᵀ, λ log-uniform on [1, 10³];
    x*, x ~ N(0, I)), with H and P from :func:`draw_decrease_H_and_P` (L = λ_max(A))."""
    def draw(n: int, generator) -> dict:
        A, _, lam = log_uniform_spd(n, dim, 1e3, generator, like)
        x_star = torch.randn(n, dim, generator=generator, **like)
        H, P = draw_decrease_H_and_P(n, dim, lam.amax(-1), generator, like)
        return {"A": A, "b": -(A @ x_star.unsqueeze(-1)).squeeze(-1), "x": torch.randn(n, dim, generator=generator,
                                                                                       **like), "H": H, "P": P}
    return draw


def spectral_bounds(H: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """The derived sufficient δ of implementations.bfgs.stability.spectral_stability_bound on a batch (H, A
    (..., d, d) SPD): max[(1 − ‖I − S‖₂)/(√κ(A)‖S‖₂), (1 − ‖I − HA‖₂)/‖HA‖₂, 0], S = A^{1/2}HA^{1/2}."""
    lam, Q = torch.linalg.eigh(A)
    root = (Q * lam.sqrt().unsqueeze(-2)) @ Q.mT
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    S = root @ H @ root
    a_norm = (1 - torch.linalg.matrix_norm(eye - S, 2)) / ((lam[..., -1] / lam[..., 0]).sqrt()
                                                          * torch.linalg.matrix_norm(S, 2))
    M = H @ A
    two_norm = (1 - torch.linalg.matrix_norm(eye - M, 2)) / torch.linalg.matrix_norm(M, 2)
    return torch.maximum(torch.maximum(a_norm, two_norm), torch.zeros_like(a_norm))


def implementation_spectral_bounds(H: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """The bound of implementations.bfgs.stability.spectral_stability_bound (one instance at a time) of each
    instance of a small batch (H, A (n, d, d) SPD), as a tensor like H: the unbatched reference for
    :func:`spectral_bounds`, and a ``bound=`` of :func:`spectral_margins`."""
    return torch.stack([H.new_tensor(spectral_stability_bound(h, a)["bound"]) for h, a in zip(H, A)])


def _perturbed_inverse_pairs(n: int, dim: int, eps_low: float, generator, like: dict) -> tuple:
    """n pairs (A, H), symmetrised: A = Q diag(λ) Qᵀ (Q from the QR of a Gaussian matrix, λ log-uniform on
    [1, 10³]) and H = A^{−1/2}(I + εE)A^{−1/2} (E symmetric Gaussian with ‖E‖₂ = 1, ε log-uniform on
    [eps_low, 0.9], so the preconditioned S = A^{1/2}HA^{1/2} has ‖S − I‖₂ = ε)."""
    A, q, lam = log_uniform_spd(n, dim, 1e3, generator, like)
    inverse_root = (q * lam.rsqrt().unsqueeze(-2)) @ q.mT
    E = torch.randn(n, dim, dim, generator=generator, **like)
    E = (E + E.mT) / 2
    E = E / torch.linalg.matrix_norm(E, 2)[:, None, None]
    eps = torch.exp(math.log(eps_low) + torch.rand(n, 1, 1, generator=generator, **like) * math.log(0.9 / eps_low))
    H = inverse_root @ (torch.eye(dim, **like) + eps * E) @ inverse_root
    return A, (H + H.mT) / 2


def draw_spectral(dim: int, like: dict = DRAW_LIKE):
    """Batched instances (A, H, t, u) of :func:`spectral_margins` (bfgs.cwss.spectral-stability's sweep) of
    dimension ``dim``: A = Q diag(λ) Qᵀ (λ log-uniform on [1, 10³]), H = A^{−1/2}(I + εE)A^{−1/2} (E symmetric
    Gaussian with ‖E‖₂ = 1, ε log-uniform on [10⁻⁶, 0.9], so ‖S − I‖₂ = ε), t uniform on [0, 1) (δ = t·bound),
    u uniform on [−1, 1]^d, its signs alone (a vertex of the box) for the odd instances."""
    def draw(n: int, generator) -> dict:
        A, H = _perturbed_inverse_pairs(n, dim, 1e-6, generator, like)
        u = 2 * torch.rand(n, dim, generator=generator, **like) - 1
        u[1::2] = torch.sign(u[1::2])
        return {"A": A, "H": H, "t": torch.rand(n, generator=generator, **like), "u": u}
    return draw


def spectral_margins(A: torch.Tensor, H: torch.Tensor, t: torch.Tensor, u: torch.Tensor,
                     bound=spectral_bounds) -> torch.Tensor:
    """The derived bound's promise on a batch (THEORY.md §2.2, bfgs.cwss.spectral-stability): with δ = t·bound(H,
    A), t ∈ [0, 1), and P = I + δ·diag(u), u ∈ [−1, 1]^d (so ‖P − I‖_∞ < bound), ρ(I − PHA) − 1 − tol, positive
    where the iteration matrix is not a contraction. tol = 64d·eps·(1 + δ)‖H‖₂‖A‖₂√κ(A): Bauer–Fike for the
    round-off of forming PHA (γ_d relative to ‖P‖‖H‖‖A‖), the eigenvectors' conditioning taken as √κ(A) (the
    similarity A^{1/2} that symmetrises I − HA). ``bound(H, A)``: the bound under test, batched (default
    :func:`spectral_bounds`)."""
    delta = t * bound(H, A)
    P = 1 + delta.unsqueeze(-1) * u
    M = H @ A
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    rho = torch.linalg.eigvals(eye - P.unsqueeze(-1) * M).abs().amax(-1)
    lam = torch.linalg.eigvalsh(A)
    tol = 64 * A.shape[-1] * torch.finfo(A.dtype).eps * (1 + delta) * torch.linalg.matrix_norm(H, 2) \
        * lam[..., -1] * (lam[..., -1] / lam[..., 0]).sqrt()
    return rho - 1 - tol


def spectral_margin(instance, like: dict | None = None, bound=spectral_bounds) -> float:
    """:func:`spectral_margins` of one instance (A, H, t, u); ``like``: as in :func:`host_tensor`; ``bound(H,
    A)``: batched, as in :func:`spectral_margins` (e.g. :func:`implementation_spectral_bounds`)."""
    return float(spectral_margins(*batch_of_one(instance, like), bound=bound)[0])


def draw_rate_band(dim: int, like: dict = DRAW_LIKE):
    """Batched instances (A, H, x, x_star, c) of :func:`rate_band_margins` (D6's band, bfgs.cwss.superlinear's
    sweep) of dimension ``dim``: A = Q diag(λ) Qᵀ (λ log-uniform on [1, 10³]), H = A^{−1/2}(I + εE)A^{−1/2} (E
    symmetric Gaussian with ‖E‖₂ = 1, ε log-uniform on [10⁻⁸, 0.9]: from BFGS's late iterates, S ≈ I, to early
    ones), x, x* ~ N(0, I), c uniform on (0, 2)."""
    def draw(n: int, generator) -> dict:
        A, H = _perturbed_inverse_pairs(n, dim, 1e-8, generator, like)
        return {"A": A, "H": H, "x": torch.randn(n, dim, generator=generator, **like),
                "x_star": torch.randn(n, dim, generator=generator, **like),
                "c": 2 * torch.rand(n, generator=generator, **like)}
    return draw


def rate_band_margins(A: torch.Tensor, H: torch.Tensor, x: torch.Tensor, x_star: torch.Tensor, c: torch.Tensor,
                      step=cwss_step) -> torch.Tensor:
    """D6's band (bfgs.cwss.superlinear) on a batch of quadratics f = ½(x − x*)ᵀA(x − x*) with a scalar step
    P = cI and any SPD H: e⁺ = ((1 − c)I − c(HA − I))e, so in the A-norm r = ‖e⁺‖_A/‖e‖_A lies within c‖S − I‖₂ of
    |1 − c|, S = A^{1/2}HA^{1/2}. Margin |r − |1 − c|| − c‖S − I‖₂ − tol, tol = 16d·eps·κ(A)(1 + c‖S‖₂)(1 +
    (‖x‖ + ‖x*‖)/‖e‖): the step's γ_d relative error in x⁺ = x − cHg, measured against ‖e‖ (the cancellation of
    e⁺ = x⁺ − x*), converted between the 2- and A-norms (√κ(A) each way). ``step``: as in
    :func:`contraction_margins` (default implementations.bfgs.cwss_step)."""
    lam, Q = torch.linalg.eigh(A)
    root = (Q * lam.sqrt().unsqueeze(-2)) @ Q.mT
    e = x - x_star
    g = (A @ e.unsqueeze(-1)).squeeze(-1)
    e_next = step(x, g, H, c.unsqueeze(-1).expand_as(x), interval=None) - x_star
    in_a_norm = (root @ torch.stack([e, e_next], dim=-1)).norm(dim=-2)
    ratio = in_a_norm[..., 1] / in_a_norm[..., 0]
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    S = root @ H @ root
    kappa = lam[..., -1] / lam[..., 0]
    tol = 16 * A.shape[-1] * torch.finfo(A.dtype).eps * kappa * (1 + c * torch.linalg.matrix_norm(S, 2)) \
        * (1 + (_vector_norm(x) + _vector_norm(x_star)) / _vector_norm(e))
    return (ratio - (1 - c).abs()).abs() - c * torch.linalg.matrix_norm(S - eye, 2) - tol


def rate_band_margin(instance, like: dict | None = None, step=cwss_step) -> float:
    """:func:`rate_band_margins` of one instance (A, H, x, x_star, c), c a number; ``like``: as in
    :func:`verify.sweep.host_tensor`."""
    return float(rate_band_margins(*batch_of_one(instance, like), step=step)[0])


#: the inputs of a 2-step rollout of :func:`draw_rollout_inputs`, in the order the model is fed them
ROLLOUT_NAMES = tuple(f"{name}{step}" for step in (1, 2) for name in ("x", "g", "d"))


def draw_rollout_inputs(dim: int = 4, like: dict = DRAW_LIKE):
    """Batched 2-step rollouts (x1, g1, d1, x2, g2, d2: :data:`ROLLOUT_NAMES`) of :func:`rollout_margins`
    (bfgs.l2o.output-range's sweep), each (n, dim): per entry 0 (10%), N(0, 1) (30%) or a random sign times e^U
    with U uniform from the log of the smallest subnormal to that of the largest finite number of like's dtype
    (60%: subnormals to overflow's edge), like the search's mix of ±1e308, subnormals, 0 and ordinary values.
    :func:`rollout_steps` turns a batch into the steps the model is fed."""
    info = torch.finfo(like["dtype"])
    low, high = math.log(info.smallest_normal * info.eps), math.log(info.max)

    def entries(n: int, generator) -> torch.Tensor:
        kind = torch.rand(n, dim, generator=generator, **like)
        sign = torch.where(torch.rand(n, dim, generator=generator, **like) < 0.5, -1.0, 1.0)
        huge = sign * torch.exp(low + (high - low) * torch.rand(n, dim, generator=generator, **like)).clamp_max(
            info.max)
        ordinary = torch.randn(n, dim, generator=generator, **like)
        return torch.where(kind < 0.1, 0.0, torch.where(kind < 0.4, ordinary, huge))

    def draw(n: int, generator) -> dict:
        return {name: entries(n, generator) for name in ROLLOUT_NAMES}
    return draw


def rollout_steps(batch: dict) -> list[tuple]:
    """A batch of :func:`draw_rollout_inputs` (or one instance of it) as the rollout's [(x1, g1, d1), (x2, g2, d2)],
    the steps :func:`rollout_margins` feeds the model."""
    return [tuple(batch[f"{name}{step}"] for name in ("x", "g", "d")) for step in (1, 2)]


def rollout_margins(model, steps) -> torch.Tensor:
    """The output-range margin of a step-size model (implementations.bfgs.StepSizeModel) per instance (row) of a
    batch of rollouts: ``steps`` a non-empty sequence of (x, g, d) tensors (B, d) (or (d,): one row, a 0-d result)
    fed in order with the state carried; per row the max over the rollout of max_i(low − P_i, P_i − high, −P_i,
    P_i − 2), (low, high) = model.interval: ≤ 0 when every P lies in the declared interval and in [0, 2]; +inf for
    a row whose P or clipped fraction is not finite, and for every row when the model raises on these (finite)
    inputs. Exact (the output map is a clamp): no tolerance. verify.step_models.rollout_margin is its max over
    the rows."""
    low, high = model.interval
    state, worst = None, None
    for x, g, d in steps:
        try:
            with torch.no_grad():
                P, clipped, state = model(x, g, d, state)
        except (ValueError, RuntimeError, ArithmeticError):
            return torch.full(x.shape[:-1], math.inf, dtype=x.dtype, device=x.device)
        margin = torch.maximum(torch.maximum(low - P, P - high), torch.maximum(-P, P - 2)).amax(-1)
        finite = torch.isfinite(P).all(-1) & torch.isfinite(clipped)
        margin = torch.where(finite, margin, math.inf)
        worst = margin if worst is None else torch.maximum(worst, margin)
    if worst is None:
        raise ValueError("steps must hold at least one (x, g, d) step")
    return worst
