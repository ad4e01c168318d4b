"""Batched static NA/AT-CFGD (implementations.cfgd.batched) against the one-run reference cfgd() and the
per-configuration grid-search loop; the batched closed-form MLP partials against FlatMLPObjective's.

Tolerances (fixed before the runs): partials 1e-12 relative to the sum of the terms' magnitudes (a few
reorderings of float64 sums); trajectories 1e-9 relative (the exact line search on these ill-conditioned least
squares amplifies round-off along a run: 6e-13 was measured after 50 steps, cond(AᵀA) ≈ 7e5)."""

from __future__ import annotations

import math

import pytest
import torch

from implementations.cfgd.batched import MLPBatch, stack_problems, static_runs, supports_batching
from implementations.cfgd.caputo import coordinate_derivatives
from implementations.cfgd.hutchinson import rademacher_probes
from implementations.cfgd.optimizers import ExactLineSearch, LookaheadGridSearch, cfgd, random_initial_terminals
from implementations.cfgd.training import StaticGrid, TaskConfig, grid_search_static
from implementations.problems.flat_mlp import FlatMLPObjective

F64 = torch.float64
GRID = StaticGrid(alphas=(0.3, 0.9), betas=(-1.0, 0.3), terminals=(-0.5, 1.0), histories=(1, 3))


def tasks():
    return [TaskConfig("least-squares", d=6, m=6, iterations=12), TaskConfig("h2", n=16, hidden=5, iterations=8)]


def random_mlp_problems(sizes, bias, activation, gen, count=3):
    """``count`` half-SSE MLP regressions on 7 random samples, each with a start x and node points τ near it."""
    problems, xs, taus = [], [], []
    for _ in range(count):
        z = torch.randn(7, sizes[0], generator=gen, dtype=F64)
        problem = FlatMLPObjective.create(sizes, activation, bias, z, torch.randn(7, sizes[2], generator=gen,
                                                                                   dtype=F64), "half-sse")
        x = problem.initial_point(gen)
        problems.append(problem)
        xs.append(x)
        taus.append(x + torch.randn(x.shape, generator=gen, dtype=F64))
    return problems, xs, taus


@pytest.mark.parametrize("sizes, bias, activation", [((1, 5, 1), False, "tanh"), ((2, 4, 3), True, "tanh"),
                                                     ((3, 4, 2), True, "relu")])
def test_batched_mlp_partials_equal_the_flat_mlp_closed_form(sizes, bias, activation):
    problems, xs, taus = random_mlp_problems(sizes, bias, activation, torch.Generator().manual_seed(1))
    g, h = stack_problems(problems).partials(torch.stack(xs), torch.stack(taus))
    for b, (problem, x, tau) in enumerate(zip(problems, xs, taus)):
        index = torch.arange(x.shape[0])
        g_ref, h_ref = problem.coordinate_partials(x, index, tau - x)
        scale = 1 + g_ref.abs().max() + h_ref.abs().max()
        assert (g[b] - g_ref).abs().max() <= 1e-12 * scale
        assert (h[b] - h_ref).abs().max() <= 1e-12 * scale


@pytest.mark.parametrize("hessian", ["hutchinson", "hutchinson-abs"])
@pytest.mark.parametrize("sizes, bias, activation", [((1, 5, 1), False, "tanh"), ((1, 6, 1), True, "tanh"),
                                                     ((2, 4, 3), True, "tanh"), ((3, 4, 2), True, "relu")])
def test_batched_probed_partials_equal_the_one_problem_estimate(sizes, bias, activation, hessian):
    """Hutchinson's estimate at the node points, batched over problems (per-problem probes), against
    caputo.coordinate_derivatives problem by problem (FlatMLPObjective.coordinate_partials with probes)."""
    gen = torch.Generator().manual_seed(2)
    problems, xs, taus = random_mlp_problems(sizes, bias, activation, gen)
    probes = [rademacher_probes(3, x, gen) for x in xs]
    g, h = stack_problems(problems).probed_partials(torch.stack(xs), torch.stack(taus), torch.stack(probes), hessian)
    for b, (problem, x, tau, v) in enumerate(zip(problems, xs, taus, probes)):
        g_ref, h_ref = coordinate_derivatives(problem, x, torch.arange(x.shape[0]), tau, hessian, v)
        scale = 1 + g_ref.abs().max() + h_ref.abs().max()
        assert (g[b] - g_ref).abs().max() <= 1e-12 * scale
        assert (h[b] - h_ref).abs().max() <= 1e-12 * scale


@pytest.mark.parametrize("hessian", ["hutchinson", "hutchinson-abs"])
def test_batched_least_squares_probed_partials_equal_the_one_problem_estimate(hessian):
    gen = torch.Generator().manual_seed(3)
    task = TaskConfig("least-squares", d=6, m=5, iterations=1)
    problems = [task.make(gen)[0] for _ in range(3)]
    xs = torch.randn(3, 6, generator=gen, dtype=F64)
    taus = xs + torch.randn(3, 6, generator=gen, dtype=F64)
    probes = torch.stack([rademacher_probes(4, x, gen) for x in xs])
    g, h = stack_problems(problems).probed_partials(xs, taus, probes, hessian)
    for b, problem in enumerate(problems):
        g_ref, h_ref = coordinate_derivatives(problem, xs[b], torch.arange(6), taus[b], hessian, probes[b])
        scale = 1 + g_ref.abs().max() + h_ref.abs().max()
        assert (g[b] - g_ref).abs().max() <= 1e-12 * scale
        assert (h[b] - h_ref).abs().max() <= 1e-12 * scale


@pytest.mark.parametrize("task", tasks(), ids=lambda t: t.name)
@pytest.mark.parametrize("variant", ["NA", "AT"])
def test_static_runs_equal_cfgd_run_by_run(task, variant):
    gen = torch.Generator().manual_seed(3)
    drawn = [task.make(gen) for _ in range(3)]
    fs, x0 = [f for f, _ in drawn], torch.stack([x for _, x in drawn])
    alpha = torch.tensor([0.3, 0.6, 0.95], dtype=F64)
    beta = torch.tensor([-1.0, 0.3, 0.0], dtype=F64)
    c = torch.tensor([-0.5, 0.0, 1.0], dtype=F64).unsqueeze(-1).expand_as(x0).clone()
    terminals = torch.stack([random_initial_terminals(2, x0[b], torch.Generator().manual_seed(b)) for b in range(3)])
    runs = static_runs(stack_problems(fs), x0, task.iterations, alpha, beta, c if variant == "NA" else None, variant,
                       terminals if variant == "AT" else None, task.step_size())
    for b in range(3):
        ref = cfgd(fs[b], x0[b], task.iterations, float(alpha[b]), float(beta[b]),
                   float(c[b, 0]) if variant == "NA" else None, variant, terminals[b] if variant == "AT" else None,
                   task.step_size())
        assert runs.diverged_at[b] == ref.diverged_at
        expected = torch.tensor(ref.losses, dtype=F64)
        assert ((runs.losses[b, :len(expected)] - expected).abs() <= 1e-9 * expected.abs()).all()
        assert math.isclose(float(runs.summed_loss[b]), ref.summed_loss, rel_tol=1e-9)


def test_a_diverging_run_is_recorded_at_the_step_cfgd_records():
    task = TaskConfig("least-squares", d=5, m=5, iterations=6)
    f, x0 = task.make(torch.Generator().manual_seed(0))
    blowup = 1e-3  # any loss above 1e-3·max(1, f(x⁰)) counts as diverged
    runs = static_runs(stack_problems([f]), x0.unsqueeze(0), 6, torch.tensor([0.5], dtype=F64),
                       torch.tensor([0.0], dtype=F64), torch.zeros(1, 5, dtype=F64), "NA", blowup=blowup)
    ref = cfgd(f, x0, 6, 0.5, 0.0, 0.0, "NA", blowup=blowup)
    assert ref.diverged_at is not None and runs.diverged_at[0] == ref.diverged_at
    assert torch.isnan(runs.losses[0, ref.diverged_at:]).all()


@pytest.mark.parametrize("task", tasks(), ids=lambda t: t.name)
@pytest.mark.parametrize("variant", ["NA", "AT"])
def test_batched_grid_search_gives_the_loop_table(task, variant):
    gen = torch.Generator().manual_seed(7)
    problems = [task.make(gen) for _ in range(2)]
    best, table = grid_search_static(task, problems, variant, GRID, seed=5)
    best_loop, table_loop = grid_search_static(task, problems, variant, GRID, seed=5, batched_runs=False)
    assert [{k: v for k, v in r.items() if k != "mean_summed_loss"} for r in table] == \
        [{k: v for k, v in r.items() if k != "mean_summed_loss"} for r in table_loop]
    for row, ref in zip(table, table_loop):
        assert math.isclose(row["mean_summed_loss"], ref["mean_summed_loss"], rel_tol=1e-9)
    assert {k: v for k, v in best.items() if k != "mean_summed_loss"} == \
        {k: v for k, v in best_loop.items() if k != "mean_summed_loss"}


def test_mixed_problems_do_not_stack():
    ls, _ = TaskConfig("least-squares", d=3, m=3).make(torch.Generator().manual_seed(0))
    mlp, _ = TaskConfig("h2", n=4, hidden=2).make(torch.Generator().manual_seed(0))
    assert not supports_batching([ls, mlp])
    with pytest.raises(ValueError, match="problems"):
        stack_problems([ls, mlp])
    assert isinstance(stack_problems([mlp, mlp]), MLPBatch)


def test_step_rules_of_the_batch_are_the_one_run_rules():
    """η per run equals ExactLineSearch / LookaheadGridSearch called on that run."""
    from implementations.cfgd.batched import batched_step_size
    for task in tasks():
        gen = torch.Generator().manual_seed(2)
        drawn = [task.make(gen) for _ in range(3)]
        x = torch.stack([x for _, x in drawn])
        d = torch.randn(x.shape, generator=gen, dtype=F64)
        rule = task.step_size()
        eta = batched_step_size(stack_problems([f for f, _ in drawn]), x, d, rule)
        for b, (f, _) in enumerate(drawn):
            assert math.isclose(float(eta[b]), float(rule(f, x[b], d[b])), rel_tol=1e-12)
    assert isinstance(tasks()[0].step_size(), ExactLineSearch)
    assert isinstance(tasks()[1].step_size(), LookaheadGridSearch)
