"""Stacked Math-L2O trainings (implementations.mathl2o.stacked) give train's histories and weights, model by model."""

import copy
import math
import os

import pytest
import torch

from implementations.mathl2o import QP, MathL2O, train
from implementations.mathl2o.kernels import planar_relu_layer
from implementations.mathl2o.stacked import train_many


def _assert_same_training(stacked, alone, stacked_model, alone_model):
    assert stacked.diverged_at == alone.diverged_at
    assert len(stacked.losses) == len(alone.losses) and len(stacked.grad_norms) == len(alone.grad_norms)
    torch.testing.assert_close(torch.tensor(stacked.losses), torch.tensor(alone.losses), rtol=1e-12, atol=0.0,
                               equal_nan=True)
    torch.testing.assert_close(torch.tensor(stacked.grad_norms), torch.tensor(alone.grad_norms), rtol=1e-12, atol=0.0,
                               equal_nan=True)
    for a, b in zip(stacked_model.parameters(), alone_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15, equal_nan=True)


@pytest.mark.parametrize("depth", [3, 2])  # the planar kernel (the code's 2→2→H→1 layers) and dense layers
def test_stacked_trainings_equal_one_by_one_trainings_including_one_that_diverges(depth):
    qps = [QP.random(2, 6, 4, seed=s) for s in (1, 2, 3, 1)]
    models = [MathL2O(12, e, depth, seed=s) for e, s in ((25.0, 1), (5.0, 2), (100.0, 3), (1.0, 4))]
    with torch.no_grad():
        models[2].last.fill_(math.inf)  # its step sizes, hence its loss, are NaN from the start: it stops there
    lrs = [1e-3, 3e-3, 1e-2, 1e-2]
    alone_models = [copy.deepcopy(m) for m in models]
    alone = [train(m, qp, 4, lr, 12) for m, qp, lr in zip(alone_models, qps, lrs)]
    stacked = train_many(models, qps, 4, lrs, 12)
    assert alone[2].diverged_at is not None and all(h.diverged_at is None for i, h in enumerate(alone) if i != 2)
    assert any(h.losses[-1] < h.losses[0] for h in alone)  # the comparison is over trainings that move
    for s, a, sm, am in zip(stacked, alone, models, alone_models):
        _assert_same_training(s, a, sm, am)


def test_stacked_checkpoints_are_loaded_by_train_and_an_existing_checkpoint_is_resumed_not_stacked(tmp_path):
    qp = QP.random(2, 6, 4, seed=1)
    paths = [str(tmp_path / f"run{i}.pt") for i in range(3)]
    lrs = [1e-3, 2e-3, 4e-3]
    partial = MathL2O(12, 25.0, seed=3)
    train(partial, qp, 4, lrs[2], 5, checkpoint_path=paths[2])  # a shorter training of the third: continued
    models = [MathL2O(12, 25.0, seed=s) for s in (1, 2, 3)]
    histories = train_many(models, [qp] * 3, 4, lrs, 9, checkpoint_paths=paths, checkpoint_every=4)
    assert all(os.path.exists(p) for p in paths)
    for seed, lr, path, history, model in zip((1, 2, 3), lrs, paths, histories, models):
        alone_model = MathL2O(12, 25.0, seed=seed)
        _assert_same_training(history, train(alone_model, qp, 4, lr, 9), model, alone_model)
        loaded_model = MathL2O(12, 25.0, seed=seed)
        loaded = train(loaded_model, qp, 4, lr, 9, checkpoint_path=path)
        assert loaded.losses == history.losses and loaded.grad_norms == history.grad_norms
        for a, b in zip(loaded_model.parameters(), model.parameters()):
            assert torch.equal(a, b)


@pytest.mark.parametrize("arguments, error, match", [
    (dict(lrs=[1e-3]), ValueError, "one entry per training"),
    (dict(lrs=[1e-3, -1.0]), ValueError, "lrs entry must be a positive finite number"),
    (dict(qps="not a list"), TypeError, "qps must be a list of QP"),
    (dict(checkpoint_paths=["same.pt", "same.pt"]), ValueError, "must not name one file twice"),
])
def test_train_many_rejects_bad_arguments(arguments, error, match):
    qp = QP.random(2, 6, 4, seed=1)
    given = dict(models=[MathL2O(8, seed=1), MathL2O(8, seed=2)], qps=[qp, qp], T=3, lrs=[1e-3, 1e-3], iters=2)
    with pytest.raises(error, match=match):
        train_many(**(given | arguments))


def test_the_stacked_planar_kernel_applies_each_layer_to_its_own_rows():
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(3, 7, 2, generator=gen, dtype=torch.float64).clamp_min(0.0).requires_grad_()
    R = torch.randn(3, 2, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 5, 1, generator=gen, dtype=torch.float64, requires_grad=True)
    stacked = planar_relu_layer(h, R, w)
    weights = torch.randn(3, 7, generator=gen, dtype=torch.float64)
    grads = torch.autograd.grad((stacked * weights).sum(), (h, R, w))
    for i in range(3):
        alone = planar_relu_layer(h[i], R[i], w[i])
        torch.testing.assert_close(stacked[i], alone, rtol=1e-14, atol=1e-14)
        for g, g_alone in zip(grads, torch.autograd.grad((alone * weights[i]).sum(), (h, R, w))):
            torch.testing.assert_close(g[i], g_alone[i], rtol=1e-14, atol=1e-14)
