"""bfgs.l2o.output-range: the claim's spec (SPEC) and its check."""

from __future__ import annotations

from implementations.bfgs import StepSizeLSTM
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.step_models import output_range_evidence

SPEC = ClaimSpec("bfgs.l2o.output-range",
                 "the learned model's P always lies in its declared interval ⊂ [0,2], for any finite input",
                 "paper", "property", "holds", "paper §3", devices=("cpu",))


@check(SPEC.id)
def output_range(ctx: Context) -> Evidence:
    """Paper §3: the model's P lies in its declared interval [low, high] ⊂ [0, 2] for every finite input.
    Property: hypothesis over inputs mixing ±1e308, subnormals, 0, and ordinary values, random LSTM
    weights scaled up to 1e6 (saturating the sigmoid), both the coordinate-wise model and the scalar
    ablation, and random declared intervals; the margin is exact (a clamp), so the tolerance is 0.
    Non-finite inputs are rejected with ValueError (checked). The check is
    verify.step_models.output_range_evidence, public so that other step-size models can be checked alike."""
    return output_range_evidence(ctx, StepSizeLSTM(), _small_lstm, max_examples=150)


def _small_lstm(interval, coordinatewise: bool) -> StepSizeLSTM:
    """The searched model: an LSTM of hidden width 8 with the drawn interval and output mode."""
    return StepSizeLSTM(hidden=8, interval=interval, coordinatewise=coordinatewise)
