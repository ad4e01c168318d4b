"""Sympy derivations (theory.bfgs) and the stability thresholds (implementations.bfgs.stability)."""

import math

import sympy as sp
import torch

from implementations.bfgs.stability import descent_failure_threshold, descent_threshold_bounds, spectral_stability_bound
from implementations.problems.quadratic import random_spd
from theory import bfgs as theory


def test_sympy_secant_error_map_and_contraction_interval():
    assert all(v == 0 for v in theory.inverse_bfgs_secant_residual(2))
    assert all(v == 0 for v in theory.exact_hessian_error_map(2))
    assert theory.coordinate_contraction_sets() == (sp.Interval.open(0, 2), sp.Interval(0, 2))
    assert theory.descent_split(2) == 0


def test_descent_failure_threshold_matches_closed_form_for_rotated_2d():
    for cond in (4.0, 50.0):
        c = math.cos(math.pi / 4)
        Q = torch.tensor([[c, -c], [c, c]])
        H = Q @ torch.diag(torch.tensor([1.0, cond])) @ Q.T
        delta, witness = descent_failure_threshold(H)
        assert abs(delta - 2 * cond ** 0.5 / (cond + 1)) < 1e-9
        assert float(((witness.unsqueeze(-1) * H) + (witness.unsqueeze(-1) * H).T).det()) <= 1e-9


def test_descent_failure_threshold_is_above_both_sufficient_bounds():
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        H = random_spd(3, 100.0, gen)
        delta, _ = descent_failure_threshold(H)
        bounds = descent_threshold_bounds(H)
        assert delta >= bounds["inverse_sqrt_kappa"] - 1e-9 >= bounds["inverse_kappa"] - 1e-9


def test_spectral_bound_is_one_for_exact_inverse_hessian():
    A = random_spd(4, 10.0, torch.Generator().manual_seed(1))
    assert abs(spectral_stability_bound(torch.linalg.inv(A), A)["bound"] - 1) < 1e-10


TINY_ERROR_INSTANCE = ([[1.7080734182735713, -0.45464871341284085], [-0.45464871341284085, 1.291926581726429]],
                       [0.0, 0.0], [5.303809404256763e-249, 5.303809404256763e-249], [1.0, 1.0])


def test_exact_hessian_step_meets_its_tolerance_when_the_error_is_too_small_to_square():
    """The full budget's counterexample to the earlier tolerance: ‖e‖₂ of e ≈ 5e-249 underflowed to 0."""
    from verify.margins.bfgs import contraction_margin

    assert contraction_margin(TINY_ERROR_INSTANCE) <= 0


def test_contraction_check_rejects_a_step_that_drops_a_tenth_of_PHg_even_at_tiny_errors():
    from verify.margins.bfgs import contraction_margin

    def short_step(x, g, H, P, interval):
        return x - 0.9 * P * (H @ g)

    ordinary = ([[2.0, 0.5], [0.5, 1.0]], [1.0, -2.0], [0.5, 0.25], [1.0, 0.5])
    assert contraction_margin(ordinary, step=short_step) > 0
    assert contraction_margin(TINY_ERROR_INSTANCE, step=short_step) > 0


ILL_CONDITIONED_A = [  # κ = 733
    [1862.7972949689217, -2244.8963269779206, 1814.8301430327483, -577.6781677076431, 113.8745704610868],
    [-2244.8963269779206, 5547.666385467994, -919.4719640872536, -2688.9440516423974, 317.96590052661725],
    [1814.8301430327483, -919.4719640872536, 2372.1341823468083, -2107.8737579094504, 319.036191369103],
    [-577.6781677076431, -2688.9440516423974, -2107.8737579094504, 4271.533814926168, -584.5192609756773],
    [113.8745704610868, 317.96590052661725, 319.036191369103, -584.5192609756773, 91.86832229010884]]


def test_contraction_check_accepts_an_ill_conditioned_A_whose_plain_inverse_is_not_symmetric_enough():
    """The full budget's search found this A (κ = 733, shrunk from one with κ = 736): torch.linalg.inv(A) is
    asymmetric by 2.6e-15 (with this machine's BLAS, one thread) and the SPD validation rejected it, which made
    the claim an error."""
    from verify.margins.bfgs import contraction_margin, spd_inverse

    A = torch.tensor(ILL_CONDITIONED_A, dtype=torch.float64)
    assert torch.equal(spd_inverse(A), spd_inverse(A).mT)
    assert contraction_margin((ILL_CONDITIONED_A, [0.0] * 5, [0.0] * 5, [0.0] * 5)) <= 0
    assert contraction_margin((ILL_CONDITIONED_A, [1.0, -2.0, 0.5, 3.0, 0.1], [0.0] * 5,
                               [0.5, 1.0, 1.5, 2.0, 0.0])) <= 0
