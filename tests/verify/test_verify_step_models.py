"""verify.step_models: the output-range check for any StepSizeModel (the one bfgs.l2o.output-range runs)."""

from __future__ import annotations

import math

import pytest
import torch

from implementations.bfgs import StepSizeLSTM, StepSizeMLP
from verify.registry import Context
from verify.step_models import output_range_evidence, rollout_margin


class _Escapes(StepSizeMLP):
    """P pushed 1e-6 above its interval wherever |g_i| > 1e300: a model the check must refute."""

    def forward(self, x, g, d, state=None):
        P, clipped, state = super().forward(x, g, d, state)
        return torch.where(torch.as_tensor(g).abs() > 1e300, self.interval[1] + 1e-6, P), clipped, state


def _mlp(interval, coordinatewise):
    return StepSizeMLP(hidden=4, depth=1, interval=interval, coordinatewise=coordinatewise)


def test_another_library_model_passes_and_a_model_leaving_its_interval_is_refuted():
    ctx = Context(claim_id="test.step-models.range")
    passed = output_range_evidence(ctx, StepSizeMLP(), _mlp, max_examples=30)
    assert passed.verdict() == "verified" and passed.numbers["examples"] == 30
    refuted = output_range_evidence(ctx, _Escapes(), lambda i, c: _Escapes(hidden=4, depth=1, interval=i,
                                                                           coordinatewise=c), max_examples=30)
    assert refuted.verdict() == "refuted"
    assert refuted.counterexample["margin"] == pytest.approx(1e-6)


def test_rollout_margin_is_the_largest_excursion_and_inf_for_a_model_that_raises():
    model = StepSizeLSTM(hidden=3, interval=(0.5, 1.5))
    one = torch.ones(2, dtype=torch.float32)
    assert rollout_margin(model, [(one, one, one)]) == pytest.approx(0.5 - 1.0)  # untrained: P ≡ 1
    assert rollout_margin(model, [(one, one, one[:1])]) == math.inf  # mismatched shapes: ValueError in the model


def test_bad_arguments_are_named():
    ctx = Context(claim_id="test.step-models.range")
    with pytest.raises(TypeError, match="ctx"):
        output_range_evidence(None, StepSizeMLP(), _mlp)
    with pytest.raises(TypeError, match="model"):
        output_range_evidence(ctx, torch.nn.Linear(1, 1), _mlp)
    with pytest.raises(TypeError, match="make_model"):
        output_range_evidence(ctx, StepSizeMLP(), "mlp")
    with pytest.raises(ValueError, match="max_examples"):
        output_range_evidence(ctx, StepSizeMLP(), _mlp, max_examples=0)
    with pytest.raises(TypeError, match="model"):
        rollout_margin(object(), [])
