"""Stability thresholds for the CWSS step x⁺ = x − P H g with δ = ‖P − I‖_∞ (THEORY.md §2.1 D1, §2.2).

Descent: −PHg is a descent direction for every g iff the symmetric part PH + HP is positive definite.
λ_min(PH + HP) is concave in P (the minimum eigenvalue of an affine matrix function), so its minimum over
the box ‖P − I‖_∞ ≤ δ is attained at a vertex P ∈ {1 − δ, 1 + δ}^d: enumerating the 2^d vertices and
bisecting on δ gives the exact smallest δ* at which descent can fail (derived here).
Sufficient thresholds (derived): δ < 1/κ(H) (D1); the sharper δ < 1/√κ(H): with u = H^{1/2}g,
gᵀPHg = ‖u‖² + uᵀH^{−1/2}(P − I)H^{1/2}u ≥ (1 − δ√κ(H))‖u‖²; and the sharp δ < 2√κ/(κ + 1) (derived
here from Kantorovich's inequality): the angle between g and Hg is at most arccos(2√κ/(κ + 1)), the angle
between g and Pg at most arcsin δ (Kantorovich for P, whose eigenvalues lie in [1 − δ, 1 + δ], gives
cos ≥ √(1 − δ²)), and gᵀPHg = (Pg)ᵀ(Hg) > 0 while the two angles sum to less than π/2, i.e. while
δ < 2√κ/(κ + 1). It is attained in 2-D by H with eigenvectors at 45° to the axes.

Spectral stability on a quadratic with Hessian A: the iteration matrix is I − PHA. A sufficient δ
(derived here): ρ(I − PHA) ≤ ‖I − PHA‖ ≤ ‖I − HA‖ + δ‖HA‖ in any induced norm; in the A-norm
(‖M‖_A = ‖A^{1/2}MA^{−1/2}‖₂), with S = A^{1/2}HA^{1/2}: ‖I − HA‖_A = ‖I − S‖₂ and
‖(P − I)HA‖_A ≤ √κ(A)·δ·‖S‖₂. So ρ < 1 whenever δ < max[(1 − ‖I − S‖₂)/(√κ(A)‖S‖₂),
(1 − ‖I − HA‖₂)/‖HA‖₂]. For H = A⁻¹ this is 1, which is exact (D4).
The largest stable δ itself is searched for: projected gradient ascent of ρ(I − PHA) over the box from
vertices and random interior starts, inside a bisection on δ (an upper estimate of the true threshold,
since every P found is a real witness).
"""

from __future__ import annotations

import itertools

import torch

from implementations.validation import as_tensor, check_spd


def _sqrtm_spd(A: torch.Tensor) -> torch.Tensor:
    lam, Q = torch.linalg.eigh(A)
    return (Q * lam.sqrt()) @ Q.T


def descent_threshold_bounds(H) -> dict[str, float]:
    """{'inverse_kappa': 1/κ(H) (D1), 'inverse_sqrt_kappa': 1/√κ(H), 'kantorovich': 2√κ/(κ + 1)
    (both derived here, module docstring), 'kappa': κ(H)}; 1/κ ≤ 1/√κ ≤ 2√κ/(κ + 1)."""
    H = check_spd("H", as_tensor("H", H))
    lam = torch.linalg.eigvalsh(H)
    kappa = float(lam[-1] / lam[0])
    return {"inverse_kappa": 1.0 / kappa, "inverse_sqrt_kappa": kappa ** -0.5,
            "kantorovich": 2 * kappa ** 0.5 / (kappa + 1), "kappa": kappa}


def min_symmetric_eigenvalue_over_box(H: torch.Tensor, delta: float) -> tuple[float, torch.Tensor]:
    """(min over vertices P of the box of λ_min((PH + HP)/2), the minimising vertex diag)."""
    dim = H.shape[-1]
    signs = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=dim)), dtype=H.dtype, device=H.device)
    P = 1 + delta * signs
    PH = P.unsqueeze(-1) * H
    sym = (PH + PH.transpose(-1, -2)) / 2
    lam_min = torch.linalg.eigvalsh(sym)[:, 0]
    index = int(torch.argmin(lam_min))
    return float(lam_min[index]), P[index]


def descent_failure_threshold(H, tol: float = 1e-12, max_dim: int = 12) -> tuple[float, torch.Tensor]:
    """(δ*, P*): the smallest δ with some ‖P − I‖_∞ ≤ δ making PH + HP not positive definite, by vertex
    enumeration (exact for a given δ) and bisection to absolute accuracy ``tol``; P* is a witness vertex."""
    H = check_spd("H", as_tensor("H", H))
    if H.shape[-1] > max_dim:
        raise ValueError(f"vertex enumeration needs dim <= {max_dim}, got {H.shape[-1]}")
    low, high = 0.0, 1.0
    _, witness = min_symmetric_eigenvalue_over_box(H, high)
    while high - low > tol:
        mid = 0.5 * (low + high)
        value, vertex = min_symmetric_eigenvalue_over_box(H, mid)
        if value <= 0:
            high, witness = mid, vertex
        else:
            low = mid
    return high, witness


def spectral_stability_bound(H, A) -> dict[str, float]:
    """The derived sufficient δ for ρ(I − PHA) < 1 (module docstring): both norms and their max (≥ 0)."""
    H = check_spd("H", as_tensor("H", H))
    A = check_spd("A", as_tensor("A", A, like=H))
    eye = torch.eye(H.shape[-1], dtype=H.dtype, device=H.device)
    root = _sqrtm_spd(A)
    S = root @ H @ root
    lam_A = torch.linalg.eigvalsh(A)
    kappa_A = float(lam_A[-1] / lam_A[0])
    a_norm = ((1 - float(torch.linalg.matrix_norm(eye - S, 2)))
              / (kappa_A ** 0.5 * float(torch.linalg.matrix_norm(S, 2))))
    M = H @ A
    two_norm = (1 - float(torch.linalg.matrix_norm(eye - M, 2))) / float(torch.linalg.matrix_norm(M, 2))
    return {"a_norm": a_norm, "two_norm": two_norm, "bound": max(a_norm, two_norm, 0.0),
            "rho_unperturbed": float(torch.linalg.eigvals(eye - M).abs().max())}


def max_spectral_radius(M: torch.Tensor, delta: float, starts: int = 64, steps: int = 60,
                        generator: torch.Generator | None = None) -> tuple[float, torch.Tensor]:
    """(max found of ρ(I − PM) over ‖P − I‖_∞ ≤ δ, the maximising P), P = 1 + δ tanh(u), Adam ascent on u
    from the 2^d vertices (for d ≤ 8) and random starts."""
    dim = M.shape[-1]
    eye = torch.eye(dim, dtype=M.dtype, device=M.device)
    host = generator.device if generator is not None else torch.device("cpu")  # the starts are drawn there
    inits = [4 * torch.randn(starts, dim, generator=generator, dtype=M.dtype, device=host)]
    if dim <= 8:
        inits.append(6 * torch.tensor(list(itertools.product((-1.0, 1.0), repeat=dim)), dtype=M.dtype, device=host))
    u = torch.cat(inits).to(M.device).requires_grad_(True)
    optimiser = torch.optim.Adam([u], lr=0.1)
    best, best_P = -1.0, torch.ones(dim, dtype=M.dtype, device=M.device)

    def radius(current):
        P = 1 + delta * torch.tanh(current)
        return torch.linalg.eigvals(eye - P.unsqueeze(-1) * M).abs().amax(-1), P

    for _ in range(steps):
        rho, P = radius(u)
        index = int(torch.argmax(rho.detach()))
        if float(rho[index].detach()) > best:
            best, best_P = float(rho[index].detach()), P[index].detach().clone()
        optimiser.zero_grad()
        (-rho.sum()).backward()
        optimiser.step()
    return best, best_P


def spectral_stability_threshold(H, A, tol: float = 1e-3, starts: int = 64, steps: int = 60,
                                 generator: torch.Generator | None = None) -> tuple[float, torch.Tensor]:
    """(δ̂, witness P): the smallest δ in [0, 1] (to ``tol``) at which the search finds ρ(I − PHA) ≥ 1.
    δ = 1 always admits a singular P (p_i = 0), hence ρ ≥ 1 there."""
    H = check_spd("H", as_tensor("H", H))
    A = check_spd("A", as_tensor("A", A, like=H))
    M = H @ A
    low, high = 0.0, 1.0
    witness = torch.ones(H.shape[-1], dtype=H.dtype, device=H.device)
    witness[0] = 0.0
    while high - low > tol:
        mid = 0.5 * (low + high)
        rho, P = max_spectral_radius(M, mid, starts, steps, generator)
        if rho >= 1:
            high, witness = mid, P
        else:
            low = mid
    return high, witness
