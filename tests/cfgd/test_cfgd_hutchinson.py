"""Hutchinson's diagonal estimator: exactness over all sign vectors, shapes, generator, dtype, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from implementations.cfgd.hutchinson import hutchinson_diagonal, hutchinson_estimate, rademacher_probes
from verify.margins.cfgd import all_rademacher_vectors, hutchinson_enumeration_margin


@given(d=st.integers(1, 7), seed=st.integers(0, 2**31))
@settings(deadline=None, max_examples=30)
def test_average_over_all_sign_vectors_is_exactly_the_diagonal(d, seed):
    H = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    H = H + H.T
    estimate = hutchinson_estimate(lambda v: v @ H, all_rademacher_vectors(d))
    torch.testing.assert_close(estimate, torch.diagonal(H), rtol=0, atol=8 * d * 2.2e-16 * float(H.abs().sum(-1).max()))


def test_enumeration_margin_detects_a_biased_estimator():
    H = np.array([[1.0, 2.0], [2.0, -3.0]])
    assert hutchinson_enumeration_margin(H) <= 0
    biased = lambda hvp, probes: hutchinson_estimate(hvp, probes).abs()  # noqa: E731  (the code's |v⊙Hv| idea)
    assert hutchinson_enumeration_margin(H, biased) > 0
    doubled = lambda hvp, probes: 2 * hutchinson_estimate(hvp, probes)  # noqa: E731
    assert hutchinson_enumeration_margin(H, doubled) > 0


def test_diagonal_matrix_is_recovered_by_a_single_probe():
    H = torch.diag(torch.tensor([1.0, -2.0, 5.0], dtype=torch.float64))
    torch.testing.assert_close(hutchinson_diagonal(lambda v: v @ H, 3, 1), torch.diagonal(H))


def test_probes_are_signs_with_the_requested_shape_dtype_and_device(device):
    like = torch.zeros(4, 3, dtype=torch.float32, device=device)
    probes = rademacher_probes(5, like, torch.Generator().manual_seed(1))
    assert probes.shape == (5, 4, 3) and probes.dtype == torch.float32 and probes.device == like.device
    assert set(probes.unique().tolist()) <= {-1.0, 1.0}


def test_generator_makes_the_estimate_reproducible():
    H = torch.randn(6, 6, dtype=torch.float64)
    H = H + H.T
    first = hutchinson_diagonal(lambda v: v @ H, 6, 3, torch.Generator().manual_seed(7))
    second = hutchinson_diagonal(lambda v: v @ H, 6, 3, torch.Generator().manual_seed(7))
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_torch_func_hvp_of_a_nonquadratic_objective_is_accepted():
    from torch.func import grad, jvp, vmap

    x = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    f = lambda z: torch.sum(torch.sin(z) * z ** 2) + z[0] * z[1]  # noqa: E731
    hvp = vmap(lambda v: jvp(grad(f), (x,), (v,))[1])
    hessian = torch.autograd.functional.hessian(f, x)
    estimate = hutchinson_estimate(hvp, all_rademacher_vectors(3))
    torch.testing.assert_close(estimate, torch.diagonal(hessian))


def test_float32_like_gives_float32_estimate():
    like = torch.zeros(3, dtype=torch.float32)
    H = torch.eye(3, dtype=torch.float32)
    assert hutchinson_diagonal(lambda v: v @ H, like, 2).dtype == torch.float32


@pytest.mark.parametrize("probes, error", [(0, ValueError), (1.5, TypeError)])
def test_bad_probe_count_is_rejected(probes, error):
    with pytest.raises(error, match="probes"):
        hutchinson_diagonal(lambda v: v, 3, probes)


def test_bad_dimension_and_wrong_hvp_shape_are_rejected():
    with pytest.raises(ValueError, match="dim_or_like"):
        hutchinson_diagonal(lambda v: v, 0, 2)
    with pytest.raises(TypeError, match="dim_or_like"):
        hutchinson_diagonal(lambda v: v, torch.zeros(3, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="hvp"):
        hutchinson_diagonal(lambda v: v.sum(-1), 3, 2)
