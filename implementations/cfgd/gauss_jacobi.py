"""Gauss–Jacobi quadrature for the weight (1 − u)^(−α) on [−1, 1] (THEORY.md §1.2).

The s-node rule integrates ∫_{-1}^{1} (1 − u)^(−α) p(u) du exactly for every polynomial p of degree ≤ 2s − 1.
Nodes are the roots of the Jacobi polynomial P_s^(−α, 0); the weights sum to μ₀ = 2^(1−α)/(1−α).

Computed by Golub–Welsch (Golub & Welsch 1969): the nodes are the eigenvalues of the symmetric tridiagonal
Jacobi matrix of the three-term recurrence of P_n^(a,b) with a = −α, b = 0, and the weights are μ₀ times the
squared first components of the normalised eigenvectors. ``torch.linalg.eigh`` is batched, so a tensor of
per-coordinate α gives one rule per coordinate in one call, on α's device and in α's dtype.
"""

from __future__ import annotations

import torch

from implementations.validation import as_tensor, check_open_interval, check_positive_int

#: More nodes are never needed (the rule is exact to degree 2s − 1) and each rule is an O(s³) eigenproblem.
MAX_NODES = 1000


def order_gap(dtype: torch.dtype) -> float:
    """The smallest 1 − α for which the s ≥ 2 rule is computed in ``dtype`` to about half its digits: √eps.

    The Golub–Welsch weights carry a relative error of about eps/(1 − α) (measured against the mpmath rule of
    theory.cfgd: 1e-8 at 1 − α = 1e-8, 1e-4 at 1e-12, 25% at 3e-16; at 1 − α = 2⁻⁵³ the Jacobi matrix
    divides by 2 − α − 1 = 0 and every node is NaN), so 1 − α >= √eps keeps it below √eps.
    """
    return torch.finfo(dtype).eps ** 0.5


def check_order(alpha: torch.Tensor, s: int) -> torch.Tensor:
    """Every α in (0, 1) (s = 1: the closed form holds on all of it) or, for s >= 2, in (0, 1 − √eps]."""
    check_open_interval("alpha", alpha, 0.0, 1.0)
    if s >= 2:
        gap = order_gap(alpha.dtype)
        too_close = alpha > 1 - gap
        if bool(too_close.any()):
            raise ValueError(f"alpha must lie in (0, 1 − {gap:.3g}] for an s = {s} node rule in {alpha.dtype} (the "
                             f"Golub–Welsch weights lose about eps/(1 − alpha) relative accuracy), got "
                             f"{alpha[too_close].flatten()[0].item()!r}")
    return alpha


def jacobi_matrix(s: int, alpha: torch.Tensor) -> torch.Tensor:
    """The s×s Jacobi matrix of the monic recurrence of P_n^(a,b), a = −α, b = 0 (batched over α).

    With σ = 2n + a + b (here a + b = −α):
      diagonal   a_n = (b² − a²) / (σ (σ + 2)),  n = 0..s−1  (n = 0: (b − a)/(a + b + 2), the removable case),
      off-diag.  b_n = sqrt( 4 n (n + a)(n + b)(n + a + b) / (σ² (σ + 1)(σ − 1)) ),  n = 1..s−1.
    Source: the standard Jacobi recurrence (e.g. Gautschi, "Orthogonal Polynomials", Table 1.1).
    """
    a = -alpha.unsqueeze(-1)
    b = torch.zeros_like(a)
    n = torch.arange(s, dtype=alpha.dtype, device=alpha.device)
    sigma = 2 * n + a + b
    diagonal = (b * b - a * a) / (sigma * (sigma + 2))
    diagonal[..., 0] = ((b - a) / (a + b + 2))[..., 0]
    matrix = torch.diag_embed(diagonal)
    if s > 1:
        m = n[1:]
        sig = 2 * m + a + b
        off = torch.sqrt(4 * m * (m + a) * (m + b) * (m + a + b) / (sig * sig * (sig + 1) * (sig - 1)))
        matrix = matrix + torch.diag_embed(off, offset=1) + torch.diag_embed(off, offset=-1)
    return matrix


def total_weight(alpha: torch.Tensor) -> torch.Tensor:
    """μ₀ = ∫_{-1}^{1} (1 − u)^(−α) du = 2^(1−α)/(1−α)."""
    return torch.pow(2.0, 1 - alpha) / (1 - alpha)


def gauss_jacobi(s: int, alpha) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of the s-node Gauss–Jacobi rule for the weight (1 − u)^(−α) on [−1, 1].

    alpha: a float (gives float64 tensors of shape (s,)) or a tensor of per-coordinate α (gives shape
    alpha.shape + (s,), in alpha's dtype and on alpha's device). Nodes are sorted ascending.
    s = 1 uses the closed form u₁ = α/(2 − α), w₁ = 2^(1−α)/(1−α) (differentiable in α); s ≥ 2 uses
    Golub–Welsch (eigh is differentiable too: the Jacobi matrix has simple eigenvalues).
    Raises TypeError if s is not an int, ValueError if s is outside [1, MAX_NODES] or any α is NaN or outside
    (0, 1), or, for s >= 2, above 1 − √eps of its dtype (see :func:`order_gap`).
    """
    check_positive_int("s", s, maximum=MAX_NODES)
    alpha = check_order(as_tensor("alpha", alpha), s)
    mu0 = total_weight(alpha)
    if s == 1:
        return (alpha / (2 - alpha)).unsqueeze(-1), mu0.unsqueeze(-1)
    eigenvalues, eigenvectors = torch.linalg.eigh(jacobi_matrix(s, alpha))
    weights = mu0.unsqueeze(-1) * eigenvectors[..., 0, :] ** 2
    return eigenvalues, weights
