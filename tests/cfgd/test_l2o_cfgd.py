"""Tests of NA/AT-CFGD for any objective, step-size rules, L2O-CFGD, the LSTM baseline, meta-training,
checkpoints and the static grid search (implementations.cfgd.optimizers / l2o / meta_train)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from implementations.cfgd.l2o import L2OCFGD, preprocess_gradient
from implementations.cfgd.optimizers import (
    ExactLineSearch,
    FixedStep,
    LookaheadGridSearch,
    cfgd,
    random_initial_terminals,
)
from implementations.cfgd.quadratic import at_cfgd, na_cfgd
from implementations.cfgd.training import (
    MetaTrainConfig,
    StaticGrid,
    TaskConfig,
    grid_search_static,
    load_checkpoint,
    meta_train,
    meta_train_model,
    rollout,
    save_checkpoint,
)
from implementations.problems.least_squares import LeastSquares


def spd_problem(seed: int, d: int = 4):
    gen = torch.Generator().manual_seed(seed)
    M = torch.randn(d, d, generator=gen, dtype=torch.float64)
    A = M @ M.T / d + torch.eye(d, dtype=torch.float64)
    b = torch.randn(d, generator=gen, dtype=torch.float64)
    return A, b, (lambda v: 0.5 * v @ A @ v + b @ v), torch.randn(d, generator=gen, dtype=torch.float64)


@settings(deadline=None, max_examples=10)
@given(seed=st.integers(0, 1000), alpha=st.floats(0.05, 0.95), beta=st.floats(-0.5, 0.5))
def test_na_cfgd_on_a_quadratic_equals_the_closed_form_iteration(seed, alpha, beta):
    """General-objective NA-CFGD (quadrature + nested jvp) with fixed η reproduces na_cfgd (closed form)."""
    A, b, f, x0 = spd_problem(seed)
    ours = cfgd(f, x0, 6, alpha, beta, 0.7, "NA", step_size=FixedStep(0.1))
    closed = na_cfgd(A, b, x0, alpha, beta, 0.7, lr=0.1, steps=6)
    assert abs(ours.losses[-1] - f(closed.final).item()) <= 1e-10 * (1 + abs(ours.losses[-1]))


def test_at_cfgd_uses_the_iterate_lag_steps_back():
    """AT-CFGD with L initial terminals all equal to x⁰ equals at_cfgd(lag=L) (c^(t) = x^(t−L), x^(<0) := x⁰)."""
    A, b, f, x0 = spd_problem(5)
    for lag in (1, 3):
        ours = cfgd(f, x0, 7, 0.4, 0.2, variant="AT", initial_terminals=x0.repeat(lag, 1), step_size=FixedStep(0.1))
        closed = at_cfgd(A, b, x0, 0.4, 0.2, lr=0.1, steps=7, lag=lag)
        assert torch.allclose(ours.x, closed.final, atol=1e-12)


def test_exact_line_search_minimises_a_quadratic_along_the_direction():
    A, b, f, x = spd_problem(2)
    d = torch.randn(4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    eta = ExactLineSearch()(f, x, d)
    derivative = torch.func.grad(lambda e: f(x - e * d))(eta)
    assert abs(derivative.item()) < 1e-10


def test_exact_line_search_closed_form_path_equals_the_autodiff_path():
    """On LeastSquares (gradient + hessian_vector_product) the step equals the jvp-of-grad step on the same f."""
    problem = LeastSquares.random_cfgd(6, 8, torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(5)
    x, d = torch.randn(6, generator=gen, dtype=torch.float64), torch.randn(6, generator=gen, dtype=torch.float64)
    closed = ExactLineSearch()(problem, x, d)
    autodiff = ExactLineSearch()(lambda v: problem.value(v), x, d)
    assert torch.allclose(closed, autodiff, rtol=1e-12)


def test_lookahead_grid_search_picks_the_grid_minimiser():
    def f(v):
        return ((v - 3.0) ** 2).sum()

    x, d = torch.zeros(2, dtype=torch.float64), -torch.ones(2, dtype=torch.float64)
    rule = LookaheadGridSearch((0.5, 2.0, 3.5, 10.0))
    assert rule(f, x, d).item() == 3.5


def test_a_diverging_run_is_recorded_not_raised():
    A, b, f, x0 = spd_problem(3)
    run = cfgd(f, x0, 200, 0.5, 0.0, 0.0, step_size=FixedStep(10.0))
    assert run.diverged_at is not None and len(run.losses) == run.diverged_at


def test_cfgd_rejects_bad_arguments():
    A, b, f, x0 = spd_problem(0)
    with pytest.raises(ValueError, match="variant"):
        cfgd(f, x0, 2, 0.5, variant="XX")
    with pytest.raises(ValueError, match="initial_terminals"):
        cfgd(f, x0, 2, 0.5, variant="AT")
    with pytest.raises(ValueError, match="steps"):
        cfgd(f, x0, 0, 0.5)
    with pytest.raises(ValueError, match="eta"):
        FixedStep(0.0)
    with pytest.raises(ValueError, match="history"):
        random_initial_terminals(0, x0)


def test_preprocessing_follows_andrychowicz():
    """(log|g|/p, sign g) for |g| ≥ e^(−p), (−1, e^p g) below."""
    g = torch.tensor([2.0, -1e-3, 1e-6, 0.0], dtype=torch.float64)
    out = preprocess_gradient(g, 10.0)
    assert torch.allclose(out[0], torch.tensor([math.log(2.0) / 10, 1.0], dtype=torch.float64))
    assert torch.allclose(out[1], torch.tensor([math.log(1e-3) / 10, -1.0], dtype=torch.float64))
    assert torch.allclose(out[2], torch.tensor([-1.0, math.exp(10) * 1e-6], dtype=torch.float64))
    assert torch.equal(out[3], torch.tensor([-1.0, 0.0], dtype=torch.float64))


def test_alpha_head_stays_inside_the_open_interval_for_huge_outputs():
    model = L2OCFGD(hidden=4).double()
    alpha, beta, c = model.heads(torch.tensor([[1e6, 1.0, 2.0], [-1e6, 0.0, 0.0]], dtype=torch.float64),
                                 torch.zeros(1, dtype=torch.float64))
    assert bool(((alpha > 0) & (alpha < 1)).all())


def tiny_config(kind: str, **fixed) -> MetaTrainConfig:
    return MetaTrainConfig(TaskConfig("least-squares", d=4, m=4, iterations=6), kind, runs=2, unroll=3, lr=1e-3,
                           hidden=6, hessian="exact", **fixed)


@pytest.mark.parametrize("kind, fixed", [("cfgd", {}), ("lstm", {}), ("cfgd", dict(fixed_beta=0.3, fixed_c=-1.0))])
def test_meta_training_changes_weights_and_the_checkpoint_round_trips(kind, fixed, tmp_path):
    config = tiny_config(kind, **fixed)
    torch.manual_seed(0)
    from implementations.cfgd.training import build_model
    untrained = build_model(config).state_dict()
    model, log = meta_train(config)
    assert len(log["summed_loss"]) == 2 and all(math.isfinite(v) for v in log["summed_loss"])
    assert any(not torch.equal(untrained[k], v) for k, v in model.state_dict().items())
    path = str(tmp_path / "ckpt.pt")
    save_checkpoint(path, model, config, log)
    loaded, loaded_config, loaded_log = load_checkpoint(path)
    assert loaded_config == config and loaded_log == log
    problem = LeastSquares.random_cfgd(4, 4, torch.Generator().manual_seed(1))
    x0 = torch.zeros(4, dtype=torch.float64)
    a = rollout(model, problem.value, x0, 5, ExactLineSearch())
    b = rollout(loaded, problem.value, x0, 5, ExactLineSearch())
    assert a.losses == b.losses
    if fixed:
        assert (loaded.fixed_beta, loaded.fixed_c) == (fixed["fixed_beta"], fixed["fixed_c"])


def test_meta_train_is_meta_train_model_on_the_configured_task():
    """meta_train(config) = build_model under config.seed + meta_train_model on config.task's problems."""
    config = tiny_config("cfgd")
    _, log = meta_train(config)
    torch.manual_seed(config.seed)
    from implementations.cfgd.training import build_model
    model = build_model(config)
    again = meta_train_model(model, config.task.make, config.task.iterations, config.task.step_size(),
                             config.runs, config.unroll, config.lr, torch.Generator().manual_seed(config.seed))
    assert again == {key: value for key, value in log.items() if key != "seconds"}


def test_interrupted_meta_training_resumes_from_its_checkpoint_to_the_same_model(tmp_path, monkeypatch):
    """An interruption after 2 of 4 runs, then meta_train again on the same checkpoint_path: the same weights
    and log as an uninterrupted run; a finished checkpoint is loaded without training."""
    import implementations.cfgd.training as training
    config = MetaTrainConfig(TaskConfig("least-squares", d=4, m=4, iterations=6), "cfgd", runs=4, unroll=3,
                             hidden=6, hessian="hutchinson", probes=2)
    reference, reference_log = meta_train(config)
    path = str(tmp_path / "run.pt")
    real_rollout, calls = training.rollout, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_rollout(*args, **kwargs)
    monkeypatch.setattr(training, "rollout", interrupted)
    with pytest.raises(KeyboardInterrupt):
        meta_train(config, checkpoint_path=path, checkpoint_every=1)
    monkeypatch.setattr(training, "rollout", real_rollout)
    assert len(load_checkpoint(path)[2]["summed_loss"]) == 2
    resumed, resumed_log = meta_train(config, checkpoint_path=path, checkpoint_every=1)
    assert resumed_log["summed_loss"] == reference_log["summed_loss"]
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in reference.state_dict().items())
    monkeypatch.setattr(training, "rollout", None)
    loaded, _ = meta_train(config, checkpoint_path=path)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in reference.state_dict().items())
    with pytest.raises(ValueError, match="checkpoint_path"):
        meta_train(replace(config, runs=5), checkpoint_path=path)


def test_the_package_exports_the_meta_training_functions():
    import implementations.cfgd as cfgd_package
    import implementations.cfgd.training  # noqa: F401  (a loaded submodule must not shadow the function)
    assert callable(cfgd_package.meta_train) and callable(cfgd_package.rollout)


def test_fixed_beta_and_c_do_not_apply_to_the_black_box_lstm():
    with pytest.raises(ValueError, match="fixed_beta"):
        tiny_config("lstm", fixed_beta=0.0)


def test_grid_search_returns_the_configuration_with_the_lowest_summed_loss():
    task = TaskConfig("least-squares", d=4, m=4, iterations=5)
    problems = [task.make(torch.Generator().manual_seed(0))]
    grid = StaticGrid(alphas=(0.3, 0.9), betas=(0.0,), terminals=(0.0, 1.0), histories=(1,))
    best, table = grid_search_static(task, problems, "NA", grid)
    assert len(table) == 4 and best["mean_summed_loss"] == min(r["mean_summed_loss"] for r in table)
    best_at, table_at = grid_search_static(task, problems, "AT", grid)
    assert len(table_at) == 2


def test_config_validation():
    with pytest.raises(ValueError, match="task name"):
        TaskConfig("h9")
    with pytest.raises(ValueError, match="kind"):
        MetaTrainConfig(kind="adam")
    with pytest.raises(ValueError, match="runs"):
        MetaTrainConfig(runs=0)


def test_l2o_cfgd_runs_on_the_digit_classifier_with_a_fixed_step():
    """The classifier task (64–20–10 ReLU, η = 0.1) through the same roll-out; the loss stays finite."""
    task = TaskConfig("classifier", n=32, hidden=20, iterations=3)
    f, x0 = task.make(torch.Generator().manual_seed(0))
    model = L2OCFGD(hidden=6).double()
    run = rollout(model, f, x0, 3, task.step_size(), keep_records=True)
    assert run.diverged_at is None and len(run.losses) == 4 and run.records[0].eta == 0.1


@pytest.mark.slow
@pytest.mark.parametrize("task", ["least-squares", "h2"])
def test_reduced_scale_meta_training_finishes_with_finite_losses(task):
    """reduced_config meta-trains in about a minute on one core (float64)."""
    from implementations.cfgd.training import reduced_config
    model, log = meta_train(reduced_config(task))
    assert all(math.isfinite(v) for v in log["summed_loss"])


def test_alpha_only_l2o_cfgd_emits_the_fixed_beta_and_c_and_a_varying_alpha():
    """fixed_beta/fixed_c (the α-only ablation): every emitted β, c equals the fixed value at every step and
    coordinate, α still varies (over coordinates and steps), and meta-training moves the weights feeding α."""
    problem = LeastSquares.random_cfgd(6, 6, torch.Generator().manual_seed(3))
    x0 = torch.randn(6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    torch.manual_seed(0)
    model = L2OCFGD(hidden=6, fixed_beta=0.3, fixed_c=-1.5).double()
    run = rollout(model, problem.value, x0, 5, ExactLineSearch(), keep_records=True)
    assert run.diverged_at is None and len(run.records) == 5
    for record in run.records:
        assert torch.equal(record.beta, torch.full((6,), 0.3, dtype=torch.float64))
        assert torch.equal(record.c, torch.full((6,), -1.5, dtype=torch.float64))
    alphas = torch.stack([r.alpha for r in run.records])
    assert alphas.std() > 0 and bool(((alphas > 0) & (alphas < 1)).all())
    before = model.net.head.weight.detach().clone()
    meta = torch.optim.Adam(model.parameters(), lr=1e-2)
    rollout(model, problem.value, x0, 6, ExactLineSearch(), unroll=3, meta_optimizer=meta)
    moved = (model.net.head.weight.detach() - before).abs().sum(dim=1)
    assert moved[0] > 0 and moved[1] == 0 and moved[2] == 0  # only the α row of the head gets a gradient


def test_fixed_beta_and_c_must_be_finite_numbers():
    with pytest.raises(ValueError, match="fixed_beta"):
        L2OCFGD(hidden=4, fixed_beta=math.nan)
    with pytest.raises(ValueError, match="fixed_c"):
        L2OCFGD(hidden=4, fixed_c="0")


def test_a_second_meta_training_on_the_same_checkpoint_waits_for_the_first(tmp_path):
    """While another holder has the checkpoint's lock, meta_train blocks; afterwards it trains (or loads)."""
    import fcntl
    import threading
    config = MetaTrainConfig(TaskConfig("least-squares", d=3, m=3, iterations=4), "lstm", runs=2, unroll=2, hidden=4)
    path = str(tmp_path / "run.pt")
    results = []
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: results.append(meta_train(config, checkpoint_path=path)))
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive() and not results
        fcntl.flock(lock, fcntl.LOCK_UN)
    worker.join(timeout=60)
    assert len(results) == 1 and len(results[0][1]["summed_loss"]) == 2


def test_a_checkpoint_without_training_state_is_not_resumed(tmp_path):
    config = tiny_config("lstm")
    model, log = meta_train(config)
    path = str(tmp_path / "plain.pt")
    save_checkpoint(path, model, config, log)
    with pytest.raises(ValueError, match="no training state"):
        meta_train(config, checkpoint_path=path)



def test_a_task_describes_itself_by_the_sizes_it_uses_only():
    assert TaskConfig("least-squares", d=20, m=30, iterations=5).describe() == "least-squares(d=20, m=30, iterations=5)"
    assert TaskConfig("h2", n=100, hidden=50, iterations=600).describe() == "h2(n=100, hidden=50, iterations=600)"
    classifier = TaskConfig("classifier", n=32, hidden=20, iterations=3)
    assert classifier.describe() == "classifier(n=32, hidden=20, iterations=3)"


def test_alpha_min_keeps_the_clamped_order_where_the_gauss_jacobi_rule_exists():
    with pytest.raises(ValueError, match="alpha_min"):
        L2OCFGD(hidden=4, alpha_min=1e-300)  # 1 − 1e-300 rounds to 1, outside the open interval (0, 1)
    with pytest.raises(ValueError, match="alpha_min"):
        L2OCFGD(hidden=4, nodes=2, alpha_min=1e-10)  # beyond the s ≥ 2 rule's accurate range 1 − √eps
    model = L2OCFGD(hidden=4, nodes=2)
    saturated = torch.full((3, 3), 50.0)  # sigmoid(50) rounds to 1
    for dtype in (torch.float64, torch.float32):
        alpha, _, _ = model.heads(saturated, torch.zeros(3, dtype=dtype))
        assert float(alpha.max()) <= 1 - max(model.alpha_min, torch.finfo(dtype).eps ** 0.5)
    alpha64, _, _ = model.heads(saturated, torch.zeros(3, dtype=torch.float64))
    assert bool((alpha64 == 1 - model.alpha_min).all())  # float64 keeps the clamp it had


def test_cfgd_rejects_a_terminal_argument_its_variant_ignores():
    A, b, f, x0 = spd_problem(0)
    with pytest.raises(ValueError, match="initial_terminals apply to variant='AT' only"):
        cfgd(f, x0, 2, 0.5, variant="NA", initial_terminals=x0.repeat(2, 1))
    with pytest.raises(ValueError, match="c applies to variant='NA' only"):
        cfgd(f, x0, 2, 0.5, c=1.0, variant="AT", initial_terminals=x0.repeat(2, 1))
    with pytest.raises(ValueError, match=r"f\(x0\) must be finite"):
        cfgd(f, torch.full_like(x0, 1e200), 2, 0.5)


def test_rollout_and_meta_training_check_their_arguments_before_running():
    problem = LeastSquares.random_cfgd(3, 3, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="model must be an L2OCFGD or LSTMOptimizer"):
        rollout(torch.nn.Linear(2, 2), problem, torch.zeros(3), 2, ExactLineSearch())
    with pytest.raises(TypeError, match="step_size must be callable"):
        rollout(L2OCFGD(hidden=3), problem, torch.zeros(3), 2, None)
    with pytest.raises(ValueError, match="unroll must be >= 1"):
        rollout(L2OCFGD(hidden=3), problem, torch.zeros(3), 2, ExactLineSearch(), unroll=0)
    with pytest.raises(TypeError, match="make_problem must return a pair"):
        meta_train_model(L2OCFGD(hidden=3), lambda g: problem, 2, ExactLineSearch(), 1, 2, 1e-3,
                         torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="lr"):
        MetaTrainConfig(lr=math.nan)
