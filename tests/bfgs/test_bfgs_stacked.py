"""Independent LSTM copies run as one batch (implementations.bfgs.stacked) equal separate runs, and the seeds of
the L2O study do not interact.

Bands, fixed before the runs: the stacked LSTM cell is the same arithmetic as nn.LSTMCell in another order, so
the first proposals agree to round-off (1e-15); online learning feeds each difference back through Adam for every
step, so after 30 iterations P may differ by round-off amplified by the learning dynamics: 1e-8 absolute on P and
1e-12 relative on f (f depends on P only through the step, which BFGS damps), and the meta-trained weights by 1e-8.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from implementations.bfgs import LearnedSteps, StackedLSTMSteps, StepSizeLSTM, cwss_bfgs, meta_train, stacked_meta_train
from implementations.bfgs.experiments import QUICK, make_instances, method_summary, run_task_seeds, stack_objectives


def _models(count: int, coordinatewise: bool = True) -> list[StepSizeLSTM]:
    """Seeded LSTMs whose heads are perturbed (a zero head gives P ≡ I and would hide the recurrent part)."""
    models = []
    for seed in range(count):
        torch.manual_seed(seed)
        model = StepSizeLSTM(hidden=6, coordinatewise=coordinatewise).to(torch.float64)
        with torch.no_grad():
            model.head.weight.normal_(0.0, 0.5)
        models.append(model)
    return models


def _instances(task: str, count: int):
    scale = type(QUICK)(**{**QUICK.as_dict(), "dim": 6, "rows": 12})
    return make_instances(task, count, scale, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("coordinatewise", [True, False])
def test_stacked_copies_run_like_separate_learned_steps(coordinatewise):
    instances = _instances("logsumexp", 3)
    models = _models(3, coordinatewise)
    separate = [cwss_bfgs(o, x, LearnedSteps(copy.deepcopy(m), lr=1e-2), 30, cond_every=0)
                for m, (o, x) in zip(models, instances)]
    batch = cwss_bfgs(stack_objectives([o for o, _ in instances]), torch.stack([x for _, x in instances]),
                      StackedLSTMSteps(models, lr=1e-2), 30, cond_every=0)
    for b, trace in enumerate(separate):
        np.testing.assert_allclose(batch.series("p_dev_inf")[0, b], trace.series("p_dev_inf")[0, 0], atol=1e-15)
        np.testing.assert_allclose(batch.series("p_dev_inf")[:, b], trace.series("p_dev_inf")[:, 0], atol=1e-8)
        np.testing.assert_allclose(batch.values_with_start()[:, b], trace.values_with_start()[:, 0], rtol=1e-12)


def test_stacked_meta_training_trains_each_model_as_meta_train_does():
    instances = _instances("least_squares", 6)
    models = _models(2)
    alone = [copy.deepcopy(m) for m in models]
    for b, model in enumerate(alone):
        meta_train(model, [instances[b], instances[2 + b], instances[4 + b]], 20, lr=1e-2)
    together = [copy.deepcopy(m) for m in models]
    runs = [(stack_objectives([instances[j][0], instances[j + 1][0]]),
             torch.stack([instances[j][1], instances[j + 1][1]])) for j in (0, 2, 4)]
    history = stacked_meta_train(together, runs, 20, lr=1e-2)
    assert len(history) == 2 and all(len(h) == 3 for h in history)
    for a, b in zip(alone, together):
        for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
            np.testing.assert_allclose(pb.detach().numpy(), pa.detach().numpy(), atol=1e-8, err_msg=name)


def test_stacked_copies_reject_mismatched_models_and_batches():
    with pytest.raises(ValueError, match="models"):
        StackedLSTMSteps([StepSizeLSTM(hidden=4), StepSizeLSTM(hidden=5)])
    policy = StackedLSTMSteps(_models(2))
    x = torch.zeros(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="B = 2"):
        policy.propose(0, x, torch.ones_like(x), torch.ones_like(x))


def test_the_seeds_of_a_study_do_not_interact():
    """Seed 1 computed in a batch with seed 0 equals seed 1 alone: the learned models, the batched baselines and
    the oracles (each instance's inner problem solved on its own) to the bands above, and so do the iteration
    counts. An oracle run stops once every instance of its batch has reached the tolerance, so alone it may stop
    earlier: its common iterations are compared."""
    scale = type(QUICK)(**{**QUICK.as_dict(), "dim": 5, "rows": 10, "train": 1, "test": 1, "iterations": 12,
                           "timing_iterations": 2})
    both = run_task_seeds("least_squares", scale, (0, 1))[1]
    alone = run_task_seeds("least_squares", scale, (1,))[1]
    assert both.f_star == pytest.approx(alone.f_star, rel=1e-12)
    for method, traces in alone.traces.items():
        single = traces[0].values_with_start()
        batched = both.traces[method][0].values_with_start()
        if method.startswith("oracle"):
            batched = batched[: len(single)]
        np.testing.assert_allclose(batched, single, rtol=1e-12, err_msg=method)
    together, single = method_summary(both, scale), method_summary(alone, scale)
    for method in ("oracle_greedy", "oracle_lookahead"):
        assert together[method]["iterations"] == single[method]["iterations"]


def test_a_run_that_never_reaches_the_tolerance_counts_as_k_plus_one():
    scale = type(QUICK)(**{**QUICK.as_dict(), "dim": 5, "rows": 10, "train": 1, "test": 1, "iterations": 2,
                           "timing_iterations": 1, "lookahead": 0})
    result = run_task_seeds("logsumexp", scale, (0,))[0]
    summary = method_summary(result, scale)
    for stats in summary.values():  # two iterations cannot reach 1e-6 of the initial gap here
        assert stats["reached"] == 0 and stats["iterations"] == scale.iterations + 1
