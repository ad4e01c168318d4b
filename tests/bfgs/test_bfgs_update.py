"""Unit and property tests of the inverse BFGS update and its safeguards (implementations.bfgs.update)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings

from implementations.bfgs import condition_number, inverse_bfgs_formula, inverse_bfgs_update
from verify.strategies import spd_matrices, vectors


@settings(deadline=None, max_examples=50)
@given(spd_matrices(3, cond_max=1e3), vectors(3, 5.0), vectors(3, 5.0))
@example(np.eye(3), np.full(3, 8.8e-98), np.full(3, 8.8e-98))  # ρ² yᵀHy overflowed in the first formula
@example(np.eye(3), np.ones(3), np.full(3, 5e-324))  # s/(yᵀs) overflows: H⁺ was returned as all inf, unflagged
@example(np.eye(3), np.array([-3.0, 1.0, 1.0]), np.full(3, -2.45206208e-274))  # torch's ‖y‖ underflowed to 0
def test_inverse_bfgs_update_satisfies_secant_and_stays_spd_when_curvature_positive(H, s, y):
    H, s, y = (torch.as_tensor(v) for v in (H, s, y))
    ys = float(y @ s)
    norms = math.hypot(*s.tolist()) * math.hypot(*y.tolist())  # hypot does not underflow on tiny entries
    if ys <= 1e-3 * norms:
        return
    H_plus, fired = inverse_bfgs_update(H, s, y, "skip")
    if bool(fired):  # allowed only where H⁺ ~ s sᵀ/yᵀs is (near) unrepresentable, and then H is kept
        assert torch.equal(H_plus, H)
        assert not bool((inverse_bfgs_formula(H, s, y).abs() < 1e300).all())
        return
    scale = float(torch.linalg.matrix_norm(H, 2)) * (1 + norms / ys) ** 2 + float(s @ s) / ys
    assert float((H_plus @ y - s).norm()) <= 16 * 3 * np.finfo(float).eps * scale * math.hypot(*y.tolist())
    assert float(torch.linalg.eigvalsh(H_plus)[0]) > -16 * 3 * np.finfo(float).eps * scale


def test_negative_curvature_makes_raw_update_indefinite_and_skip_keeps_H():
    H = torch.eye(2)
    s, y = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 0.5])
    raw = inverse_bfgs_formula(H, s, y)
    assert float(torch.linalg.eigvalsh(raw)[0]) < 0
    kept, fired = inverse_bfgs_update(H, s, y, "skip")
    assert bool(fired) and torch.equal(kept, H)


@settings(deadline=None, max_examples=40)
@given(spd_matrices(3, cond_max=1e2), vectors(3, 5.0), vectors(3, 5.0))
@example(np.eye(3), np.array([1.0, 0, 0]), np.array([-1.0, 0, 0]))
def test_powell_damping_always_returns_spd_update(H, s, y):
    H, s, y = (torch.as_tensor(v) for v in (H, s, y))
    if float(s.norm()) < 1e-3:
        return
    H_plus, _ = inverse_bfgs_update(H, s, y, "damp")
    assert float(torch.linalg.eigvalsh(H_plus)[0]) > 0


def test_update_is_batched_and_matches_single_instances():
    gen = torch.Generator().manual_seed(0)
    H = torch.eye(4).expand(5, 4, 4).clone()
    s, y = torch.randn(5, 4, generator=gen), torch.randn(5, 4, generator=gen)
    batched, fired = inverse_bfgs_update(H, s, y, "skip")
    for b in range(5):
        single, single_fired = inverse_bfgs_update(H[b], s[b], y[b], "skip")
        assert torch.allclose(batched[b], single) and bool(fired[b]) == bool(single_fired)


@pytest.mark.parametrize("kwargs, message", [
    (dict(safeguard="bogus"), "safeguard"),
    (dict(s=torch.ones(3)), "s and y"),
    (dict(y=torch.tensor([1.0, float("nan")])), "y contains NaN"),
    (dict(safeguard="damp", bs=torch.ones(3)), "bs must have the shape of s"),
    (dict(safeguard="damp", bs=torch.tensor([1.0, float("nan")])), "bs contains NaN"),
])
def test_update_rejects_bad_input(kwargs, message):
    args = dict(H=torch.eye(2), s=torch.ones(2), y=torch.ones(2), safeguard="skip")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        inverse_bfgs_update(**args)


def test_condition_number_of_indefinite_matrix_is_inf():
    assert condition_number(torch.diag(torch.tensor([1.0, 4.0]))) == pytest.approx(4.0)
    assert condition_number(torch.diag(torch.tensor([-1.0, 4.0]))) == float("inf")


@settings(deadline=None, max_examples=40)
@given(spd_matrices(4, cond_max=1e3), vectors(4, 5.0), vectors(4, 5.0))
def test_powell_damping_with_a_known_bs_equals_the_solved_update_for_a_quasi_newton_step(H, g, y):
    # s = −α H g gives H⁻¹s = −α g, which bfgs_line_search passes instead of solving
    H, g, y = (torch.as_tensor(v) for v in (H, g, y))
    if float(g.norm()) < 1e-3:
        return
    alpha = 0.37
    s = -alpha * (H @ g)
    solved, fired_solved = inverse_bfgs_update(H, s, y, "damp")
    known, fired_known = inverse_bfgs_update(H, s, y, "damp", bs=-alpha * g)
    assert bool(fired_solved) == bool(fired_known) or abs(float(s @ y) - 0.2 * float(-alpha * g @ s)) < 1e-9
    # the solve's error in Bs is ≲ κ(H)·eps relative, and reaches H⁺ at the scale of ‖H⁺‖; 1e3 covers the
    # dimension-dependent constants at d = 4
    scale = float(torch.linalg.matrix_norm(solved, 2)) * float(torch.linalg.cond(H))
    torch.testing.assert_close(known, solved, rtol=0, atol=1e3 * np.finfo(float).eps * scale)
