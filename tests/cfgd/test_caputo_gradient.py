"""Tests of implementations.cfgd.caputo: the scaled Caputo gradient of any function (THEORY.md §1.2)."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from implementations.cfgd.caputo import (
    authors_caputo_direction,
    caputo_gradient,
    coordinate_derivatives,
    reference_coordinate_derivatives,
)
from implementations.cfgd.quadratic import quadratic_direction
from theory.cfgd import scaled_caputo_mp

EPS = float(np.finfo(np.float64).eps)


def random_quadratic(seed: int, d: int):
    gen = torch.Generator().manual_seed(seed)
    M = torch.randn(d, d, generator=gen, dtype=torch.float64)
    A = (M + M.T) / 2
    b = torch.randn(d, generator=gen, dtype=torch.float64)
    return A, b, gen


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**16), nodes=st.integers(1, 3), below=st.booleans())
@example(seed=0, nodes=1, below=True)
def test_caputo_gradient_equals_quadratic_closed_form_on_both_sides_of_c(seed, nodes, below):
    """D f = Ax + b + γ⊙r⊙(x − c), γ = β − (1−α)/(2−α): the s-node rule is exact (integrand of degree 1);
    tolerance 1e3·eps·(‖A‖_max·(‖x‖_1+‖c‖_1) + ‖b‖_∞) covers the summation round-off."""
    d = 5
    A, b, gen = random_quadratic(seed, d)
    x = torch.randn(d, generator=gen, dtype=torch.float64)
    offset = torch.rand(d, generator=gen, dtype=torch.float64) + 0.1
    c = x + offset if below else x - offset
    alpha = torch.rand(d, generator=gen, dtype=torch.float64) * 0.9 + 0.05
    beta = torch.randn(d, generator=gen, dtype=torch.float64)
    ours = caputo_gradient(lambda v: 0.5 * v @ A @ v + b @ v, x, alpha, beta, c, nodes=nodes)
    closed = quadratic_direction(A, b, x, alpha, beta, c)
    scale = A.abs().max() * (x.abs().sum() + c.abs().sum()) * (1 + beta.abs().max()) + b.abs().max()
    assert (ours - closed).abs().max() <= 1e3 * EPS * scale


@pytest.mark.parametrize("x,c", [(-0.8, 1.0), (1.3, -0.4)])
def test_caputo_gradient_matches_mpmath_oracle_for_sin_on_both_sides(x, c):
    """Non-polynomial f = sin: 12 nodes; the rule's error for an entire integrand with |x−c| ≤ 2 is below
    (|x−c|/2)^24/24! ≈ 1e-24, so the tolerance is round-off: 1e3·eps."""
    alpha, beta = 0.7, 0.4
    ours = caputo_gradient(torch.sin, torch.tensor([x], dtype=torch.float64), alpha, beta, c, nodes=12).item()
    with mp.workdps(30):
        oracle = float(scaled_caputo_mp(mp.cos, lambda t: -mp.sin(t), x, c, alpha, beta))
    assert abs(ours - oracle) <= 1e3 * EPS


def test_caputo_gradient_tends_to_gradient_as_alpha_tends_to_one():
    """α → 1, β = 0: the single node τ = c + (x−c)/(2−α) → x, so D f → ∇f (error O(1−α))."""
    A, b, gen = random_quadratic(1, 4)

    def f(v):
        return torch.sum(torch.exp(v)) + 0.5 * v @ A @ v + b @ v

    x = torch.randn(4, generator=gen, dtype=torch.float64)
    gradient = torch.func.grad(f)(x)
    errors = [(caputo_gradient(f, x, 1 - h, 0.0, x - 1.0) - gradient).abs().max().item() for h in (1e-2, 1e-4)]
    assert errors[1] < errors[0] / 50


def test_hutchinson_mode_equals_exact_when_the_hessian_is_diagonal():
    """(v⊙Hv)_j = H_jj exactly for diagonal H, whatever the probes (the estimator's variance Σ_{k≠j}H_jk²/K is 0)."""
    def f(v):
        return torch.sum(torch.cos(v) * torch.arange(1, 6, dtype=v.dtype))

    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    exact = caputo_gradient(f, x, 0.4, 0.7, 0.3)
    probed = caputo_gradient(f, x, 0.4, 0.7, 0.3, hessian="hutchinson", probes=3,
                             generator=torch.Generator().manual_seed(0))
    assert torch.allclose(exact, probed, rtol=0, atol=1e3 * EPS)


def test_vectorised_coordinate_derivatives_equal_one_copy_per_coordinate_reference():
    """The nested-jvp route and the authors' route (one parameter copy per point, reverse mode, double
    backward per probe) agree to round-off with the same probes."""
    A, b, gen = random_quadratic(2, 7)

    def f(v):
        return torch.log1p(torch.exp(v @ A @ v / 7)) + b @ torch.tanh(v)

    x = torch.randn(7, generator=gen, dtype=torch.float64)
    index = torch.arange(7).repeat_interleave(2)
    values = torch.randn(14, generator=gen, dtype=torch.float64)
    probes = (2 * torch.randint(0, 2, (3, 7), generator=gen) - 1).to(torch.float64)
    ours = coordinate_derivatives(f, x, index, values, "hutchinson", probes, chunk_size=5)
    reference = reference_coordinate_derivatives(f, x, index, values, probes, chunk_size=4)
    for a, r in zip(ours, reference):
        assert torch.allclose(a, r, rtol=1e-12, atol=1e-12)


def test_meta_gradient_in_c_matches_the_closed_form_derivative():
    """On a quadratic ∂D_j/∂c_j = −γ_j A_jj (from D = Ax + b + γ⊙r⊙(x − c)); the first-order node link gives it."""
    A, b, gen = random_quadratic(3, 4)
    x = torch.randn(4, generator=gen, dtype=torch.float64)
    c = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    alpha, beta = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.6, dtype=torch.float64)
    D = caputo_gradient(lambda v: 0.5 * v @ A @ v + b @ v, x, alpha, beta, c)
    (grad_c,) = torch.autograd.grad(D.sum(), c)
    gamma = beta - (1 - alpha) / (2 - alpha)
    assert torch.allclose(grad_c, -gamma * torch.diagonal(A), atol=1e-12)


def test_authors_direction_agrees_above_c_and_differs_below_c():
    """Code variant: equal to ours for x > c with a convex 1-D quadratic; reflected node and flipped β-sign for
    x < c."""
    def f(v):
        return (v * v).sum() - 0.5 * v.sum()

    for x, c, same in ((2.0, 1.0, True), (-1.0, 1.0, False)):
        xt = torch.tensor([x], dtype=torch.float64)
        ours = caputo_gradient(f, xt, 0.5, 0.3, c)
        authors = authors_caputo_direction(f, xt, 0.5, 0.3, c, hessian="exact")
        assert bool(torch.allclose(ours, authors)) == same


@pytest.mark.parametrize("kwargs,error,word", [
    (dict(alpha=1.0), ValueError, "alpha"), (dict(alpha=0.0), ValueError, "alpha"),
    (dict(nodes=0), ValueError, "nodes"), (dict(nodes=1.5), TypeError, "nodes"),
    (dict(c=torch.zeros(2)), ValueError, "c"), (dict(beta=float("nan")), ValueError, "beta"),
    (dict(hessian="diag"), ValueError, "hessian"), (dict(probes=0), ValueError, "probes"),
    (dict(chunk_size=0), ValueError, "chunk_size"),
])
def test_caputo_gradient_rejects_bad_arguments(kwargs, error, word):
    args = dict(alpha=0.5, beta=0.0, c=0.0, nodes=1)
    args.update(kwargs)
    with pytest.raises(error, match=word):
        caputo_gradient(lambda v: (v ** 2).sum(), torch.zeros(3, dtype=torch.float64), **args)


def test_caputo_gradient_rejects_non_finite_or_non_flat_x():
    with pytest.raises(ValueError, match="x"):
        caputo_gradient(lambda v: (v ** 2).sum(), torch.tensor([0.0, math.nan], dtype=torch.float64), 0.5)
    with pytest.raises(ValueError, match="x"):
        caputo_gradient(lambda v: (v ** 2).sum(), torch.zeros(2, 2, dtype=torch.float64), 0.5)


def small_mlps():
    from implementations.problems.flat_mlp import FlatMLPObjective
    gen = torch.Generator().manual_seed(4)
    X = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    yield FlatMLPObjective.create((3, 4, 2), "tanh", True, X, torch.randn(20, 2, generator=gen, dtype=torch.float64),
                                  "half-sse")
    yield FlatMLPObjective.create((3, 5, 4), "relu", True, X, torch.randint(0, 4, (20,), generator=gen),
                                  "cross-entropy")
    yield FlatMLPObjective.create((3, 4, 1), "tanh", False, X, torch.randn(20, 1, generator=gen, dtype=torch.float64),
                                  "half-sse")


@pytest.mark.parametrize("mode", ["exact", "hutchinson", "hutchinson-abs"])
def test_structured_mlp_routes_equal_the_generic_full_copy_route(mode):
    """coordinate_partials (closed form) and coordinate_line (rank-one line + jvp) give the generic values."""
    for problem in small_mlps():
        x = problem.initial_point(torch.Generator().manual_seed(0))
        kwargs = dict(nodes=2, hessian=mode, probes=3)
        fast = caputo_gradient(problem, x, 0.35, -0.4, 0.2, generator=torch.Generator().manual_seed(1), **kwargs)
        slow = caputo_gradient(problem, x, 0.35, -0.4, 0.2, generator=torch.Generator().manual_seed(1),
                               structured=False, **kwargs)
        assert torch.allclose(fast, slow, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("mode", ["exact", "hutchinson", "hutchinson-abs"])
def test_least_squares_closed_form_route_equals_the_generic_full_copy_route(mode):
    """LeastSquares.coordinate_partials (∇f_j + t Q_jj, Q_jj, (Q v)_j) gives the generic route's values, on
    both sides of c."""
    from implementations.problems.least_squares import LeastSquares
    gen = torch.Generator().manual_seed(6)
    problem = LeastSquares.random_cfgd(7, 5, gen)
    x = torch.randn(7, generator=gen, dtype=torch.float64)
    c = torch.where(torch.arange(7) % 2 == 0, x + 0.7, x - 0.4)
    kwargs = dict(nodes=2, hessian=mode, probes=3)
    fast = caputo_gradient(problem, x, 0.3, 0.8, c, generator=torch.Generator().manual_seed(1), **kwargs)
    slow = caputo_gradient(problem, x, 0.3, 0.8, c, generator=torch.Generator().manual_seed(1),
                           structured=False, **kwargs)
    assert problem.has_coordinate_structure
    assert torch.allclose(fast, slow, rtol=1e-12, atol=1e-14)


def test_mlp_coordinate_partials_equal_differentiating_the_coordinate_line():
    """φ_j'(t), φ_j''(t) in closed form equal the nested jvp of t ↦ coordinate_line(x, j, t)."""
    for problem in small_mlps():
        x = problem.initial_point(torch.Generator().manual_seed(2))
        index = torch.arange(problem.dim)
        shifts = torch.linspace(-0.7, 0.9, problem.dim, dtype=torch.float64)
        g, h = problem.coordinate_partials(x, index, shifts)
        one = torch.ones((), dtype=torch.float64)
        for j in (0, problem.dim // 2, problem.dim - 1):
            def slope(t, problem=problem, x=x, j_index=index[j], one=one):
                return torch.func.jvp(lambda r: problem.coordinate_line(x, j_index, r), (t,), (one,))[1]

            g_j, h_j = torch.func.jvp(slope, (shifts[j],), (one,))
            assert torch.allclose(g[j], g_j, atol=1e-13) and torch.allclose(h[j], h_j, atol=1e-13)


def test_mlp_probe_mixed_partials_equal_hessian_vector_products():
    """M[i, k] of coordinate_partials(x, j, t, probes) equals (H(y_i) v_k)_j, H the full Hessian at
    y_i = x + t_i e_j."""
    for problem in small_mlps():
        x = problem.initial_point(torch.Generator().manual_seed(3))
        index = torch.arange(problem.dim)
        shifts = torch.linspace(-0.8, 0.6, problem.dim, dtype=torch.float64)
        probes = torch.randn(2, problem.dim, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
        g, mixed = problem.coordinate_partials(x, index, shifts, probes)
        assert mixed.shape == (problem.dim, 2)
        for j in (0, 1, problem.dim // 2, problem.dim - 2, problem.dim - 1):
            y = x.clone()
            y[j] += shifts[j]
            hessian = torch.func.hessian(problem)(y)
            assert torch.allclose(g[j], torch.func.grad(problem)(y)[j], atol=1e-13)
            assert torch.allclose(mixed[j], (hessian @ probes.T)[j], atol=1e-12)


def test_deeper_mlps_fall_back_to_the_generic_route():
    from implementations.problems.flat_mlp import FlatMLPObjective
    gen = torch.Generator().manual_seed(5)
    X = torch.randn(10, 2, generator=gen, dtype=torch.float64)
    problem = FlatMLPObjective.create((2, 3, 3, 1), "tanh", True, X,
                                      torch.randn(10, 1, generator=gen, dtype=torch.float64), "half-sse")
    x = problem.initial_point(gen)
    D = caputo_gradient(problem, x, 0.999999, 0.0, 0.0)
    assert torch.allclose(D, torch.func.grad(problem)(x), atol=1e-4)


@pytest.mark.parametrize("mode", ["exact", "hutchinson", "hutchinson-abs"])
def test_an_objective_returning_a_one_element_tensor_is_accepted_in_every_mode(mode):
    """f(x) of shape (1,) (e.g. ½ a x² + b x on a 1-vector) is treated like its scalar."""
    x = torch.tensor([-1.0], dtype=torch.float64)

    def vector_f(v):
        return v * v - v

    def scalar_f(v):
        return (v * v - v).sum()

    kwargs = dict(alpha=0.5, beta=0.3, c=1.0, hessian=mode, probes=3)
    a = caputo_gradient(vector_f, x, generator=torch.Generator().manual_seed(0), **kwargs)
    b = caputo_gradient(scalar_f, x, generator=torch.Generator().manual_seed(0), **kwargs)
    assert a.shape == (1,) and torch.allclose(a, b)
