"""The batched margins of the CFGD sweeps (verify.margins.cfgd): each agrees with its one-instance version on the
instances of a batch, and flags an implementation broken on purpose."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch

from implementations.cfgd.caputo import authors_caputo_direction, caputo_gradient
from implementations.cfgd.gauss_jacobi import gauss_jacobi
from implementations.cfgd.hutchinson import hutchinson_estimate
from implementations.cfgd.quadratic import at_cfgd
from verify.margins.cfgd import (
    BlockQuadratic,
    SeparablePolynomial,
    abs_hutchinson_generic_estimate,
    abs_hutchinson_margins,
    caputo_form_margin,
    caputo_form_margins,
    caputo_power_margin,
    caputo_power_margins,
    closed_form_margin,
    exactness_margin,
    exactness_margins,
    heavy_ball_margin,
    heavy_ball_margins,
    hutchinson_enumeration_margin,
    hutchinson_enumeration_margins,
    linear_exact_margin,
    linear_exact_ratios,
    oracle_rule_row,
    quadratic_form_margins,
    quadrature_direction_affine,
    rule_identity_margins,
    rule_identity_margins_by_count,
)

F64 = {"dtype": torch.float64, "device": "cpu"}
N = 6  # instances per batch: each one is also checked on its own (mpmath oracles are slow)


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uniform(low: float, high: float, *shape: int, generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(*shape, generator=generator, **F64)


def _spd(n: int, d: int, low: float, high: float, generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, d, d, generator=generator, **F64))
    A = (q * _uniform(low, high, n, d, generator=generator).unsqueeze(-2)) @ q.mT
    return (A + A.mT) / 2


def _instance(batch: dict, index: int) -> dict:
    return {key: value[index].tolist() for key, value in batch.items()}


def _perturbed_weights(s, alpha, factor=1 + 1e-9):
    nodes, weights = gauss_jacobi(s, alpha)
    return nodes, weights * factor


def _shifted_nodes(s, alpha, shift=1e-12):
    nodes, weights = gauss_jacobi(s, alpha)
    return nodes + shift, weights


# ---- power rule and identity normaliser ------------------------------------------------------------------------

def _power_batch(side_both: bool = True) -> dict:
    gen = _generator(1)
    c = _uniform(-2, 2, N, generator=gen)
    h = 1e-2 * torch.exp(math.log(1e4) * torch.rand(N, generator=gen, **F64))
    side = torch.tensor([1.0, -1.0] * (N // 2), **F64) if side_both else torch.ones(N, **F64)
    return {"alpha": _uniform(0.02, 0.98, N, generator=gen), "k": torch.tensor([1.0, 1.0, 2.0, 3.0, 5.0, 8.0], **F64),
            "c": c, "x": c + side * h}


def test_power_rule_margins_agree_with_the_mpmath_recheck_on_each_instance():
    batch = _power_batch(side_both=False)
    margins = caputo_power_margins(batch, 4)
    assert bool((margins <= 0).all())
    for i in range(N):  # same value and bound, the mpmath definition instead of the closed form
        assert caputo_power_margin(_instance(batch, i), 4) == pytest.approx(float(margins[i]), abs=0.1)


def test_power_rule_margins_hold_on_both_sides_and_flag_weights_off_by_a_billionth():
    batch = _power_batch()
    assert bool((caputo_power_margins(batch, 4) <= 0).all())
    assert bool((caputo_power_margins(batch, 4, rule=_perturbed_weights) > 0).all())
    assert caputo_power_margin(_instance(batch, 3), 4, rule=_perturbed_weights) > 0


# ---- the quadrature form (caputo_gradient) on separable polynomials --------------------------------------------

def _form_batch(degree: int = 6) -> dict:
    gen = _generator(2)
    c = _uniform(-1.5, 1.5, N, generator=gen)
    side = torch.tensor([1.0, -1.0] * (N // 2), **F64)
    return {"coefficients": _uniform(-1, 1, N, degree + 1, generator=gen),
            "alpha": _uniform(0.02, 0.98, N, generator=gen), "beta": _uniform(-2, 2, N, generator=gen),
            "c": c, "x": c + side * _uniform(0.1, 3, N, generator=gen)}


def test_separable_polynomial_partials_are_the_autograd_ones():
    batch = _form_batch()
    f = SeparablePolynomial(batch["coefficients"], batch["c"])
    y, index, t = batch["x"], torch.arange(N), _uniform(-1, 1, N, generator=_generator(3))
    first, second = f.coordinate_partials(y, index, t)
    point = (y + t).requires_grad_(True)
    grad = torch.autograd.grad(f(point), point, create_graph=True)[0]
    curvature = torch.stack([torch.autograd.grad(grad[j], point, retain_graph=True)[0][j] for j in range(N)])
    torch.testing.assert_close(first, grad.detach())
    torch.testing.assert_close(second, curvature)


def test_caputo_form_margins_agree_with_the_mpmath_recheck_on_each_instance():
    batch = _form_batch()
    margins = caputo_form_margins(batch, 3)
    assert bool((margins <= 0).all())
    for i in range(N):
        assert caputo_form_margin(_instance(batch, i), 3) == pytest.approx(float(margins[i]), abs=0.1)


def test_caputo_form_margins_flag_the_authors_direction_below_c_and_a_dropped_beta_term():
    batch = _form_batch(degree=2)
    authors = partial(authors_caputo_direction, hessian="exact")
    below = batch["x"] < batch["c"]
    margins = caputo_form_margins(batch, 1, authors)
    assert bool((margins[below] > 0).all())
    assert caputo_form_margin(_instance(batch, 1), 1, authors) > 0  # instance 1 lies below c

    def without_beta(f, x, alpha, beta, c, nodes):
        return caputo_gradient(f, x, alpha, 0.0, c, nodes=nodes)

    assert bool((caputo_form_margins(batch, 1, without_beta) > 0).all())


# ---- the quadratic closed form against the quadrature form -----------------------------------------------------

def _quadratic_batch(d: int = 3) -> dict:
    gen = _generator(4)
    q, _ = torch.linalg.qr(torch.randn(N, d, d, generator=gen, **F64))
    A = (q * _uniform(-10, 10, N, d, generator=gen).unsqueeze(-2)) @ q.mT
    return {"A": (A + A.mT) / 2, "b": _uniform(-5, 5, N, d, generator=gen), "x": _uniform(-3, 3, N, d, generator=gen),
            "alpha": _uniform(0.02, 0.98, N, d, generator=gen), "beta": _uniform(-3, 3, N, d, generator=gen),
            "c": _uniform(-3, 3, N, d, generator=gen)}


def test_block_quadratic_gives_caputo_gradient_each_quadratics_own_direction():
    batch = _quadratic_batch()
    keys = ("alpha", "beta", "c")
    stacked = caputo_gradient(BlockQuadratic(batch["A"], batch["b"]), batch["x"].reshape(-1),
                              *(batch[k].reshape(-1) for k in keys), nodes=2).reshape(N, -1)
    for i in range(N):
        A, b = batch["A"][i], batch["b"][i]
        alone = caputo_gradient(lambda y, A=A, b=b: 0.5 * y @ A @ y + b @ y, batch["x"][i],
                                *(batch[k][i] for k in keys), nodes=2)
        torch.testing.assert_close(stacked[i], alone)


def test_quadratic_form_margins_and_the_mpmath_margin_agree_that_the_closed_form_holds():
    batch = _quadratic_batch()
    margins = quadratic_form_margins(*(batch[k] for k in ("A", "b", "x", "alpha", "beta", "c")))
    assert bool((margins <= 0).all())
    for i in range(N):
        assert closed_form_margin({k: np.array(v) for k, v in _instance(batch, i).items()}) <= 0


def test_quadratic_form_margins_flag_a_closed_form_with_the_wrong_sign_of_gamma():
    batch = _quadratic_batch()

    def flipped(A, b, x, alpha, beta, c):
        return (A @ x.unsqueeze(-1)).squeeze(-1) + b + (beta + (1 - alpha) / (2 - alpha)) * torch.diagonal(
            A, dim1=-2, dim2=-1) * (x - c)

    margins = quadratic_form_margins(*(batch[k] for k in ("A", "b", "x", "alpha", "beta", "c")), direction=flipped)
    assert bool((margins > 0).all())
    assert closed_form_margin({k: np.array(v) for k, v in _instance(batch, 0).items()}, flipped) > 0


# ---- scaled linear exactness -----------------------------------------------------------------------------------

def test_linear_exact_ratios_agree_with_the_one_instance_margin_and_flag_a_missing_factor():
    gen = _generator(5)
    batch = {"gradient": _uniform(-10, 10, N, 3, generator=gen), "x": _uniform(-5, 5, N, 3, generator=gen),
             "c": _uniform(-5, 5, N, 3, generator=gen), "alpha": _uniform(0.02, 0.98, N, 3, generator=gen),
             "beta": _uniform(-5, 5, N, 3, generator=gen)}
    direction = partial(quadrature_direction_affine, **F64)

    def wrong_constant(gradient, x, c, alpha, beta, s):
        return direction(gradient, x, c, alpha, beta, s) * torch.pow(2.0, torch.as_tensor(1 - alpha, **F64))

    for s in (1, 3):
        args = [batch[k] for k in ("gradient", "x", "c", "alpha", "beta")]
        margins = linear_exact_ratios(direction(*args, s), batch["gradient"], s)
        assert bool((margins <= 0).all())
        for i in range(N):
            instance = {**{k: np.array(v) for k, v in _instance(batch, i).items()}, "s": s}
            assert linear_exact_margin(instance, direction) == pytest.approx(float(margins[i]), rel=1e-9, abs=1e-12)
        assert bool((linear_exact_ratios(wrong_constant(*args, s), batch["gradient"], s) > 0).all())


# ---- Gauss–Jacobi exactness and the rule's defining identities ------------------------------------------------

def _exactness_batch() -> dict:
    gen = _generator(6)
    return {"alpha": _uniform(0.02, 0.98, N, generator=gen), "s": torch.tensor([1.0, 2.0, 3.0, 5.0, 8.0, 10.0], **F64),
            "coefficients": _uniform(-1, 1, N, 20, generator=gen)}


def test_exactness_margins_agree_with_the_mpmath_margin_on_each_instance():
    batch = _exactness_batch()
    margins = exactness_margins(batch["alpha"], batch["s"], batch["coefficients"])
    assert bool((margins <= 0).all())
    for i in range(N):
        s = int(batch["s"][i])
        one = exactness_margin(dict(s=s, alpha=float(batch["alpha"][i]),
                                    coefficients=batch["coefficients"][i, :2 * s].numpy()), like=F64)
        assert one <= 0 and one == pytest.approx(float(margins[i]), abs=0.5)


def test_exactness_margins_flag_weights_off_by_a_billionth():
    batch = _exactness_batch()
    assert bool((exactness_margins(batch["alpha"], batch["s"], batch["coefficients"], _perturbed_weights) > 0).all())


def test_rule_identity_margins_agree_with_the_mpmath_rule():
    gen = _generator(7)
    alpha = _uniform(0.01, 0.99, N, generator=gen)
    for s in (1, 2, 7, 16):
        margins = rule_identity_margins(alpha, s)
        assert bool((margins <= 0).all())
        for i in (0, N - 1):
            assert oracle_rule_row(float(alpha[i]), s, F64)["margin"] <= 0
    counts = torch.tensor([1.0, 16.0, 4.0, 4.0, 9.0, 2.0], **F64)
    by_count = rule_identity_margins_by_count(alpha, counts)
    for i in range(N):
        assert float(by_count[i]) == float(rule_identity_margins(alpha[i:i + 1], int(counts[i]))[0])


@pytest.mark.parametrize("broken", [_perturbed_weights, _shifted_nodes], ids=["weights", "nodes"])
def test_rule_identity_margins_flag_a_rule_off_by_a_billionth_or_a_trillionth(broken):
    alpha = _uniform(0.01, 0.99, N, generator=_generator(8))
    for s in (2, 7, 16):
        assert bool((rule_identity_margins(alpha, s, broken) > 0).all())
        assert oracle_rule_row(float(alpha[0]), s, F64, broken)["margin"] > 0


# ---- heavy ball and Hutchinson ---------------------------------------------------------------------------------

def _heavy_ball_batch(d: int = 3) -> dict:
    gen = _generator(9)
    return {"A": _spd(N, d, 0.5, 5, gen), "b": _uniform(-3, 3, N, d, generator=gen),
            "x0": _uniform(-3, 3, N, d, generator=gen), "alpha": _uniform(0.05, 0.95, N, d, generator=gen),
            "beta": _uniform(-1, 1, N, d, generator=gen), "lr_fraction": _uniform(0.01, 1, N, generator=gen)}


def test_heavy_ball_margins_agree_with_the_one_instance_margin_and_flag_a_terminal_lagging_two_steps():
    batch = _heavy_ball_batch()
    keys = ("A", "b", "x0", "alpha", "beta", "lr_fraction")
    margins = heavy_ball_margins(*(batch[k] for k in keys))
    assert bool((margins <= 0).all())
    for i in range(N):
        one = heavy_ball_margin({k: np.array(v) for k, v in _instance(batch, i).items()})
        assert one == pytest.approx(float(margins[i]), abs=1e-3)
    lag_two = partial(at_cfgd, lag=2)
    assert bool((heavy_ball_margins(*(batch[k] for k in keys), runner=lag_two) > 0).all())
    assert heavy_ball_margin({k: np.array(v) for k, v in _instance(batch, 0).items()}, lag_two) > 0


def test_hutchinson_enumeration_margins_agree_with_the_one_matrix_margin_and_flag_a_biased_estimator():
    H = _uniform(-5, 5, N, 5, 5, generator=_generator(10))
    H = (H + H.mT) / 2
    margins = hutchinson_enumeration_margins(H)
    assert bool((margins <= 0).all())
    for i in range(N):
        assert hutchinson_enumeration_margin(H[i].numpy()) == pytest.approx(float(margins[i]), abs=1e-6)

    def biased(hvp, probes):
        return hutchinson_estimate(hvp, probes).abs()

    assert bool((hutchinson_enumeration_margins(H, biased) > 0).any())
    assert bool((hutchinson_enumeration_margins(H, lambda hvp, probes: 1.01 * hutchinson_estimate(hvp, probes)) > 0)
                .all())


def test_abs_hutchinson_margins_agree_with_the_generic_route_and_flag_an_estimate_without_the_absolute_value():
    G = torch.randn(N, 6, 6, generator=_generator(11), **F64)
    H = (G + G.mT) / 2
    margins = abs_hutchinson_margins(H)
    assert bool((margins <= 0).all())
    for i in range(N):
        one = float(abs_hutchinson_margins(H[i:i + 1], abs_hutchinson_generic_estimate)[0])
        assert one == pytest.approx(float(margins[i]), abs=1e-3)

    def signed(matrices):  # the unbiased estimate: averages to H_jj, off the enumerated E|·| and below it
        return torch.diagonal(matrices, dim1=-2, dim2=-1).clone()

    assert bool((abs_hutchinson_margins(H, signed) > 0).all())
