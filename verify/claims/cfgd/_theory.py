"""CFGD theory and core claims (THEORY.md §1.1–1.3): Caputo identities, the Gauss–Jacobi form, the quadratic
closed form, NA-/AT-CFGD dynamics and Hutchinson's estimator.

Margins follow verify.search: a positive margin is a violation by that much. Every tolerance is derived
next to the check from the working precision (float64 eps = 2^-52, or the mpmath precision) and the
conditioning of the computation; the checks that honour float32 (verify.catalogue: ClaimSpec.dtypes) take eps and
the underflow unit from ctx.dtype (:func:`precision`).

Helpers shared by several of the claims of this package."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import torch

from verify.margins.cfgd import ORACLE_DPS, precision
from verify.sweep import random_orthogonal, with_eigenvalues

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
    return with_eigenvalues(q, lam).to(**(like or host))


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


def draw_na_instances(dim: int, eigenvalue_range: tuple[float, float], beta_range: tuple[float, float],
                      like: dict):
    """A sweep's draw (verify.sweep) of NA-CFGD instances with A + G ≻ 0: A = Q diag(λ) Qᵀ (Q Haar-orthogonal,
    λ uniform in ``eigenvalue_range``), b, c, x0 ~ N(0, I), α ~ U[0.05, 0.95], β uniform in ``beta_range`` and then
    raised where needed to γ_j r_j ≥ −0.9 λ_min(A) (β_j ≥ (1−α_j)/(2−α_j) − 0.9 λ_min(A)/A_jj), which makes
    A + G ⪰ 0.1 λ_min(A) I; every tensor created on ``like``'s device in its dtype from the sweep's generator."""
    low, high = eigenvalue_range

    def draw(n: int, generator) -> dict:
        q = random_orthogonal(n, dim, generator, like)
        lam = low + (high - low) * torch.rand(n, dim, generator=generator, **like)
        A = with_eigenvalues(q, lam)
        b, c, x0 = (torch.randn(n, dim, generator=generator, **like) for _ in range(3))
        alpha = 0.05 + 0.9 * torch.rand(n, dim, generator=generator, **like)
        beta = beta_range[0] + (beta_range[1] - beta_range[0]) * torch.rand(n, dim, generator=generator, **like)
        floor = (1 - alpha) / (2 - alpha) - 0.9 * lam.amin(-1, keepdim=True) / torch.diagonal(A, dim1=-2, dim2=-1)
        return {"A": A, "b": b, "c": c, "x0": x0, "alpha": alpha, "beta": torch.maximum(beta, floor)}
    return draw
