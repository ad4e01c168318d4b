"""Hypothesis strategies for the random instances THEORY.md needs (§4), as float64 numpy arrays.

Every strategy is built from shrinkable parts (eigenvalues, Givens angles, entries), so a failing instance
shrinks toward a small, readable one: angles toward 0 (axis-aligned), spectra toward equal eigenvalues.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def finite_floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def alphas(low: float = 0.05, high: float = 0.95) -> st.SearchStrategy[float]:
    """Fractional orders α in [low, high] ⊂ (0, 1), away from the ends by default."""
    if not 0 < low <= high < 1:
        raise ValueError(f"need 0 < low <= high < 1, got low={low}, high={high}")
    return finite_floats(low, high)


def vectors(dim: int, bound: float = 10.0, low: float | None = None) -> st.SearchStrategy[np.ndarray]:
    """Vectors of length ``dim`` with entries in [low, bound] (low defaults to −bound)."""
    return hnp.arrays(np.float64, (dim,), elements=finite_floats(-bound if low is None else low, bound))


def givens_orthogonal(angles: np.ndarray, dim: int) -> np.ndarray:
    """The product of Givens rotations G(i, j, θ_ij) over all pairs i < j (angles in pair order)."""
    q = np.eye(dim)
    pairs = [(i, j) for i in range(dim) for j in range(i + 1, dim)]
    if len(angles) != len(pairs):
        raise ValueError(f"need {len(pairs)} angles for dim={dim}, got {len(angles)}")
    for (i, j), theta in zip(pairs, angles):
        c, s = np.cos(theta), np.sin(theta)
        rotation = np.eye(dim)
        rotation[i, i] = rotation[j, j] = c
        rotation[i, j], rotation[j, i] = -s, s
        q = q @ rotation
    return q


@st.composite
def orthogonal_matrices(draw, dim: int) -> np.ndarray:
    """Orthogonal dim×dim matrices as products of Givens rotations with drawn angles."""
    angles = draw(hnp.arrays(np.float64, (dim * (dim - 1) // 2,), elements=finite_floats(-np.pi, np.pi)))
    return givens_orthogonal(angles, dim)


@st.composite
def spectra(draw, dim: int, cond_max: float = 1e3, scale_low: float = 1e-2, scale_high: float = 1e2) -> np.ndarray:
    """Sorted positive eigenvalues λ_1 ≤ … ≤ λ_dim with λ_min = scale and λ_max/λ_min ≤ cond_max.

    The extreme eigenvalues are drawn explicitly (condition number as a parameter), inner ones in between.
    """
    scale = draw(finite_floats(scale_low, scale_high))
    cond = draw(finite_floats(1.0, cond_max))
    inner = draw(hnp.arrays(np.float64, (max(dim - 2, 0),), elements=finite_floats(0.0, 1.0)))
    values = np.concatenate([[1.0], 1.0 + (cond - 1.0) * np.sort(inner), [cond]])[:dim]
    if dim == 1:
        values = np.array([1.0])
    return scale * np.sort(values)


@st.composite
def spd_matrices(draw, dim: int | st.SearchStrategy[int] = 3, cond_max: float = 1e3,
                 scale_low: float = 1e-2, scale_high: float = 1e2) -> np.ndarray:
    """Symmetric positive definite matrices Q diag(λ) Qᵀ with a chosen spectrum (see :func:`spectra`)."""
    n = draw(dim) if isinstance(dim, st.SearchStrategy) else dim
    q = draw(orthogonal_matrices(n))
    lam = draw(spectra(n, cond_max, scale_low, scale_high))
    matrix = (q * lam) @ q.T
    return (matrix + matrix.T) / 2


@st.composite
def full_row_rank_gaussian(draw, b: int, d: int, min_singular: float = 1e-3) -> np.ndarray:
    """b×d Gaussian-like matrices (entries drawn in [−3, 3]) with unit-norm columns and full row rank.

    Instances whose smallest singular value falls below ``min_singular`` are rejected (assumed away).
    """
    if b > d:
        raise ValueError(f"full row rank needs b <= d, got b={b}, d={d}")
    m = draw(hnp.arrays(np.float64, (b, d), elements=finite_floats(-3.0, 3.0)))
    norms = np.linalg.norm(m, axis=0)
    from hypothesis import assume

    assume(np.all(norms > 1e-6))
    m = m / norms
    assume(np.linalg.svd(m, compute_uv=False)[-1] > min_singular)
    return m
