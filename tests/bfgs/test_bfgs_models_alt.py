"""The three step-size models (LSTM, MLP, Transformer) share features, head and output map: output range for
any finite input, shapes, P ≡ I untrained, coordinate symmetry, attention across coordinates, and use with
LearnedSteps / meta_train / cwss_bfgs; the shared output map and the guard against non-finite updates."""

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from implementations.bfgs import (
    LearnedSteps,
    StepSizeLSTM,
    StepSizeMLP,
    StepSizeModel,
    StepSizeTransformer,
    bounded_steps,
    cwss_bfgs,
    meta_train,
)
from implementations.bfgs.models_alt import parameter_count, saved_activation_bytes
from implementations.problems.logistic import LogisticRegression

MODELS = {"lstm": lambda **kw: StepSizeLSTM(hidden=6, **kw), "mlp": lambda **kw: StepSizeMLP(hidden=6, **kw),
          "transformer": lambda **kw: StepSizeTransformer(hidden=6, heads=2, **kw)}
finite = st.floats(allow_nan=False, allow_infinity=False)


def _randomise(model, scale=1.0, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_().mul_(scale)
    return model


@pytest.mark.parametrize("name", MODELS)
@settings(deadline=None, max_examples=40)
@given(values=hnp.arrays(np.float64, (2, 3), elements=finite), scale=st.sampled_from([0.0, 1.0, 1e3, 1e6]),
       coordinatewise=st.booleans())
@example(values=np.full((2, 3), 1e308), scale=1e6, coordinatewise=True)
@example(values=np.full((2, 3), -5e-324), scale=1e6, coordinatewise=False)
def test_output_stays_in_declared_interval_for_any_finite_input(name, values, scale, coordinatewise):
    model = _randomise(MODELS[name](interval=(0.3, 1.7), coordinatewise=coordinatewise), scale)
    x = torch.as_tensor(values)
    state = None
    with torch.no_grad():
        for _step in range(2):  # a second call exercises a recurrent state where there is one
            P, clipped, state = model(x, -x, x * 1e-3, state)
            assert torch.isfinite(P).all() and float(P.min()) >= 0.3 and float(P.max()) <= 1.7
            assert 0 <= float(clipped.min()) and float(clipped.max()) <= 1


@pytest.mark.parametrize("name", MODELS)
def test_shapes_untrained_identity_and_scalar_ablation(name):
    model = MODELS[name]()
    assert isinstance(model, StepSizeModel)
    for shape in [(3, 5), (5,)]:
        P, clipped, _ = model(torch.randn(shape), torch.randn(shape), torch.randn(shape))
        assert P.shape == shape and clipped.shape == shape[:-1] and P.dtype == torch.float64
        assert torch.equal(P, torch.ones(shape))  # zero head: plain BFGS with unit steps
    scalar = _randomise(MODELS[name](coordinatewise=False))
    P, _, _ = scalar(torch.randn(2, 5), torch.randn(2, 5), torch.randn(2, 5))
    assert torch.allclose(P, P[:, :1].expand_as(P)) and not torch.allclose(P[0], P[1])


@pytest.mark.parametrize("name", MODELS)
def test_models_are_equivariant_under_permuting_coordinates(name):
    model = _randomise(MODELS[name]())
    x, g, d = torch.randn(3, 2, 7, generator=torch.Generator().manual_seed(1))
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(2))
    P, _, _ = model(x, g, d)
    P_perm, _, _ = model(x[:, perm], g[:, perm], d[:, perm])
    assert torch.allclose(P_perm, P[:, perm], rtol=1e-12, atol=1e-12)


def test_only_the_transformer_lets_coordinates_see_each_other():
    x, g, d = torch.randn(3, 1, 6, generator=torch.Generator().manual_seed(3))
    moved = x.clone()
    moved[0, 0] += 5.0
    for name, couples in [("lstm", False), ("mlp", False), ("transformer", True)]:
        model = _randomise(MODELS[name]())
        P, _, _ = model(x, g, d)
        P_moved, _, _ = model(moved, g, d)
        assert bool((P[0, 1:] != P_moved[0, 1:]).any()) == couples, name
        assert not torch.equal(P[0, 0], P_moved[0, 0])


def test_a_float32_model_takes_float64_inputs():
    for name in MODELS:
        model = _randomise(MODELS[name]()).to(torch.float32)
        P, clipped, _ = model(torch.randn(2, 4), torch.randn(2, 4), torch.randn(2, 4))
        assert P.dtype == torch.float64 and torch.isfinite(P).all()


@pytest.mark.parametrize("name", MODELS)
def test_models_train_online_with_learned_steps_and_meta_train(name):
    gen = torch.Generator().manual_seed(0)
    instances = [(LogisticRegression.random(5, 20, generator=gen), torch.zeros(5)) for _ in range(2)]
    torch.manual_seed(0)
    model = MODELS[name]()
    before = [p.clone() for p in model.parameters()]
    losses = meta_train(model, instances, 8, lr=1e-2, safeguard="damp")
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    trace = cwss_bfgs(instances[0][0], torch.zeros(5), LearnedSteps(model, lr=1e-2), 8)
    assert np.isfinite(trace.series("f")).all() and (trace.diverged_at == -1).all()
    P_dev = trace.series("p_dev_inf")
    assert float(P_dev.max()) <= 0.9 + 1e-12  # default interval (0.1, 1.9)


def test_bounded_steps_maps_any_non_nan_output_into_the_interval():
    raw = torch.tensor([[-float("inf"), -1e300, 0.0, 3.0, float("inf")]])
    P, clipped = bounded_steps(raw, (0.2, 1.5))
    assert float(P.min()) == 0.2 and float(P.max()) == 1.5 and P[0, 2] == 1.0
    assert float(clipped) == pytest.approx(4 / 5)  # 2σ(3) ≈ 1.91 > 1.5 is clipped too
    P_scalar, _ = bounded_steps(torch.tensor([[0.0, 2.0]]), (0.1, 1.9), coordinatewise=False)
    assert torch.allclose(P_scalar, torch.full((1, 2), 2 * torch.sigmoid(torch.tensor(1.0)).item()))


def test_online_update_with_a_non_finite_gradient_is_skipped_not_applied():
    torch.manual_seed(0)
    policy = LearnedSteps(_randomise(StepSizeLSTM(hidden=4), 0.1), lr=1e-2)
    x = torch.tensor([[0.0, 0.0], [720.0, 720.0]])
    g = d = torch.ones(2, 2)
    P, _ = policy.propose(0, x, g, d)
    f_next = torch.exp(x - P * d).sum(-1)            # instance 1 overflows to inf: 0·inf = NaN in backward
    policy.learn(f_next, torch.exp(x).sum(-1), g, d, P)
    assert policy.skipped_updates == 1
    assert all(torch.isfinite(p).all() for p in policy.model.parameters())


def test_activation_memory_and_parameter_counts():
    x = torch.randn(1, 50)
    for name in MODELS:
        model = MODELS[name]()
        assert parameter_count(model) == sum(p.numel() for p in model.parameters())
        small = saved_activation_bytes(model, x[:, :25], x[:, :25], x[:, :25])
        large = saved_activation_bytes(model, x, x, x)
        assert 0 < small < large


@pytest.mark.parametrize("build, message", [
    (lambda: StepSizeTransformer(hidden=6, heads=4), "multiple of heads"),
    (lambda: StepSizeMLP(depth=0), "depth"),
    (lambda: StepSizeMLP(interval=(1.0, 1.5)), "interval"),
    (lambda: StepSizeTransformer(hidden=0), "hidden"),
])
def test_bad_configuration_raises_error_naming_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_models_reject_non_finite_and_mismatched_inputs():
    for name in MODELS:
        model = MODELS[name]()
        with pytest.raises(ValueError, match="x contains NaN"):
            model(torch.tensor([float("nan")]), torch.ones(1), torch.ones(1))
        with pytest.raises(ValueError, match="share one shape"):
            model(torch.ones(2), torch.ones(3), torch.ones(2))
        with pytest.raises(ValueError, match=r"shape \(d,\) or \(B, d\)"):
            model(torch.ones(1, 2, 2), torch.ones(1, 2, 2), torch.ones(1, 2, 2))
