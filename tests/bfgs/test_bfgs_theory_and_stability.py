"""Sympy derivations (theory.bfgs) and the stability thresholds (implementations.bfgs.stability)."""

import math

import sympy as sp
import torch

from implementations.bfgs.stability import (descent_failure_threshold, descent_threshold_bounds,
                                            spectral_stability_bound)
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
