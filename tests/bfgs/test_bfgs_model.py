"""The learned step-size model: output range, preprocessing, online learning, input errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from implementations.bfgs import LearnedSteps, StepSizeLSTM, cwss_bfgs, meta_train, preprocess
from implementations.problems.logistic import LogisticRegression

finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(deadline=None, max_examples=60)
@given(hnp.arrays(np.float64, (2, 3), elements=finite), st.sampled_from([0.0, 1.0, 1e4]), st.booleans())
@example(np.full((2, 3), 1e308), 1e4, True)
@example(np.full((2, 3), 5e-324), 1e4, False)
def test_model_output_stays_in_declared_interval_for_any_finite_input(values, scale, coordinatewise):
    torch.manual_seed(0)
    model = StepSizeLSTM(hidden=6, interval=(0.3, 1.7), coordinatewise=coordinatewise)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_().mul_(scale)
    x = torch.as_tensor(values)
    with torch.no_grad():
        P, clipped, _ = model(x, -x, x * 1e-3)
    assert torch.isfinite(P).all() and float(P.min()) >= 0.3 and float(P.max()) <= 1.7
    assert 0 <= float(clipped.min()) and float(clipped.max()) <= 1


@settings(deadline=None, max_examples=60)
@given(finite)
def test_preprocessing_is_bounded_for_any_finite_value(v):
    features = preprocess(torch.tensor([v]))
    assert torch.isfinite(features).all() and float(features.abs().max()) <= math.log(1.8e308) / 10 + 1


def test_untrained_model_is_plain_bfgs_and_scalar_ablation_is_constant_across_coordinates():
    model = StepSizeLSTM()
    P, _, _ = model(torch.randn(2, 5), torch.randn(2, 5), torch.randn(2, 5))
    assert torch.equal(P, torch.ones(2, 5))
    scalar = StepSizeLSTM(coordinatewise=False)
    with torch.no_grad():
        scalar.head.weight.normal_()
    P, _, _ = scalar(torch.randn(2, 5), torch.randn(2, 5), torch.randn(2, 5))
    assert torch.allclose(P, P[:, :1].expand_as(P))


def test_online_learning_changes_weights_and_meta_training_returns_losses():
    gen = torch.Generator().manual_seed(0)
    instances = [(LogisticRegression.random(5, 20, generator=gen), torch.zeros(5)) for _ in range(2)]
    model = StepSizeLSTM()
    before = [p.clone() for p in model.parameters()]
    losses = meta_train(model, instances, 10)
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    trace = cwss_bfgs(instances[0][0], torch.zeros(5), LearnedSteps(model), 10)
    assert np.isfinite(trace.series("p_dev_inf")).all()


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(interval=(0.5, 0.9)), ValueError, "interval"),
    (dict(interval=(-0.1, 1.5)), ValueError, "interval"),
    (dict(hidden=0), ValueError, "hidden"),
])
def test_model_rejects_bad_configuration(kwargs, error, message):
    with pytest.raises(error, match=message):
        StepSizeLSTM(**kwargs)


def test_model_rejects_non_finite_and_mismatched_inputs():
    model = StepSizeLSTM()
    with pytest.raises(ValueError, match="x contains NaN"):
        model(torch.tensor([float("nan")]), torch.ones(1), torch.ones(1))
    with pytest.raises(ValueError, match="share one shape"):
        model(torch.ones(2), torch.ones(3), torch.ones(2))
    with pytest.raises(ValueError, match="lr"):
        LearnedSteps(model, lr=0.0)
