"""QP family and the coordinate-wise model: construction, validation errors, initialisations, kernels."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from implementations.mathl2o import QP, MathL2O
from implementations.mathl2o.kernels import arc_sums, planar_relu_layer


def test_random_qp_has_unit_columns_consistent_targets_and_beta_equal_to_lambda_max():
    qp = QP.random(3, 6, 4, seed=2)
    assert qp.M.shape == (3, 4, 6) and qp.Y.shape == (3, 4)
    torch.testing.assert_close(qp.M.norm(dim=1), torch.ones(3, 6, dtype=torch.float64))
    lam = torch.linalg.eigvalsh(qp.M.transpose(-1, -2) @ qp.M)[:, -1]
    torch.testing.assert_close(qp.beta, lam)
    X = qp.minimum_norm_solution()
    assert float(qp.value(X)) < 1e-20  # y = M x_gt is consistent: F* = 0



@pytest.mark.parametrize("N, d, b", [(1, 7, 3), (3, 6, 4), (10, 64, 50)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_products_are_the_stacked_matrix_and_its_transpose_with_their_gradients(N, d, b, dtype):
    qp = QP.random(N, d, b, seed=5, dtype=dtype)
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(N, d, generator=gen, dtype=dtype, requires_grad=True)
    R = torch.randn(N, b, generator=gen, dtype=dtype, requires_grad=True)
    dense = torch.block_diag(*qp.M)  # 𝐌 as one (N·b) × (N·d) matrix
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(qp.matvec(X), (dense @ X.reshape(-1)).reshape(N, b), **tol)
    torch.testing.assert_close(qp.rmatvec(R), (dense.T @ R.reshape(-1)).reshape(N, d), **tol)
    torch.testing.assert_close(qp.gradient(X), qp.rmatvec(qp.residual(X)), rtol=0, atol=0)
    weights_b, weights_d = torch.randn(N, b, generator=gen, dtype=dtype), torch.randn(N, d, generator=gen, dtype=dtype)
    grad_x, grad_r = torch.autograd.grad((qp.matvec(X) * weights_b).sum() + (qp.rmatvec(R) * weights_d).sum(), (X, R))
    torch.testing.assert_close(grad_x, (dense.T @ weights_b.reshape(-1)).reshape(N, d), **tol)
    torch.testing.assert_close(grad_r, (dense @ weights_d.reshape(-1)).reshape(N, b), **tol)

@pytest.mark.parametrize("kwargs, match", [
    (dict(N=2, d=3, b=4), "b must satisfy"),
    (dict(N=0, d=3, b=2), "N must be >= 1"),
    (dict(N=1, d=0, b=1), "d must be >= 1"),
])
def test_random_qp_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QP.random(**kwargs)


def test_qp_create_rejects_rank_deficient_mismatched_and_non_finite_inputs():
    M = torch.tensor([[[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]], dtype=torch.float64)  # rank 1 < b = 2
    with pytest.raises(ValueError, match="full row rank"):
        QP.create(M, torch.zeros(1, 2))
    good = QP.random(1, 3, 2).M
    with pytest.raises(ValueError, match="Y must have shape"):
        QP.create(good, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="NaN"):
        QP.create(good, torch.tensor([[math.nan, 0.0]]))
    with pytest.raises(ValueError, match="b <= d"):
        QP.create(torch.randn(1, 4, 3), torch.zeros(1, 4))
    with pytest.raises(TypeError):
        QP.create("M", torch.zeros(1, 2))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(width=4, e=0.5), ValueError, "e .* >= 1"),
    (dict(width=4, e=math.inf), ValueError, "e .* >= 1"),
    (dict(width=0), ValueError, "width must be >= 1"),
    (dict(width=4, depth=1), ValueError, "depth must be >= 2"),
    (dict(width=4, init="xavier"), ValueError, "init must be one of"),
    (dict(width=4, depth=2, kernel="planar"), ValueError, "needs the 2→2→H→1"),
    (dict(width=4.0), TypeError, "width must be an int"),
])
def test_model_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        MathL2O(**kwargs)


def test_deterministic_init_is_orthogonal_times_e_with_zero_last_layer():
    model = MathL2O(8, e=7.0, depth=4, seed=3)
    W1, W2, W3, WL = model.weights
    torch.testing.assert_close(W1.T @ W1, 49 * torch.eye(2, dtype=torch.float64))
    torch.testing.assert_close(W2 @ W2.T, 49 * torch.eye(2, dtype=torch.float64))  # orthonormal rows × e
    torch.testing.assert_close(W3.T @ W3, 49 * torch.eye(8, dtype=torch.float64))
    assert bool((WL == 0).all())
    assert bool((MathL2O(8, e=2.0, nonnegative=True).weights[1] >= 0).all())
    z = torch.randn(5, 7, 2, dtype=torch.float64)
    assert bool((model(z) == 1).all())  # 2σ(0) = 1 exactly


def test_random_inits_have_non_zero_last_layer_and_outputs_in_open_interval():
    for init in ("random", "random_last"):
        model = MathL2O(16, e=100.0, init=init, seed=1)
        assert bool((model.last != 0).any())
        P = model(1e3 * torch.randn(200, 2, dtype=torch.float64))
        assert bool(((P >= 0) & (P <= 2)).all())


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 40), width=st.integers(1, 40), seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3))
@example(n=5, width=3, seed=0, scale=1.0)
def test_planar_kernel_equals_dense_relu_layer_in_value_and_gradients(n, width, seed, scale):
    gen = torch.Generator().manual_seed(seed)
    h = (scale * torch.randn(n, 2, generator=gen, dtype=torch.float64)).clamp_min(0.0)
    h[0] = 0.0  # a zero row, as the first ReLU layer produces
    h = h.requires_grad_()
    R = torch.randn(2, width, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(width, 1, generator=gen, dtype=torch.float64, requires_grad=True)
    dense = (torch.relu(h @ R) @ w).squeeze(-1)
    fast = planar_relu_layer(h, R, w)
    weights = torch.randn(n, generator=gen, dtype=torch.float64)
    g_dense = torch.autograd.grad((dense * weights).sum(), (h, R, w))
    g_fast = torch.autograd.grad((fast * weights).sum(), (h, R, w))
    with torch.no_grad():
        scale_out = float((h.abs().sum(1, keepdim=True) @ R.abs().sum(0, keepdim=True)).max() * w.abs().sum()) + 1e-300
    tol = 64 * width * torch.finfo(torch.float64).eps * scale_out  # summation order differs (γ_H bound)
    assert float((dense - fast).detach().abs().max()) <= tol
    for a, b in zip(g_dense, g_fast):
        assert float((a - b).abs().max()) <= 64 * (n + width) * torch.finfo(torch.float64).eps * (
            float(a.abs().max()) + scale_out)


def test_arc_sums_counts_the_half_circle_around_each_center():
    centers = torch.tensor([0.0, math.pi / 2, math.pi], dtype=torch.float64)
    values = torch.eye(3, dtype=torch.float64)
    queries = torch.tensor([0.1, 1.7, -3.0], dtype=torch.float64)
    expected = torch.tensor([[1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=torch.float64)
    torch.testing.assert_close(arc_sums(centers, values, queries), expected)
