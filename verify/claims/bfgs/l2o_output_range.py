"""bfgs.l2o.output-range: the claim's spec (SPEC) and its check."""

from __future__ import annotations

import copy

import torch

from implementations.bfgs import StepSizeLSTM
from verify.margins.bfgs import batch_of_one, draw_rollout_inputs, rollout_margins, rollout_steps
from verify.registry import Context, Evidence, check
from verify.spec import ClaimSpec
from verify.step_models import output_range_evidence, rollout_margin
from verify.sweep import DRAW_LIKE, batched_sweep, shares, summarize

SPEC = ClaimSpec("bfgs.l2o.output-range",
                 "the learned model's P always lies in its declared interval ⊂ [0,2], for any finite input",
                 "paper", "property+sweep", "holds", "paper §3", devices=("cpu",),
                 scales={"sweep_instances": (10000, 1000000)})

#: the sweep's models: (weight scale, coordinate-wise output), an equal share of the instances each; the
#: scales up to 1e6 saturate the sigmoid, where a missing clamp would show
MODELS = tuple((scale, coordinatewise) for scale in (1.0, 10.0, 1e3, 1e6) for coordinatewise in (True, False))
DIM = 4  # coordinates per instance


def _swept_model(index: int, ctx: Context) -> StepSizeLSTM:
    """Model ``index`` of MODELS: the searched LSTM (hidden width 8) with a declared interval drawn like the
    search's (low uniform on [0, 0.99], high on [1.01, 2]) and every weight N(0, 1)·scale, drawn from its own
    stream, in ctx's dtype."""
    scale, coordinatewise = MODELS[index]
    generator = ctx.torch_generator(f"output-range-model-{index}")
    low, high = (torch.rand(2, generator=generator, **DRAW_LIKE) * 0.99).tolist()
    model = _small_lstm((low, 1.01 + high), coordinatewise).to(**ctx.like)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, **DRAW_LIKE) * scale)
    return model


def _output_sweep(ctx: Context) -> dict:
    """rollout_margins of each model of MODELS on an equal share of ctx.scale("sweep_instances") rollouts, the worst
    of each re-checked by verify.step_models.rollout_margin with the model in float64 on the CPU."""
    count = ctx.scale("sweep_instances")
    sweeps = {}
    for index, (scale, coordinatewise) in enumerate(MODELS):
        model = _swept_model(index, ctx)
        host = copy.deepcopy(model).to(device="cpu", dtype=torch.float64)

        def recheck(instance, host=host) -> float:
            return rollout_margin(host, [batch_of_one(step) for step in rollout_steps(instance)])

        label = (f"scale={scale:g} {'coordinate-wise' if coordinatewise else 'scalar'} "
                 f"interval=[{model.interval[0]:.3g}, {model.interval[1]:.3g}]")
        sweeps[label] = batched_sweep(ctx, shares(count, len(MODELS))[index],
                                      draw_rollout_inputs(DIM, DRAW_LIKE),
                                      lambda b, model=model: rollout_margins(model, rollout_steps(b)), recheck=recheck,
                                      stream=f"output-range-sweep-{index}")
    return sweeps


@check(SPEC.id)
def output_range(ctx: Context) -> Evidence:
    """Paper §3: the model's P lies in its declared interval [low, high] ⊂ [0, 2] for every finite input.
    Property: hypothesis over inputs mixing ±1e308, subnormals, 0, and ordinary values, random LSTM
    weights scaled up to 1e6 (saturating the sigmoid), both the coordinate-wise model and the scalar
    ablation, and random declared intervals; the margin is exact (a clamp), so the tolerance is 0.
    Non-finite inputs are rejected with ValueError (checked). The check is
    verify.step_models.output_range_evidence, public so that other step-size models can be checked alike.
    Sweep: the same margin per instance (verify.margins.bfgs.rollout_margins) on 10⁴ (quick) / 10⁶ (full) random
    2-step rollouts of d = 4 inputs (each entry 0, N(0, 1) or ±e^U from subnormal to near overflow), an eighth each
    through the 8 models of MODELS (weights N(0, 1)·{1, 10, 10³, 10⁶}, coordinate-wise or scalar, a random declared
    interval each), batched over the instances (the LSTM's rows), the worst of each model re-checked by
    verify.step_models.rollout_margin in float64 on the CPU."""
    evidence = output_range_evidence(ctx, StepSizeLSTM(), _small_lstm, max_examples=150)
    sweep_violations, sweep_numbers, sweep_table, sweep_counterexample = summarize(_output_sweep(ctx))
    evidence.numbers.update(sweep_numbers)
    evidence.tables["sweep"] = sweep_table
    if sweep_violations:
        evidence.holds, evidence.counterexample = False, sweep_counterexample
    return evidence


def _small_lstm(interval, coordinatewise: bool) -> StepSizeLSTM:
    """The searched model: an LSTM of hidden width 8 with the drawn interval and output mode."""
    return StepSizeLSTM(hidden=8, interval=interval, coordinatewise=coordinatewise)
