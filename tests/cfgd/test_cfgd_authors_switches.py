"""The switches to the authors' code variants in our L2O-CFGD (direction="authors", beta_scaling) and task
(start="normal"), and the hand-over of our instances to the authors' code (skipped without a prepared copy:
benchmarks/prepare_theirs_cfgd.sh)."""

from __future__ import annotations

import math

import pytest
import torch

from implementations.cfgd import authors_code
from implementations.cfgd.caputo import authors_caputo_direction, caputo_gradient
from implementations.cfgd.l2o import L2OCFGD
from implementations.cfgd.optimizers import ExactLineSearch, FixedStep, cfgd
from implementations.cfgd.training import MetaTrainConfig, TaskConfig, build_model

F64 = torch.float64


def constant_model(alpha: float, beta: float, c: float, **switches) -> L2OCFGD:
    model = L2OCFGD(hidden=4, **switches).double()
    with torch.no_grad():
        model.net.head.weight.zero_()
        model.net.head.bias.copy_(torch.tensor([math.log(alpha / (1 - alpha)), beta, c], dtype=F64))
    return model


def one_step(model, f, x):
    state = model.net.initial_state(x.shape[0], x)
    with torch.no_grad():
        x1, _, record = model.step(f, x, 0, 5, state, FixedStep(1.0))
    return x - x1, record


@pytest.mark.parametrize("c", [-1.0, 2.0])  # x below and above c
def test_the_authors_direction_switch_takes_their_direction(c):
    f, x = TaskConfig("h2", n=10, hidden=3).make(torch.Generator().manual_seed(0))
    direction, record = one_step(constant_model(0.6, 0.4, c, direction="authors"), f, x)
    expected = authors_caputo_direction(f, x, record.alpha, record.beta, record.c, hessian="exact")
    assert torch.allclose(direction, expected, rtol=1e-12, atol=1e-14)
    ours, _ = one_step(constant_model(0.6, 0.4, c), f, x)
    assert torch.allclose(ours, caputo_gradient(f, x, record.alpha, record.beta, record.c), rtol=1e-12, atol=1e-14)


def test_beta_scaling_divides_by_one_plus_abs_beta_and_cancels_for_a_common_beta_under_line_search():
    f, x = TaskConfig("least-squares", d=5, m=5).make(torch.Generator().manual_seed(1))
    x = x + 0.3
    plain, record = one_step(constant_model(0.5, -2.0, 0.7), f, x)
    scaled, _ = one_step(constant_model(0.5, -2.0, 0.7, beta_scaling=True), f, x)
    assert torch.allclose(scaled, plain / 3.0, rtol=1e-13)
    # with one β for every coordinate the exact line search cancels the common factor (their static runs)
    a = cfgd(f, x, 3, 0.5, -2.0, 0.7, "NA", step_size=ExactLineSearch())
    model = constant_model(0.5, -2.0, 0.7, beta_scaling=True)
    state, y = model.net.initial_state(5, x), x
    for t in range(3):
        with torch.no_grad():
            y, state, _ = model.step(f, y, t, 3, state, ExactLineSearch())
    assert math.isclose(float(f(y)), a.losses[-1], rel_tol=1e-10)


def test_switches_travel_through_the_config():
    config = MetaTrainConfig(TaskConfig("h2", n=8, hidden=2), direction="authors", beta_scaling=True, hidden=3)
    model = build_model(config)
    assert (model.direction, model.beta_scaling) == ("authors", True)
    assert MetaTrainConfig.from_dict(config.as_dict()) == config
    with pytest.raises(ValueError, match="direction"):
        MetaTrainConfig(direction="theirs")
    with pytest.raises(ValueError, match="direction/beta_scaling"):
        MetaTrainConfig(kind="lstm", beta_scaling=True)


def test_normal_start_draws_x0_from_the_generator_after_the_problem():
    task = TaskConfig("least-squares", d=4, m=3, start="normal")
    f, x0 = task.make(torch.Generator().manual_seed(2))
    ref, zero = TaskConfig("least-squares", d=4, m=3).make(torch.Generator().manual_seed(2))
    assert torch.equal(f.A, ref.A) and torch.equal(zero, torch.zeros(4, dtype=F64))
    gen = torch.Generator().manual_seed(2)
    torch.randn(4, 3, generator=gen, dtype=F64), torch.randn(3, generator=gen, dtype=F64)
    assert torch.equal(x0, torch.randn(4, generator=gen, dtype=F64))
    with pytest.raises(ValueError, match="start"):
        TaskConfig("h2", start="normal")
    with pytest.raises(ValueError, match="start"):
        TaskConfig(start="uniform")


COPY = authors_code.find_copy()


@pytest.mark.skipif(COPY is None, reason="the authors' code is not prepared (benchmarks/prepare_theirs_cfgd.sh)")
def test_their_static_na_cfgd_on_our_instance_matches_ours_in_float32():
    """Their CFGD_ClosedForm_v2 NA (scalar β: the 1/(1 + |β|) factor cancels in the line search) on our (W, y)
    from our x⁰: the first three losses agree with ours to float32 precision (their dtype; 1e-5 relative)."""
    fl2o = authors_code.load(COPY)
    f, x0 = TaskConfig("least-squares", d=8, m=8).make(torch.Generator().manual_seed(4))
    theirs = authors_code.least_squares_run(fl2o, f.A.T, f.y, x0, 5, static={
        "cls": "CFGD_ClosedForm_v2", "alpha": 0.6, "beta": 0.3, "c": 1.0, "version": "NA"})
    ours = cfgd(f, x0, 5, 0.6, 0.3, 1.0, "NA")
    assert not theirs.diverged and len(theirs.losses) == 6
    for a, b in zip(theirs.losses[:3], ours.losses[:3]):
        assert math.isclose(a, b, rel_tol=1e-5)
    task = authors_code.least_squares_task(f.A.T, f.y)
    x = torch.randn(8, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert math.isclose(float(task["loss_fn"](x.float().reshape(1, -1))), float(f(x)), rel_tol=1e-5)


def test_layerwise_lookahead_takes_the_exact_output_layer_step_of_the_best_first_layer_step():
    """For each grid η: the output layer's step is the exact minimiser of the (quadratic) loss along D₂ up to the
    1e-6 of their denominator, and the kept η has the lowest two-layer loss (brute force over the grid)."""
    from implementations.cfgd.optimizers import LayerwiseLookahead
    f, x = TaskConfig("h2", n=20, hidden=4).make(torch.Generator().manual_seed(3))
    d = torch.randn(x.shape, generator=torch.Generator().manual_seed(4), dtype=F64)
    rule = LayerwiseLookahead()
    eta = rule(f, x, d)
    first = 8
    assert torch.all(eta[:first] == eta[0]) and torch.all(eta[first:] == eta[first])
    best = math.inf
    for e in rule.grid:
        y = x.clone()
        y[:first] -= e * d[:first]

        def line(t, y=y):
            return f(torch.cat([y[:first], y[first:] - t * d[first:]]))

        slope = torch.func.grad(line)(torch.zeros((), dtype=F64))
        curvature = torch.func.grad(torch.func.grad(line))(torch.zeros((), dtype=F64))
        t_star = float(-slope / (curvature + 1e-6))
        best = min(best, float(line(torch.tensor(t_star, dtype=F64))))
    assert math.isclose(float(f(x - eta * d)), best, rel_tol=1e-12)
    with pytest.raises(ValueError, match="f must"):
        rule(TaskConfig("least-squares", d=3, m=3).make(torch.Generator())[0], torch.zeros(3, dtype=F64),
             torch.ones(3, dtype=F64))
    assert TaskConfig("h2", step_rule="layerwise").step_size() == LayerwiseLookahead()
    with pytest.raises(ValueError, match="step_rule"):
        TaskConfig("least-squares", step_rule="layerwise")


@pytest.mark.skipif(COPY is None, reason="the authors' code is not prepared (benchmarks/prepare_theirs_cfgd.sh)")
def test_layerwise_lookahead_reproduces_their_static_run_on_h2():
    """Their general CFGD (NA, β = 0, c = −5 below every weight, so neither their sign for x < c nor their
    curvature estimate enters) with their look-ahead rule on our h₂ instance (their 1–50–1 MLP) from our x⁰,
    against cfgd() with LayerwiseLookahead: the summed loss over 8 steps agrees to float32 precision (1e-5
    relative)."""
    fl2o = authors_code.load(COPY)
    task = TaskConfig("h2", hidden=50, step_rule="layerwise")
    f, x0 = task.make(torch.Generator().manual_seed(0))
    theirs = authors_code.hfunction_run(fl2o, f.inputs, f.targets, x0, 8, static={
        "alpha": 0.95, "beta": 0.0, "c": -5.0, "version": "NA"})
    ours = cfgd(f, x0, 8, 0.95, 0.0, -5.0, "NA", step_size=task.step_size())
    assert math.isclose(theirs.summed_loss, ours.summed_loss, rel_tol=1e-5)
