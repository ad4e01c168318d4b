"""The inverse BFGS update with curvature safeguards, batched over a leading dimension.

H⁺ = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ,  ρ = 1/(yᵀs)   (Nocedal & Wright, Numerical Optimization,
Eq. 6.17). It satisfies the secant equation H⁺y = s and keeps H⁺ ≻ 0 exactly when yᵀs > 0 (derived,
THEORY.md §2.2 bfgs.update.secant-spd). Safeguards for yᵀs ≤ 0 (THEORY.md §2.1 D5):
- ``"skip"``: keep H when yᵀs ≤ ε‖s‖‖y‖ (ε = ``curvature_eps``);
- ``"damp"``: Powell damping (N&W Procedure 18.2): replace y by r = θy + (1 − θ)Bs, with
  θ = 1 if sᵀy ≥ 0.2 sᵀBs, else 0.8 sᵀBs / (sᵀBs − sᵀy), B = H⁻¹; then sᵀr ≥ 0.2 sᵀBs > 0;
- ``"none"``: apply the formula whatever the sign (for experiments; H⁺ is then indefinite when yᵀs < 0).
"""

from __future__ import annotations

import torch

from implementations.validation import check_choice, check_finite, check_number, check_real_tensor, check_spd

SAFEGUARDS = ("skip", "damp", "none")


def _matvec(matrix: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    return (matrix @ vector.unsqueeze(-1)).squeeze(-1)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1)


def _update_factors(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(w, u) with H⁺ = H + w uᵀ + u wᵀ: u = s/(yᵀs), w = (1 + yᵀHy/yᵀs) s/2 − Hy (derived from N&W Eq. 6.17:
    H⁺ = H − u(Hy)ᵀ − (Hy)uᵀ + (1 + yᵀHy/yᵀs) u sᵀ, and u sᵀ = s uᵀ because u ∥ s)."""
    ys = _dot(y, s)
    hy = _matvec(H, y)
    u = s / ys.unsqueeze(-1)
    w = ((1 + _dot(y, hy) / ys) / 2).unsqueeze(-1) * s - hy
    return w, u


def _rank_two(H: torch.Tensor, w: torch.Tensor, u: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """H + w uᵀ + u wᵀ as one batched matmul over the stacked factors (one pass over the d×d entries), written
    into ``out`` (a contiguous tensor like H, not H itself) when given: a fresh d×d result per iteration costs
    more than the update (on the CNN, d = 1503, its pages are zero-filled on first touch)."""
    left, right = torch.stack([w, u], dim=-1), torch.stack([u, w], dim=-1)
    if H.dim() == 2:
        return torch.addmm(H, left, right.T, out=out) if out is not None else torch.addmm(H, left, right.T)

    def flat(t):
        return t.reshape(-1, *t.shape[-2:])

    if out is not None:
        torch.baddbmm(flat(H), flat(left), flat(right).transpose(-1, -2), out=flat(out))
        return out
    return torch.baddbmm(flat(H), flat(left), flat(right).transpose(-1, -2)).reshape(H.shape)


def inverse_bfgs_formula(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """H⁺ = H + w uᵀ + u wᵀ, u = s/(yᵀs), w = (1 + yᵀHy/yᵀs) s/2 − Hy: N&W Eq. 6.17 as a symmetric rank-two
    update (code; _update_factors).

    Written with u = ρs and the ratio yᵀHy/yᵀs rather than ρ² yᵀHy, which overflows for tiny s and y
    (‖s‖‖y‖ ≲ 1e-154; a hypothesis property test found s = y ≈ 1e-97). Symmetric to round-off (the matmul
    may fuse the two products of an entry differently from its mirror's: |H⁺ − H⁺ᵀ| ≲ 2 eps |w||u|).
    Batched: H (..., d, d), s and y (..., d). No safeguard: yᵀs = 0 gives non-finite entries.
    """
    return _rank_two(H, *_update_factors(H, s, y))


def powell_damped_y(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor,
                    bs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(r, damped): Powell's r = θy + (1−θ)Bs with B = H⁻¹ (N&W Procedure 18.2); ``damped`` is θ < 1.

    ``bs``: Bs when the caller knows it without a solve (for the quasi-Newton step s = −αHg it is −αg
    exactly); otherwise Bs is solved from H, an O(d³) factorisation per update."""
    if bs is None:
        bs = torch.linalg.solve(H, s.unsqueeze(-1)).squeeze(-1)
    sbs = _dot(s, bs)
    sy = _dot(s, y)
    damped = sy < 0.2 * sbs
    theta = torch.where(damped, 0.8 * sbs / (sbs - sy), torch.ones_like(sy))
    return theta.unsqueeze(-1) * y + (1 - theta).unsqueeze(-1) * bs, damped


def inverse_bfgs_update(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor, safeguard: str = "skip",
                        curvature_eps: float = 1e-10,
                        bs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(H⁺, fired): the safeguarded inverse BFGS update of H (..., d, d) with step s and gradient change y.

    ``fired`` (...,) is True where the safeguard acted (update skipped, or y damped). With ``"skip"``
    an instance is skipped when yᵀs ≤ curvature_eps·‖s‖‖y‖ (this includes s = 0 or y = 0). With either
    safeguard an update whose rank-two factors overflow (yᵀs > 0 too small to divide by) is skipped and fired.
    ``bs``: H⁻¹s if the caller knows it (used by ``"damp"`` only, see :func:`powell_damped_y`).
    Checked: H a finite symmetric positive-definite (batch of) matrix (the safeguards' guarantee H⁺ ≻ 0
    needs it; a Cholesky factorisation per call), s, y (and bs) finite real tensors of shape H.shape[:-1],
    curvature_eps in [0, 1) (by Cauchy–Schwarz yᵀs ≤ ‖s‖‖y‖, so 1 would skip every update). The solvers
    call :func:`safeguarded_update`, which skips these checks, once per iteration.
    """
    check_choice("safeguard", safeguard, SAFEGUARDS)
    check_number("curvature_eps", curvature_eps, 0.0, 1.0, high_open=True)
    check_real_tensor("H", H, finite=False)
    if H.dim() < 2 or H.shape[-1] != H.shape[-2]:
        raise ValueError(f"H must be a (batch of) square matrices, got shape {tuple(H.shape)}")
    for name, tensor in (("s", s), ("y", y)) + ((("bs", bs),) if bs is not None else ()):
        check_real_tensor(name, tensor, finite=False, nonempty=False)
    if s.shape != H.shape[:-1] or y.shape != s.shape:
        raise ValueError(f"s and y must have shape {tuple(H.shape[:-1])}, got s {tuple(s.shape)}, y {tuple(y.shape)}")
    if bs is not None and bs.shape != s.shape:
        raise ValueError(f"bs must have the shape of s, {tuple(s.shape)}, got {tuple(bs.shape)}")
    for name, tensor in (("s", s), ("y", y)) + ((("bs", bs),) if bs is not None else ()):
        check_finite(name, tensor)
    check_spd("H", H)
    return safeguarded_update(H, s, y, safeguard, curvature_eps, bs)


def safeguarded_update(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor, safeguard: str = "skip",
                       curvature_eps: float = 1e-10, bs: torch.Tensor | None = None,
                       out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`inverse_bfgs_update` without its input checks (for the solvers' inner loops, whose H is SPD
    by construction and whose s, y are checked finite there); ``out``: a contiguous buffer like H (not H) to
    write H⁺ into (the skip and damp paths)."""
    if safeguard == "none":
        return inverse_bfgs_formula(H, s, y), torch.zeros(s.shape[:-1], dtype=torch.bool, device=s.device)
    if safeguard == "damp":
        y, fired = powell_damped_y(H, s, y, bs)
        usable = _dot(y, s) > 0
        fired = fired | ~usable
    else:
        usable = _dot(y, s) > curvature_eps * torch.linalg.vector_norm(s, dim=-1) * torch.linalg.vector_norm(y, dim=-1)
        fired = ~usable
    # skipped instances get zero factors, so H + 0 is H exactly; placeholders keep their arithmetic finite
    safe_s = torch.where(usable.unsqueeze(-1), s, torch.ones_like(s))
    safe_y = torch.where(usable.unsqueeze(-1), y, torch.ones_like(y))
    w, u = _update_factors(H, safe_s, safe_y)
    # yᵀs > 0 but so small that s/(yᵀs) overflows (e.g. a subnormal y): H⁺ is not representable, so skip it
    # too; max|w|·max|u| ≤ max/4 keeps every entry H_ij + w_i u_j + u_i w_j finite while |H_ij| ≤ max/2
    size = w.abs().amax(-1) * u.abs().amax(-1)
    representable = torch.isfinite(size) & (size <= torch.finfo(size.dtype).max / 4)
    fired = fired | (usable & ~representable)
    usable = usable & representable
    w, u = (torch.where(usable.unsqueeze(-1), factor, torch.zeros_like(factor)) for factor in (w, u))
    return _rank_two(H, w, u, out), fired


def condition_number(H: torch.Tensor) -> torch.Tensor:
    """κ(H) = λ_max/λ_min of a symmetric (batch of) matrix; inf when λ_min ≤ 0 (not SPD). κ(B) = κ(H⁻¹) = κ(H)."""
    eig = torch.linalg.eigvalsh(H)
    lam_min, lam_max = eig[..., 0], eig[..., -1]
    return torch.where(lam_min > 0, lam_max / lam_min.clamp_min(torch.finfo(H.dtype).tiny),
                       torch.full_like(lam_min, float("inf")))
