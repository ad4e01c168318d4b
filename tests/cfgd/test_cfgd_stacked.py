"""Several models meta-trained as one stacked program (training.meta_train_many, implementations.cfgd.stacked)
against meta_train / rollout model by model.

Tolerance (fixed before the runs): 1e-9 relative for weights and per-run summed losses after a few runs of a small
configuration; the stacked program reorders float64 sums (batched matmuls), and meta-training amplifies round-off
from run to run (on the quick-budget least-squares configuration it grows geometrically from 1e-16 to up to 4e-2
by run 20, benchmarks/cfgd_grid_search.md, so longer trainings are not compared this tightly)."""

from __future__ import annotations

import math
import os

import pytest
import torch

from implementations.cfgd.batched import stack_problems
from implementations.cfgd.l2o import L2OCFGD, LSTMOptimizer
from implementations.cfgd.optimizers import ExactLineSearch
from implementations.cfgd.stacked import RowAdam, stack_weights, stacked_rollout, unstack_into
from implementations.cfgd.training import (
    MetaTrainConfig,
    TaskConfig,
    load_checkpoint,
    meta_train,
    meta_train_many,
    rollout,
    stackable,
)

F64 = torch.float64
RTOL = 1e-9


def configs(task: TaskConfig, kind: str, hessian: str = "exact", **extra) -> list[MetaTrainConfig]:
    return [MetaTrainConfig(task, kind, runs=3, unroll=3, lr=3e-3, hidden=6, hessian=hessian, seed=s, **extra)
            for s in (0, 1, 2)]


def assert_same(stacked_outcomes, sequential_outcomes) -> None:
    for (model, log), (ref_model, ref_log) in zip(stacked_outcomes, sequential_outcomes):
        for p, q in zip(model.parameters(), ref_model.parameters()):
            assert torch.allclose(p.detach(), q.detach(), rtol=RTOL, atol=1e-12)
        for a, b in zip(log["summed_loss"], ref_log["summed_loss"]):
            assert math.isclose(a, b, rel_tol=RTOL)
        assert log["diverged"] == ref_log["diverged"]


@pytest.mark.parametrize("task", [TaskConfig("least-squares", d=5, m=5, iterations=7),
                                  TaskConfig("h2", n=12, hidden=4, iterations=7)], ids=lambda t: t.name)
@pytest.mark.parametrize("kind", ["cfgd", "lstm"])
def test_meta_train_many_equals_meta_train_model_by_model(task, kind):
    group = configs(task, kind)
    assert all(stackable(c) for c in group)
    assert_same(meta_train_many(group), [meta_train(c) for c in group])


@pytest.mark.parametrize("task", [TaskConfig("least-squares", d=5, m=5, iterations=7),
                                  TaskConfig("h2", n=12, hidden=4, iterations=7)], ids=lambda t: t.name)
@pytest.mark.parametrize("hessian", ["hutchinson", "hutchinson-abs"])
def test_probed_curvature_draws_each_seeds_probes_from_its_own_generator(task, hessian):
    """The paper's Hutchinson curvature: each row draws its probes from its seed's generator step by step, after
    that seed's problem, as meta_train does; a shared or reordered draw would change every seed after the
    first."""
    group = configs(task, "cfgd", hessian=hessian)
    assert all(stackable(c) for c in group)
    assert_same(meta_train_many(group), [meta_train(c) for c in group])


def test_unsupported_configurations_go_through_meta_train():
    group = configs(TaskConfig("least-squares", d=4, m=4, iterations=4), "cfgd", beta_scaling=True)
    assert not stackable(group[0])
    assert_same(meta_train_many(group), [meta_train(c) for c in group])


def test_stacked_checkpoints_are_loaded_by_meta_train(tmp_path):
    group = configs(TaskConfig("least-squares", d=4, m=4, iterations=5), "cfgd")
    paths = [str(tmp_path / f"seed{c.seed}.pt") for c in group]
    outcomes = meta_train_many(group, paths)
    assert all(os.path.exists(p) for p in paths)
    for (model, _), path, config in zip(outcomes, paths, group):
        loaded, loaded_config, log = load_checkpoint(path)
        assert loaded_config == config and len(log["summed_loss"]) == config.runs
        for p, q in zip(model.parameters(), loaded.parameters()):
            assert torch.equal(p.detach(), q.detach())
        again, _ = meta_train(config, checkpoint_path=path)  # finished: loaded, not retrained
        for p, q in zip(model.parameters(), again.parameters()):
            assert torch.equal(p.detach(), q.detach())


def test_a_row_that_diverges_stops_and_skips_its_update_as_rollout_does():
    """Two models trained on one run each, with a blowup threshold between their first-step loss ratios: the row
    that crosses it stops at step 1 and its model is not updated, the other trains; each equals rollout."""
    task = TaskConfig("least-squares", d=4, m=4, iterations=6)
    gen = torch.Generator().manual_seed(4)
    drawn = [task.make(gen) for _ in range(2)]
    torch.manual_seed(0)
    models = [L2OCFGD(hidden=5).double() for _ in range(2)]
    references = [L2OCFGD(hidden=5).double() for _ in range(2)]
    for ref, model in zip(references, models):
        ref.load_state_dict(model.state_dict())
    ratios = []
    for model, (f, x0) in zip(models, drawn):
        assert float(f(x0)) > 1  # so that the divergence limit is blowup·f(x⁰)
        run = rollout(model, f, x0, 1, ExactLineSearch())
        ratios.append(run.losses[1] / run.losses[0])
    assert abs(ratios[0] - ratios[1]) > 1e-3
    blowup = sum(ratios) / 2
    weights = stack_weights(models)
    run = stacked_rollout(models[0], weights, torch.arange(2), stack_problems([f for f, _ in drawn]),
                          torch.stack([x for _, x in drawn]), task.iterations, ExactLineSearch(), unroll=3,
                          optimizer=RowAdam(weights, 1e-2), blowup=blowup)
    assert sorted(d is None for d in run.diverged_at) == [False, True]
    for r, (ref, (f, x0)) in enumerate(zip(references, drawn)):
        adam = torch.optim.Adam(ref.parameters(), lr=1e-2)
        expected = rollout(ref, f, x0, task.iterations, ExactLineSearch(), unroll=3, meta_optimizer=adam,
                           blowup=blowup)
        assert run.diverged_at[r] == expected.diverged_at
        assert run.losses[r] == pytest.approx(expected.losses, rel=RTOL)
    unstack_into(models, weights)
    for model, ref in zip(models, references):
        for p, q in zip(model.parameters(), ref.parameters()):
            assert torch.allclose(p, q, rtol=RTOL, atol=1e-12)


def test_stacked_evaluation_rollouts_equal_rollout():
    """Without an optimizer: every (model, problem) row equals rollout of that model on that problem (a probed
    L2O-CFGD with each row's generator as rollout's)."""
    task = TaskConfig("h2", n=10, hidden=3, iterations=6)
    gen = torch.Generator().manual_seed(8)
    drawn = [task.make(gen) for _ in range(4)]
    torch.manual_seed(1)
    for make in (lambda: L2OCFGD(hidden=5), lambda: L2OCFGD(hidden=5, hessian="hutchinson"),
                 lambda: LSTMOptimizer(hidden=5)):
        models = [make().double() for _ in range(2)]
        rows = torch.tensor([0, 0, 1, 1])
        run = stacked_rollout(models[0], stack_weights(models), rows, stack_problems([f for f, _ in drawn]),
                              torch.stack([x for _, x in drawn]), task.iterations, task.step_size(),
                              generators=[torch.Generator().manual_seed(10 + r) for r in range(4)])
        for r, (f, x0) in enumerate(drawn):
            expected = rollout(models[int(rows[r])], f, x0, task.iterations, task.step_size(),
                               generator=torch.Generator().manual_seed(10 + r))
            assert run.losses[r] == pytest.approx(expected.losses, rel=RTOL)
