"""Checks that apply to any BFGS step-size model with the :class:`implementations.bfgs.StepSizeModel`
interface, so that a claim outside this project can check its own model as ``bfgs.l2o.output-range`` checks
the LSTM (THEORY.md §2; the paper's §3: P is "bounded into a safe interval" inside [0, 2]).

The interface (implementations/bfgs/model.py): ``model(x, g, d, state) -> (P like x, clipped fraction per
instance, new state)`` for x, g, d = Hg of shape (B, d) or (d,), a declared interval ``model.interval`` =
(low, high), and torch parameters. :func:`output_range_evidence` is the property check,
:func:`rollout_margin` its margin on one input sequence and :func:`step_model_inputs` the inputs it searches.
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import numpy as np
import torch
from hypothesis import strategies as st

from implementations.bfgs import StepSizeModel
from implementations.validation import check_instance, check_positive_int
from verify.margins.bfgs import rollout_margins
from verify.registry import Context, Evidence
from verify.strategies import finite_floats

STABLE = (0.0, 2.0)  # the interval every declared interval must lie in (THEORY.md §2.1 D4: non-expanding steps)

ModelFactory = Callable[[tuple[float, float], bool], StepSizeModel]


@st.composite
def step_model_inputs(draw):
    """(steps, seed, weight_scale, coordinatewise, interval): a 2-step rollout of inputs (x, g, d), each a
    (B, d) array with B ≤ 3, d ≤ 4, entries mixing ±1e308, subnormals, 0 and ordinary values; a torch seed;
    a scale in {0, 1, 10, 1e3, 1e6} for random weights (saturating the output map); the output mode; and a
    declared interval (low, high) with 0 ≤ low ≤ 0.99 and 1.01 ≤ high ≤ 2."""
    values = st.one_of(finite_floats(-1e308, 1e308), finite_floats(-1e-300, 1e-300), st.just(0.0),
                       st.sampled_from([1e308, -1e308, 5e-324, -5e-324, 1.0, -1.0]))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)))
    steps = [tuple(np.array(draw(st.lists(values, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])))
                   .reshape(shape) for _ in range(3)) for _ in range(2)]
    seed = draw(st.integers(0, 2**31 - 1))
    weight_scale = draw(st.sampled_from([0.0, 1.0, 10.0, 1e3, 1e6]))
    coordinatewise = draw(st.booleans())
    low = draw(st.floats(0.0, 0.99))
    high = draw(st.floats(1.01, 2.0))
    return steps, seed, weight_scale, coordinatewise, (low, high)


def rollout_margin(model: StepSizeModel, steps) -> float:
    """max over the rollout of max_i(low − P_i, P_i − high, −P_i, P_i − 2), with (low, high) = model.interval:
    ≤ 0 when every P lies in the declared interval and in [0, 2]; +inf when a P or a clipped fraction is not
    finite, or when the model raises on these (finite) inputs. ``steps``: a non-empty sequence of (x, g, d) tensors
    fed in order, the state carried from step to step. The max over the rows of
    verify.margins.bfgs.rollout_margins (one implementation of the formula)."""
    check_instance("model", model, StepSizeModel, "StepSizeModel (the interface of implementations.bfgs)")
    return float(rollout_margins(model, steps).max())


def _randomised(make_model: ModelFactory, interval, coordinatewise: bool, seed: int, scale: float,
                ctx: Context) -> StepSizeModel:
    """make_model(interval, coordinatewise) on ctx's device and dtype, every parameter redrawn N(0, 1)·scale
    from torch seed ``seed``."""
    torch.manual_seed(seed)
    model = make_model(interval, coordinatewise)
    check_instance("make_model(interval, coordinatewise)", model, StepSizeModel, "StepSizeModel")
    model = model.to(device=ctx.torch_device, dtype=ctx.dtype)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_().mul_(scale)
    return model


def _tensor(array, ctx: Context) -> torch.Tensor:
    """A drawn array on ctx's device and dtype, clipped to the dtype's finite range (a no-op in float64)."""
    largest = torch.finfo(ctx.dtype).max
    return torch.as_tensor(np.clip(np.asarray(array), -largest, largest), dtype=ctx.dtype, device=ctx.torch_device)


def _rejects_nan(model: StepSizeModel, ctx: Context) -> bool:
    """True when the model answers a NaN input with ValueError (as implementations.bfgs.step_features does)."""
    probe = copy.deepcopy(model).to(device=ctx.torch_device, dtype=ctx.dtype)  # the caller's model stays as it is
    one = torch.ones(1, dtype=ctx.dtype, device=ctx.torch_device)
    try:
        probe(torch.full_like(one, math.nan), one, one)
    except ValueError:
        return True
    return False


def output_range_evidence(ctx: Context, model: StepSizeModel, make_model: ModelFactory,
                          max_examples: int = 150) -> Evidence:
    """Property (paper §3; THEORY.md §2 bfgs.l2o.output-range): a step-size model's P lies in its declared
    interval [low, high] ⊂ [0, 2] for every finite input: max_i(low − P_i, P_i − high) ≤ 0 exactly (the output
    map is a clamp, so the tolerance is 0), over a hypothesis search (``max_examples`` at the quick budget,
    ×10 at the full one) of 2-step rollouts (:func:`step_model_inputs`) through
    ``make_model(interval, coordinatewise)`` with random weights scaled up to 1e6, on ctx's device and dtype.
    Also checked on ``model`` (the model as used): its declared interval satisfies 0 ≤ low < high ≤ 2 and a NaN
    input is rejected with ValueError. Holds when all three hold; a search failure is returned as the
    counterexample (inputs, seed, weight scale, output mode, interval, margin)."""
    check_instance("ctx", ctx, Context, "verify.registry.Context")
    check_instance("model", model, StepSizeModel, "StepSizeModel (the interface of implementations.bfgs)")
    if not callable(make_model):
        raise TypeError(f"make_model must be callable (interval, coordinatewise) -> StepSizeModel, got "
                        f"{type(make_model).__name__}")
    check_positive_int("max_examples", max_examples)

    def margin(instance) -> float:
        steps, seed, scale, coordinatewise, interval = instance
        fresh = _randomised(make_model, interval, coordinatewise, seed, scale, ctx)
        return rollout_margin(fresh, [tuple(_tensor(v, ctx) for v in step) for step in steps])

    result = ctx.search(step_model_inputs(), margin, max_examples=max_examples)
    rejects_nan = _rejects_nan(model, ctx)
    declared_inside = STABLE[0] <= model.interval[0] < model.interval[1] <= STABLE[1]
    counterexample = None
    if result.found:
        steps, seed, scale, coordinatewise, interval = result.counterexample
        counterexample = dict(inputs=[[np.asarray(v).tolist() for v in step] for step in steps], seed=seed,
                              weight_scale=scale, coordinatewise=coordinatewise, interval=list(interval),
                              margin=result.margin)
    elif not (rejects_nan and declared_inside):  # the model as used: a NaN accepted, or an interval outside [0, 2]
        counterexample = dict(declared_interval=list(model.interval), rejects_nan=rejects_nan)
    return Evidence(holds=not result.found and rejects_nan and declared_inside, counterexample=counterexample,
                    numbers=dict(examples=result.examples_tried, worst_margin=result.worst_margin_seen,
                                 rejects_nan=rejects_nan, default_interval=list(model.interval)))
