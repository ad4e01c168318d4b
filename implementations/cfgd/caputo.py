"""The scaled Caputo gradient of any scalar torch function of a flat vector (THEORY.md §1.2), and the
authors' code variant of it (for the discrepancy claim cfgd.code.sign-for-x-below-c).

Quadrature form, for both signs of x_j − c_j (derived, THEORY.md §1.2; paper Eq. 3/15):
  [D f(x)]_j = C_α Σ_m w_jm [ ∂_j f + β_j (x_j − c_j) ∂²_jj f ](x with x_j := τ_jm),
  τ_jm = c_j + (x_j − c_j)(1 + u_jm)/2,  C_α = (1 − α_j)/2^(1 − α_j),
with (u_jm, w_jm) the s-node Gauss–Jacobi rule for the weight (1 − u)^(−α_j).

Efficiency. The s·d points x + (τ_jm − x_j) e_j differ from x in one coordinate each, so ∂_j f and ∂²_jj f
there are the first and second derivatives of φ_j(t) = f(x + t e_j). Three routes, cheapest first:
(1) an objective that provides ``coordinate_partials(x, j, t[, probes])`` (closed-form φ', φ'' and, for Hutchinson
probes v, the mixed (H v)_j; the one-hidden-layer MLPs of implementations.problems.flat_mlp) is called batched
over all points;
(2) an objective that provides ``coordinate_line(x, j, t)`` = φ_j(t) (a rank-one correction of one shared
forward pass) is differentiated in t by nested forward-mode ``jvp`` under ``vmap``;
(3) any f: one forward-over-forward ``jvp`` with the one-hot tangent e_j at a full copy of x returns both
partials at once (no backward pass, no full gradient per point), ``vmap``-ed over points in chunks.
A Hutchinson probe v needs (H v)_j = ∂_v ∂_j f(y), the same nested jvp with tangents (e_j, v), so in routes (2)
and (3) a probe costs as much as the exact ∂²_jj. Measured figures: benchmarks/cfgd_caputo_step.md.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.func import jvp, vmap

from implementations.cfgd.gauss_jacobi import MAX_NODES, gauss_jacobi
from implementations.cfgd.hutchinson import rademacher_probes
from implementations.validation import (
    broadcast_per_coordinate,
    check_bool,
    check_callable,
    check_finite,
    check_generator,
    check_open_interval,
    check_positive_int,
)

HESSIAN_MODES = ("exact", "hutchinson", "hutchinson-abs")
DEFAULT_CHUNK = 256


def caputo_constant(alpha: torch.Tensor) -> torch.Tensor:
    """C_α = Γ(2−α)/(Γ(1−α) 2^(1−α)) = (1−α)/2^(1−α) (derived, THEORY.md §1.2)."""
    return (1 - alpha) / torch.pow(2.0, 1 - alpha)


def _check_inputs(f, x, alpha, beta, c, nodes: int, hessian: str, probes: int, generator, chunk_size):
    """Validated (alpha, beta, c) broadcast to x; f callable (and of x's size when it states one)."""
    check_callable("f", f)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError("x must be a floating torch tensor")
    if x.dim() != 1 or x.numel() == 0:
        raise ValueError(f"x must be a flat non-empty vector of shape (d,), got shape {tuple(x.shape)}")
    size = getattr(f, "dim", None)
    if isinstance(size, int) and not isinstance(size, bool) and size != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} entries but f is a function of {size} variables")
    check_finite("x", x)
    check_generator("generator", generator)
    if chunk_size is not None:
        check_positive_int("chunk_size", chunk_size)
    check_positive_int("nodes", nodes, maximum=MAX_NODES)
    if hessian not in HESSIAN_MODES:
        raise ValueError(f"hessian must be one of {HESSIAN_MODES}, got {hessian!r}")
    check_positive_int("probes", probes)
    alpha = broadcast_per_coordinate("alpha", alpha, x)
    check_open_interval("alpha", alpha, 0.0, 1.0)
    beta = check_finite("beta", broadcast_per_coordinate("beta", beta, x))
    c = check_finite("c", broadcast_per_coordinate("c", c, x))
    return alpha, beta, c


def coordinate_derivatives(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, index: torch.Tensor,
                           values: torch.Tensor, hessian: str = "exact", probe_vectors: torch.Tensor | None = None,
                           chunk_size: int | None = None, structured: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """First and second partials along single coordinates at points that differ from x in one coordinate.

    Point i is y_i = x with coordinate index[i] replaced by values[i]; returns (g, h) with
      g_i = ∂_{index[i]} f(y_i) and
      h_i = ∂²_jj f(y_i) (hessian="exact"),
            (1/K) Σ_k v_kj (H(y_i) v_k)_j, j = index[i] (hessian="hutchinson", unbiased), or
            (1/K) Σ_k |v_kj (H(y_i) v_k)_j| (hessian="hutchinson-abs", the authors' code).
    probe_vectors: (K, d) Rademacher probes, shared by all points (each coordinate's estimate has the
    distribution of an independent draw; only cross-coordinate correlations differ from fresh probes).
    structured: if f.has_coordinate_structure is true and f provides ``coordinate_line(x, j, t)`` = f(x + t e_j)
    (vmappable over (j, t); e.g. the one-hidden-layer MLPs of implementations.problems.flat_mlp, which compute it
    as a rank-one correction of one shared forward pass), differentiate that in t (and in x along v for a probe)
    instead of f at a full copy of x per point; when f also provides
    ``f.coordinate_partials(x, j, t[, probe_vectors])`` (both partials, or the probes' mixed partials, in closed
    form, batched over points) use that. Same values to round-off; far cheaper for networks.
    chunk_size: points per batched call; None gives the closed form every point in one call (it shares its base
    and tangent passes across them and chunks the rest itself) and DEFAULT_CHUNK points to the other routes.
    Everything is computed on detached inputs (values carry no autograd graph). Derived.
    """
    x = x.detach()
    index, values = index.detach(), values.detach()
    dim = x.shape[0]
    if hessian != "exact" and probe_vectors is None:
        raise ValueError("probe_vectors (K, d) are required for a Hutchinson estimate")
    structured = structured and bool(getattr(f, "has_coordinate_structure", False))
    line = getattr(f, "coordinate_line", None) if structured else None
    closed_form = getattr(f, "coordinate_partials", None) if structured else None
    if closed_form is not None or line is not None:
        if closed_form is not None:
            per_point = _closed_form_derivatives(closed_form, x, hessian, probe_vectors)
        else:
            per_point = _line_derivatives(line, x, hessian, probe_vectors)

        def arguments(idx, vals):
            return idx, vals - x[idx]
    else:
        per_point = _copy_derivatives(f, hessian, probe_vectors)
        basis_rows = torch.eye(dim, dtype=x.dtype, device=x.device)

        def arguments(idx, vals):
            points = x.expand(idx.shape[0], dim).clone()
            points[torch.arange(idx.shape[0], device=x.device), idx] = vals
            return points, basis_rows[idx]
    if chunk_size is None:
        chunk_size = max(index.shape[0], 1) if closed_form is not None else DEFAULT_CHUNK
    check_positive_int("chunk_size", chunk_size)
    firsts, seconds = [], []
    for start in range(0, index.shape[0], chunk_size):
        g, h = per_point(*arguments(index[start:start + chunk_size], values[start:start + chunk_size]))
        firsts.append(g)
        seconds.append(h)
    return torch.cat(firsts), torch.cat(seconds)


def reduce_probes(hessian: str, estimates: torch.Tensor, probe_axis: int) -> torch.Tensor:
    """Hutchinson's estimate from the per-probe products v_kj (H v_k)_j: (1/K) Σ_k over ``probe_axis``, or of their
    absolute values (hessian="hutchinson-abs", the authors' code)."""
    return (estimates.abs() if hessian == "hutchinson-abs" else estimates).mean(probe_axis)


def _closed_form_derivatives(closed_form, x, hessian, probe_vectors):
    """Batched over points (j, shift): closed_form(x, j, shift) = (φ', φ''), or with the probes
    (φ', M), M[i, k] = (H v_k)_j, reduced to the Hutchinson estimate (1/K) Σ_k v_kj M[i, k]."""
    if hessian == "exact":
        return lambda idx, shift: closed_form(x, idx, shift)

    def probed(idx, shift):
        first, mixed = closed_form(x, idx, shift, probe_vectors)
        return first, reduce_probes(hessian, probe_vectors[:, idx].T * mixed, probe_axis=-1)
    return probed


def _copy_derivatives(f, hessian, probe_vectors):
    """vmap over points y (full copies) and one-hot tangents e: nested jvp along e (and v for probes)."""

    def along(e: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda z: jvp(f, (z,), (e,))[1]

    def exact(y: torch.Tensor, e: torch.Tensor):
        return jvp(along(e), (y,), (e,))

    def probed(y: torch.Tensor, e: torch.Tensor):
        def one_probe(v: torch.Tensor):
            first, mixed = jvp(along(e), (y,), (v,))
            return first, (e * v).sum() * mixed
        firsts, estimates = vmap(one_probe)(probe_vectors)
        return firsts[0], reduce_probes(hessian, estimates, probe_axis=0)

    return vmap(exact if hessian == "exact" else probed)


def _line_derivatives(line, x, hessian, probe_vectors):
    """vmap over (j, shift t) of φ_j(t) = line(x, j, t): g = φ'(t), h = φ''(t), or for a probe v
    (H v)_j = ∂_v φ_j'(t) by a jvp in x along v (x and v are shared, so the base pass is not batched)."""
    one = torch.ones((), dtype=x.dtype, device=x.device)

    def slope(z, j, t):
        return jvp(lambda r: line(z, j, r), (t,), (one,))[1]

    def exact(j, t):
        return jvp(lambda r: slope(x, j, r), (t,), (one,))

    def probed(j, t):
        def one_probe(v: torch.Tensor):
            first, mixed = jvp(lambda z: slope(z, j, t), (x,), (v,))
            return first, v[j] * mixed
        firsts, estimates = vmap(one_probe)(probe_vectors)
        return firsts[0], reduce_probes(hessian, estimates, probe_axis=0)

    return vmap(exact if hessian == "exact" else probed)


def _node_derivatives(f, x, tau, hessian, probes, generator, chunk_size, structured=True):
    """(g, h) of shape (d, s) at the points x with x_j := tau[j, m]."""
    dim, s = tau.shape
    index = torch.arange(dim, device=x.device).repeat_interleave(s)
    probe_vectors = None if hessian == "exact" else rademacher_probes(probes, x, generator)
    try:
        g, h = coordinate_derivatives(f, x, index, tau.reshape(-1), hessian, probe_vectors, chunk_size, structured)
    except torch.OutOfMemoryError:
        raise
    except (RuntimeError, IndexError) as exc:  # f is no scalar function of a vector of x's shape
        raise ValueError(f"f must be a scalar torch function of a flat vector of shape {tuple(x.shape)} that "
                         f"torch.func can differentiate; evaluating its partials failed: {type(exc).__name__}: "
                         f"{exc}") from exc
    if g.numel() != index.numel() or h.numel() != index.numel():
        raise ValueError(f"f must be a scalar torch function of x: its partials have shape {tuple(g.shape)}, "
                         f"not one per point {tuple(index.shape)}")
    return g.reshape(dim, s), h.reshape(dim, s)


def caputo_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, alpha, beta=0.0, c=0.0,
                    nodes: int = 1, hessian: str = "exact", probes: int = 3,
                    generator: torch.Generator | None = None, chunk_size: int | None = None,
                    structured: bool = True) -> torch.Tensor:
    """The scaled Caputo gradient [D f(x)]_j = C_α Σ_m w_jm [∂_j f + β_j (x_j−c_j) ∂²_jj f](x; x_j := τ_jm).

    Derived (THEORY.md §1.2; paper Eq. 3/15 with Shin et al.'s β-smoothing, Eq. 6). Valid on both sides of
    c: for x_j < c_j the nodes τ_jm lie between x_j and c_j and the factor (x_j − c_j) is negative.
    f: scalar torch function of a flat vector (composable with torch.func.jvp/vmap).
    x: (d,) floating tensor; alpha ∈ (0,1), beta, c: scalars or per-coordinate tensors broadcastable to x.
    nodes: s ≥ 1 Gauss–Jacobi nodes (the paper uses 1). hessian: "exact" ∂²_jj via a nested jvp,
    "hutchinson" (K = ``probes`` Rademacher probes, unbiased) or "hutchinson-abs" (the code's |v⊙Hv|).
    structured: use f.coordinate_line when f has one (see coordinate_derivatives); False forces full copies.
    Meta-gradients: when alpha, beta or c require grad, the result is differentiable in them: through the
    rule (u, w)(α), β, the explicit (x − c), and through the node τ by the first-order link
    ∂g/∂τ = ∂²_jj f (the ∂³f term of the β part is dropped). x itself is treated as a constant (as in
    Andrychowicz et al.; the authors' code detaches it too).
    Raises TypeError/ValueError for bad input (α ∉ (0,1), s < 1, shapes, non-finite x, unknown mode).
    """
    alpha, beta, c = _check_inputs(f, x, alpha, beta, c, nodes, hessian, probes, generator, chunk_size)
    check_bool("structured", structured)
    x_const = x.detach()
    u, w = gauss_jacobi(nodes, alpha)
    offset = (x_const - c).unsqueeze(-1)
    tau = c.unsqueeze(-1) + offset * (1 + u) / 2
    g, h = _node_derivatives(f, x_const, tau, hessian, probes, generator, chunk_size, structured)
    g = g + h * (tau - tau.detach())
    integrand = g + beta.unsqueeze(-1) * offset * h
    return caputo_constant(alpha) * (w * integrand).sum(-1)


def authors_caputo_direction(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, alpha, beta=0.0,
                             c=0.0, nodes: int = 1, probes: int = 3, generator: torch.Generator | None = None,
                             hessian: str = "hutchinson-abs", chunk_size: int | None = None) -> torch.Tensor:
    """The direction of the authors' general CFGD optimizer ("code": fl2o/optimizer.py, class CFGD, step):
      d_j = C_α Σ_m w_jm [ ∂_j f(x; x_j := τ'_jm) + β_j |x_j − c_j| Ĥ_jj(x; x_j := τ'_jm) ],
      τ'_jm = c_j + |x_j − c_j| (1 + u_jm)/2,  Ĥ_jj = (1/K) Σ_k |v_kj (H v_k)_j|.
    Reproduced from reading the code (not copied). For x_j ≥ c_j it equals caputo_gradient with the
    absolute Hutchinson curvature; for x_j < c_j the nodes are reflected about c_j (τ' = 2c_j − τ, on the far
    side of c_j from x_j) and the β-term keeps a + sign where §1.2 has (x_j − c_j) < 0.
    ``hessian`` may be set to "exact" to use |∂²_jj f| instead of the probes (for deterministic checks).
    """
    alpha, beta, c = _check_inputs(f, x, alpha, beta, c, nodes, hessian, probes, generator, chunk_size)
    x_const = x.detach()
    u, w = gauss_jacobi(nodes, alpha)
    distance = (x_const - c).abs().unsqueeze(-1)
    tau = c.unsqueeze(-1) + distance * (1 + u) / 2
    g, h = _node_derivatives(f, x_const, tau, hessian, probes, generator, chunk_size)
    integrand = g + beta.unsqueeze(-1) * distance * h.abs()
    return caputo_constant(alpha) * (w * integrand).sum(-1)


def reference_coordinate_derivatives(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                                     index: torch.Tensor, values: torch.Tensor,
                                     probe_vectors: torch.Tensor | None,
                                     chunk_size: int = DEFAULT_CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
    """The authors' approach, written here as a baseline: one full parameter copy per point, a reverse-mode
    gradient of the summed losses w.r.t. all copies (create_graph), then one Hessian-vector product per
    probe (double backward), keeping only coordinate index[i] of copy i. ``probe_vectors`` (K, d) as in
    coordinate_derivatives (None gives only g, with h = 0). Used by the benchmark and by its equality test.
    """
    if probe_vectors is None:
        probe_vectors = torch.zeros(0, x.shape[0], dtype=x.dtype, device=x.device)
    batched_f = vmap(f)
    firsts, seconds = [], []
    for start in range(0, index.shape[0], chunk_size):
        idx = index[start:start + chunk_size]
        rows = torch.arange(idx.shape[0], device=x.device)
        points = x.detach().expand(idx.shape[0], x.shape[0]).clone()
        points[rows, idx] = values[start:start + chunk_size].detach()
        points.requires_grad_(True)
        with torch.enable_grad():
            grads = torch.autograd.grad(batched_f(points).sum(), points, create_graph=probe_vectors.shape[0] > 0)[0]
            estimate = torch.zeros(idx.shape[0], dtype=x.dtype, device=x.device)
            for k, v in enumerate(probe_vectors):
                hv = torch.autograd.grad((grads * v).sum(), points, retain_graph=k < probe_vectors.shape[0] - 1)[0]
                estimate = estimate + v[idx] * hv[rows, idx]
        firsts.append(grads.detach()[rows, idx])
        seconds.append(estimate / max(probe_vectors.shape[0], 1))
    return torch.cat(firsts), torch.cat(seconds)
