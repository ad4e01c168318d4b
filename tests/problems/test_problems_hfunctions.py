"""Tests of the H-function regressions, the digit classifier and the flat-parameter MLP objective."""

from __future__ import annotations

import math

import pytest
import torch

from implementations.problems.flat_mlp import FlatMLPObjective
from implementations.problems.hfunctions import h_function, hfunction_regression
from implementations.problems.mlp_classifier import digit_classifier


def test_hfunction_values_match_their_definitions():
    z = torch.tensor([-0.5, 0.1, 0.25], dtype=torch.float64)
    assert torch.allclose(h_function("h1", z), torch.sin(5 * math.pi * z))
    assert torch.allclose(h_function("h2", z), torch.sin(2 * math.pi * z) * torch.exp(-z ** 2))
    assert torch.allclose(h_function("h3", z), torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
                          + 0.2 * torch.sin(2 * math.pi * z))


def test_hfunction_regression_is_a_1_50_1_tanh_mlp_without_output_bias():
    """f(x) = ½ Σ (W2 tanh(W1 z + b1) − h(z))², d = 50 + 50 + 50 = 150."""
    problem = hfunction_regression("h2", generator=torch.Generator().manual_seed(0))
    assert problem.dim == 150 and problem.inputs.shape == (100, 1)
    assert bool((problem.inputs.abs() <= 1).all())
    x = problem.initial_point(torch.Generator().manual_seed(1))
    W1, b1, W2 = x[:50].reshape(50, 1), x[50:100], x[100:].reshape(1, 50)
    manual = 0.5 * ((torch.tanh(problem.inputs @ W1.T + b1) @ W2.T - problem.targets) ** 2).sum()
    assert torch.allclose(problem(x), manual)


def test_objective_composes_with_vmap_and_jvp():
    problem = hfunction_regression("h1", n=10, hidden=3, generator=torch.Generator().manual_seed(0))
    xs = torch.randn(4, problem.dim, dtype=torch.float64)
    batched = torch.func.vmap(problem)(xs)
    assert torch.allclose(batched, torch.stack([problem(x) for x in xs]))


def test_digit_classifier_is_64_20_10_with_cross_entropy():
    problem = digit_classifier(n=50)
    assert problem.dim == 64 * 20 + 20 + 20 * 10 + 10
    x = problem.initial_point(torch.Generator().manual_seed(0))
    assert abs(problem(x).item() - math.log(10)) < 1.0


def test_problems_reject_bad_arguments():
    with pytest.raises(ValueError, match="name"):
        hfunction_regression("h4")
    with pytest.raises(ValueError, match="n must"):
        hfunction_regression("h1", n=0)
    with pytest.raises(ValueError, match="loss"):
        FlatMLPObjective.create((1, 2, 1), "tanh", False, torch.zeros(3, 1), torch.zeros(3, 1), "l1")
    with pytest.raises(ValueError, match="activation"):
        FlatMLPObjective.create((1, 2, 1), "gelu", False, torch.zeros(3, 1), torch.zeros(3, 1), "half-sse")
    with pytest.raises(ValueError, match="inputs"):
        FlatMLPObjective.create((2, 2, 1), "tanh", False, torch.zeros(3, 1), torch.zeros(3, 1), "half-sse")


def test_coordinate_line_equals_the_objective_at_the_shifted_point():
    problem = digit_classifier(n=40)
    x = problem.initial_point(torch.Generator().manual_seed(3))
    for j in (0, 700, 1285, problem.dim - 1):
        y = x.clone()
        y[j] += 0.3
        line = problem.coordinate_line(x, torch.tensor(j), torch.tensor(0.3, dtype=torch.float64))
        assert torch.allclose(line, problem(y), atol=1e-13)


def test_coordinate_line_rejects_deeper_mlps():
    problem = FlatMLPObjective.create((1, 2, 2, 1), "tanh", False, torch.zeros(3, 1), torch.zeros(3, 1), "half-sse")
    with pytest.raises(ValueError, match="one-hidden-layer"):
        problem.coordinate_line(torch.zeros(problem.dim), torch.tensor(0), torch.tensor(0.0))


@pytest.mark.parametrize("sizes, activation, output_bias", [((1, 50, 1), "tanh", False), ((3, 4, 5, 2), "relu", True)])
def test_predict_equals_the_modules_forward_pass_with_the_flat_parameters(sizes, activation, output_bias):
    inputs = torch.randn(7, sizes[0], dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    problem = FlatMLPObjective.create(sizes, activation, output_bias, inputs, torch.zeros(7, sizes[-1]), "half-sse")
    x = torch.randn(problem.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.nn.utils.vector_to_parameters(x, problem.module.parameters())
    with torch.no_grad():
        assert torch.allclose(problem.predict(x), problem.module(inputs), atol=1e-14)


def test_objective_repr_summarises_tensors_instead_of_printing_them():
    problem = digit_classifier(n=1000)
    text = repr(problem.value)
    assert "inputs=tensor((1000, 64), float64)" in text and len(text) < 400
