"""The batched sweeps of the Math-L2O claims (verify.margins.mathl2o: the instance distributions and the batched
margins): stacked per-instance weights evaluate each instance as its own model would, and each sweep's margin reports
violations when the implementation under test is broken on purpose."""

from __future__ import annotations

import sys

import pytest
import torch

import implementations.mathl2o  # noqa: F401  (loads the submodules patched below)
from implementations.mathl2o import MathL2O, rollout
from verify.margins.mathl2o import (
    draw_init,
    draw_worst_direction,
    feature_magnitudes,
    gd_bound_margin,
    gd_bound_margins,
    gd_gap_margins,
    homogeneity_margins,
    init_model,
    init_qp,
    inner_gradients,
    step_inputs,
)
from verify.registry import Context
from verify.sweep import batched_sweep

LIKE = {"dtype": torch.float64, "device": torch.device("cpu")}
SHAPE = (6, 4, 12, 3, 8)  # d, b, width, depth, T


def _batch(n: int = 64, shape=SHAPE, seed: int = 0) -> dict:
    d, b, width, depth, _ = shape
    return draw_init(d, b, width, depth, LIKE)(n, torch.Generator().manual_seed(seed))


def test_stacked_weights_evaluate_every_instance_as_its_own_model():
    d, b, width, depth, T = SHAPE
    batch = _batch(8)
    model = init_model(batch, width, depth)
    stacked = rollout(model, init_qp(batch), T, keep_inputs=True)
    for i in range(8):
        one = {k: v[i] for k, v in batch.items()}
        alone = rollout(init_model(one, width, depth), init_qp(one), T, keep_inputs=True)
        torch.testing.assert_close(stacked.X[i], alone.X[0], rtol=1e-14, atol=1e-15)
        torch.testing.assert_close(model.features(stacked.inputs[-1])[i],
                                   init_model(one, width, depth).features(alone.inputs[-1])[0], rtol=1e-14, atol=0.0)
    assert not bool(model.last.detach().any())  # the implementation's deterministic W_L = 0


def test_the_draws_follow_the_deterministic_initialisation():
    batch = _batch(32)
    for layer, (fan_in, fan_out) in enumerate(((2, 2), (2, 12)), start=1):
        q = batch[f"Q{layer}"]
        assert q.shape == (32, fan_in, fan_out)
        torch.testing.assert_close(q @ q.mT, torch.eye(fan_in, **LIKE).expand(32, -1, -1))  # orthonormal rows
    assert bool(((batch["e"] >= 1) & (batch["e"] <= 100)).all())
    torch.testing.assert_close(batch["M"].norm(dim=1), torch.ones(32, 6, **LIKE))


EQUALS_GD, INNER_GRAD_ZERO = "mathl2o.init.equals-gd", "mathl2o.init.inner-grad-zero"
HOMOGENEITY, GD_BOUND = "mathl2o.init.alpha0-homogeneity", "mathl2o.gd.sublinear-bound"


def _sweep(claim_id, margin, draw, count=600, recheck=None):
    return batched_sweep(Context(claim_id=claim_id), count, draw, margin, recheck=recheck, stream="test")


def _gd_gap(batch):
    return gd_gap_margins(init_model(batch, SHAPE[2], SHAPE[3]), init_qp(batch), SHAPE[4])


def _inner(batch):
    return inner_gradients(init_model(batch, SHAPE[2], SHAPE[3]), init_qp(batch), SHAPE[4])[0]


def _homogeneity(batch):
    width, depth, T = SHAPE[2:]
    one, scaled = (init_model(batch, width, depth, s) for s in (torch.ones_like(batch["e"]), batch["e"]))
    z1, ze = (step_inputs(model, init_qp(batch), T) for model in (one, scaled))
    with torch.no_grad():
        return homogeneity_margins(one.features(z1), scaled.features(ze), feature_magnitudes(scaled, ze), batch["e"],
                                   depth)


DRAW = draw_init(*SHAPE[:4], LIKE)


@pytest.mark.parametrize("claim_id, margin", [(EQUALS_GD, _gd_gap), (INNER_GRAD_ZERO, _inner),
                                              (HOMOGENEITY, _homogeneity)])
def test_the_initialisation_sweeps_hold_on_the_implementation(claim_id, margin):
    assert _sweep(claim_id, margin, DRAW).violations == 0


def test_the_equals_gd_sweep_catches_step_sizes_off_by_1e_9(monkeypatch):
    forward = MathL2O.forward
    monkeypatch.setattr(MathL2O, "forward", lambda self, z, kernel=None: forward(self, z, kernel) * (1 + 1e-9))
    assert _sweep(EQUALS_GD, _gd_gap, DRAW).violations == 600


def test_the_inner_gradient_sweep_catches_a_non_zero_last_layer(monkeypatch):
    initial = MathL2O._initial_weight
    monkeypatch.setattr(MathL2O, "_initial_weight",
                        lambda self, fan_in, fan_out, last, gen: initial(self, fan_in, fan_out, last, gen)
                        + (1e-6 if last else 0.0))
    assert _sweep(INNER_GRAD_ZERO, _inner, DRAW).violations > 500


def test_the_homogeneity_sweep_catches_a_biased_relu_and_accepts_a_leaky_one(monkeypatch):
    def features_with(activation):
        def features(self, z):
            h = z
            for w in self.inner:
                h = activation(h @ w)
            return h
        return features

    monkeypatch.setattr(MathL2O, "features", features_with(lambda x: torch.nn.functional.leaky_relu(x, 0.01)))
    assert _sweep(HOMOGENEITY, _homogeneity, DRAW).violations == 0  # positively homogeneous too
    monkeypatch.setattr(MathL2O, "features", features_with(lambda x: torch.relu(x + 1e-9)))
    assert _sweep(HOMOGENEITY, _homogeneity, DRAW).violations > 500


def test_the_gd_bound_sweep_holds_and_catches_a_step_ten_times_too_small(monkeypatch):
    draw = draw_worst_direction(6, 4, 60, LIKE)

    def margin(batch):
        return gd_bound_margins(batch["M"], batch["x_gt"], 60)

    def recheck(instance):
        return gd_bound_margin(instance["M"], instance["x_gt"], 60)

    right = _sweep(GD_BOUND, margin, draw, recheck=recheck)
    assert right.violations == 0 and right.worst_margin == pytest.approx(right.recheck_margin, rel=1e-12)
    unroll_module = sys.modules["implementations.mathl2o.unroll"]
    monkeypatch.setattr(unroll_module.rollout, "__defaults__",
                        tuple(0.1 if v == unroll_module.STEP_SCALE else v for v in unroll_module.rollout.__defaults__))
    wrong = _sweep(GD_BOUND, margin, draw, recheck=recheck)
    assert wrong.violations > 100 and wrong.recheck_margin > 0
