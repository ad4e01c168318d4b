"""Unrolled solver and SGD training: GD equivalence, argument errors, divergence recording, dtypes."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from implementations.mathl2o import QP, MathL2O, rollout, train, training_step, unroll
from implementations.mathl2o.experiments import (
    ModelSpec,
    converges,
    descends_sufficiently,
    lr_edges,
    smallest_training_e,
    step_size_criteria,
)
from implementations.mathl2o.unroll import TrainHistory
from implementations.storage import load_plain


def _gd_values(qp: QP, T: int) -> list[float]:
    X, out = qp.zeros(), []
    for _ in range(T + 1):
        out.append(float(qp.value(X)))
        X = X - (0.9999 / qp.beta).unsqueeze(-1) * qp.gradient(X)
    return out


def test_untrained_model_reproduces_gradient_descent_for_dense_and_planar_kernels():
    qp = QP.random(3, 8, 5, seed=4)
    for kernel in ("dense", "planar"):
        values = unroll(MathL2O(24, e=30.0, kernel=kernel), qp, 12)
        torch.testing.assert_close(values, torch.tensor(_gd_values(qp, 12), dtype=torch.float64), rtol=1e-13, atol=0)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(T=0), ValueError, "T must be >= 1"),
    (dict(T=2.5), TypeError, "T must be an int"),
    (dict(T=3, step_scale=-1.0), ValueError, "step_scale"),
])
def test_unroll_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        unroll(MathL2O(4), QP.random(1, 3, 2), **kwargs)


@pytest.mark.parametrize("lr, iters, match",
                         [(0.0, 3, "lr"), (-1e-3, 3, "lr"), (math.nan, 3, "lr"), (1e-3, -1, "iters")])
def test_train_rejects_bad_learning_rates_and_iteration_counts(lr, iters, match):
    with pytest.raises(ValueError, match=match):
        train(MathL2O(4), QP.random(1, 3, 2), 3, lr, iters)


def test_divergent_training_is_recorded_not_raised():
    qp = QP.random(2, 6, 4, seed=1)
    history = train(MathL2O(12, e=100.0), qp, 4, 1e12, 20)
    assert history.diverged_at is not None or not converges(history)
    if history.diverged_at is not None:
        assert history.gain() == -math.inf
    assert all(isinstance(x, float) for x in history.losses)


def test_training_reduces_the_loss_and_history_is_consistent():
    qp = QP.random(2, 6, 4, seed=1)
    history = train(MathL2O(12, e=25.0), qp, 4, 1e-3, 10)
    assert len(history.losses) == 11 and len(history.grad_norms) == 10
    assert history.final_loss < history.gd_loss and history.diverged_at is None
    assert 0 < history.gain() < 1


def test_float32_models_keep_their_dtype_and_start_from_the_float64_gd_loss():
    qp64 = QP.random(2, 8, 6, seed=3)
    qp32 = qp64.to(dtype=torch.float32)
    model = MathL2O(16, e=10.0, dtype=torch.float32)
    loss = training_step(model, qp32, 5, 1e-4)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert abs(loss - float(unroll(None, qp64, 5)[-1])) <= 1e-5 * loss


def test_detaching_inputs_changes_gradients_only_through_the_model_inputs():
    qp = QP.random(2, 5, 3, seed=2)
    model = MathL2O(10, e=5.0, init="random_last", kernel="dense", seed=1)
    grads = []
    for detach in (True, False):
        loss = unroll(model, qp, 4, detach_inputs=detach)[-1]
        grads.append(torch.autograd.grad(loss, list(model.parameters())))
    assert float(unroll(model, qp, 4, True)[-1].detach()) == float(unroll(model, qp, 4, False)[-1].detach())
    assert any(not torch.allclose(a, b) for a, b in zip(*grads))


def test_checkpointed_rollout_gives_the_same_losses_and_gradients():
    qp = QP.random(2, 6, 4, seed=5)
    model = MathL2O(12, e=10.0, init="random_last", seed=2)
    results = []
    for flag in (False, True):
        loss = rollout(model, qp, 5, checkpoint_steps=flag).values[-1]
        results.append((loss.detach(), torch.autograd.grad(loss, list(model.parameters()))))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b)


def test_lr_edge_search_and_e_scan_return_consistent_brackets():
    qp = QP.random(2, 4, 3, seed=1)
    spec = ModelSpec(8, 10.0, 3, seed=1)
    edges = lr_edges(spec, qp, 3, 5, low=1e-6, high=1e6, criteria=step_size_criteria(qp, 3), steps=6)
    for found in edges.values():
        assert found["bracket"][0] <= found["bracket"][1]
        assert math.isnan(found["edge"]) or found["edge"] == found["bracket"][0]
    # sufficient decrease implies convergence at every η, so its edge cannot lie above the convergence edge
    assert edges["sufficient decrease"]["edge"] <= edges["convergence"]["edge"]
    scan = smallest_training_e(spec, qp, 3, 1e-3, 5, [1.0, 100.0], min_gain=1e-9)
    assert scan["e"] in (1.0, 100.0) or math.isnan(scan["e"])
    with pytest.raises(ValueError, match="low < high"):
        lr_edges(spec, qp, 3, 5, low=1.0, high=0.5, criteria=step_size_criteria(qp, 3))


def test_lr_edges_train_each_eta_once_whatever_the_number_of_criteria(monkeypatch):
    experiments = importlib.import_module("implementations.mathl2o.experiments")
    trained = []
    real_run = experiments.run
    monkeypatch.setattr(experiments, "run", lambda spec, qp, T, lr, iters: trained.append(lr) or
                        real_run(spec, qp, T, lr, iters))
    qp = QP.random(2, 4, 3, seed=1)
    edges = lr_edges(ModelSpec(8, 10.0, 3, seed=1), qp, 3, 5, low=1e-6, high=1e6,
                     criteria=step_size_criteria(qp, 3), steps=6)
    assert len(trained) == len(set(trained))
    assert len(trained) <= len(edges["convergence"]["scan"]) + 2 * 6


def test_sufficient_decrease_needs_half_eta_times_the_squared_gradient_at_every_step():
    history = TrainHistory(losses=[1.0, 0.5, 0.3], grad_norms=[1.0, 0.6, 0.5])
    assert descends_sufficiently(history, 1.0, rtol=0.0)  # 0.5 ≤ 1 − 0.5 and 0.3 ≤ 0.5 − 0.18
    assert not descends_sufficiently(history, 1.2, rtol=0.0)  # 0.5 > 1 − 0.6
    assert descends_sufficiently(history, 1.2, rtol=0.1)  # the round-off allowance is relative to 𝓕_k
    assert not descends_sufficiently(TrainHistory([1.0, 0.5], [1.0, 0.1], diverged_at=1), 1e-3, rtol=0.0)
    assert converges(TrainHistory([1.0, 1.5, 0.9], [1.0, 1.0, 1.0]))
    assert not descends_sufficiently(TrainHistory([1.0, 1.5, 0.9], [1.0, 1.0, 1.0]), 1e-3, rtol=0.0)
    with pytest.raises(ValueError, match="lr"):
        descends_sufficiently(history, 0.0, rtol=0.0)
    with pytest.raises(ValueError, match="rtol"):
        descends_sufficiently(history, 1.0, rtol=math.nan)


class _Interrupt(Exception):
    pass


def test_checkpointed_training_interrupted_and_resumed_equals_the_uninterrupted_one(tmp_path, monkeypatch):
    unroll_module = importlib.import_module("implementations.mathl2o.unroll")  # the package re-exports unroll()

    qp = QP.random(2, 6, 4, seed=1)
    straight = train(MathL2O(12, e=25.0, seed=2), qp, 4, 1e-3, 10)
    path = str(tmp_path / "train.pt")
    real_update, calls = unroll_module.sgd_update, []

    def interrupted_update(params, grads, lr):
        calls.append(1)
        if len(calls) == 7:
            raise _Interrupt
        real_update(params, grads, lr)

    monkeypatch.setattr(unroll_module, "sgd_update", interrupted_update)
    with pytest.raises(_Interrupt):
        train(MathL2O(12, e=25.0, seed=2), qp, 4, 1e-3, 10, checkpoint_path=path, checkpoint_every=3)
    monkeypatch.setattr(unroll_module, "sgd_update", real_update)
    assert load_plain(path)["steps_done"] == 6
    resumed_model = MathL2O(12, e=25.0, seed=2)
    resumed = train(resumed_model, qp, 4, 1e-3, 10, checkpoint_path=path, checkpoint_every=3)
    assert resumed.losses == straight.losses and resumed.grad_norms == straight.grad_norms
    loaded_model = MathL2O(12, e=25.0, seed=2)
    loaded = train(loaded_model, qp, 4, 1e-3, 10, checkpoint_path=path)
    assert loaded.losses == straight.losses
    for a, b in zip(loaded_model.parameters(), resumed_model.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_of_a_shorter_training_is_continued_and_a_longer_one_refused(tmp_path):
    qp = QP.random(2, 6, 4, seed=1)
    path = str(tmp_path / "train.pt")
    train(MathL2O(12, e=25.0, seed=2), qp, 4, 1e-3, 4, checkpoint_path=path)
    continued = train(MathL2O(12, e=25.0, seed=2), qp, 4, 1e-3, 9, checkpoint_path=path)
    assert continued.losses == train(MathL2O(12, e=25.0, seed=2), qp, 4, 1e-3, 9).losses
    with pytest.raises(ValueError, match="checkpoint_path .* 9 SGD steps, more than iters=5"):
        train(MathL2O(12, e=25.0, seed=2), qp, 4, 1e-3, 5, checkpoint_path=path)


@pytest.mark.parametrize("change", ["lr", "weights", "instances"])
def test_checkpoint_of_another_training_is_refused_not_resumed(tmp_path, change):
    qp = QP.random(2, 6, 4, seed=1)
    path = str(tmp_path / "train.pt")
    train(MathL2O(12, e=25.0, seed=2), qp, 4, 1e-3, 3, checkpoint_path=path)
    lr = 2e-3 if change == "lr" else 1e-3
    model = MathL2O(12, e=25.0, seed=3 if change == "weights" else 2)
    other_qp = QP.random(2, 6, 4, seed=5) if change == "instances" else qp
    with pytest.raises(ValueError, match="checkpoint_path .* another|other weights"):
        train(model, other_qp, 4, lr, 3, checkpoint_path=path)


def test_diverged_checkpointed_training_is_loaded_as_diverged(tmp_path):
    qp = QP.random(2, 6, 4, seed=1)
    path = str(tmp_path / "train.pt")
    first = train(MathL2O(12, e=100.0), qp, 4, 1e12, 20, checkpoint_path=path)
    again = train(MathL2O(12, e=100.0), qp, 4, 1e12, 20, checkpoint_path=path)
    assert again.diverged_at == first.diverged_at and again.losses == first.losses


def test_checkpoint_path_rejects_a_callback(tmp_path):
    with pytest.raises(ValueError, match="callback cannot be combined with checkpoint_path"):
        train(MathL2O(4), QP.random(1, 3, 2), 3, 1e-3, 2, callback=lambda *a: None,
              checkpoint_path=str(tmp_path / "x.pt"))


def test_rollout_records_the_step_where_the_iterates_overflow():
    qp = QP.random(1, 3, 2)
    run = rollout(None, qp, 5, step_scale=1e300)
    assert run.diverged_at == 1  # X₁ ≈ 1e300·g is finite but F(X₁) ≈ 1e600 is not
    assert bool(torch.isfinite(run.values[:1]).all()) and not bool(torch.isfinite(run.values[1:]).any())
    assert not bool(torch.isfinite(unroll(None, qp, 5, step_scale=1e300)[1:]).any())
    assert rollout(MathL2O(4), qp, 5).diverged_at is None


def test_unroll_rejects_non_bool_flags():
    with pytest.raises(TypeError, match="detach_inputs"):
        unroll(MathL2O(4), QP.random(1, 3, 2), 2, detach_inputs=None)
    with pytest.raises(TypeError, match="model must be a MathL2O"):
        train(None, QP.random(1, 3, 2), 2, 1e-3, 1)
