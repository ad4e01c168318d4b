"""The oracle step-size rules (implementations.bfgs.oracle) against closed forms, and the solver hooks they use.

On f = ½xᵀAx − bᵀx, φ(p) = f(x − diag(p)u) is a quadratic in p: ∇φ = diag(u)A diag(u) p − diag(u)(Ax − b), so
without the box p* solves (diag(u)A diag(u)) p = diag(u)(Ax − b), and with H = A⁻¹ (u = A⁻¹g) p* = 1 (P = I).
With the box [0, 2]^d the minimiser is found exactly here by enumerating the 3^d active sets (each coordinate
free, at 0 or at 2) and keeping the one that satisfies the KKT conditions (strictly convex: it is unique).

Tolerance, derived from the inner solver's: the oracle stops when the projected gradient in its variables
z = p·|u|/‖u‖ has ∞-norm ≤ gtol. In z the objective (scaled by 1/gᵀu) has the Hessian
M_z = diag(sign u) A diag(sign u)·‖u‖²/(gᵀu), μ_z ≼ M_z ≼ L_z; for a strongly convex quadratic on a box,
‖z − z*‖₂ ≤ (1 + L_z)/μ_z · ‖z − Π(z − ∇φ)‖₂ ≤ (1 + L_z)/μ_z · √d · gtol (Facchinei & Pang 2003, Prop. 6.3.1),
and |p_i − p_i*| = |z_i − z_i*|·‖u‖/|u_i|.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from implementations.bfgs import FixedSteps, GreedyOracleSteps, LookaheadOracleSteps, Trace, box_minimise, cwss_bfgs
from implementations.bfgs.experiments import RowwiseObjective, digit_cnn
from implementations.problems.cnn import DigitCNNObjective
from implementations.problems.quadratic import Quadratic, random_spd

F64 = torch.float64
GTOL = 1e-9


def _problem(dim: int, seed: int, cond: float = 20.0):
    """A, b of f = ½xᵀAx − bᵀx (a Quadratic with linear term −b), a point x and its gradient g = Ax − b."""
    gen = torch.Generator().manual_seed(seed)
    A = random_spd(dim, cond, gen)
    b = torch.randn(dim, generator=gen, dtype=F64)
    x = torch.randn(dim, generator=gen, dtype=F64)
    return Quadratic.create(A, -b), A, b, x, A @ x - b


def _box_qp(M: np.ndarray, r: np.ndarray, low: float = 0.0, high: float = 2.0) -> np.ndarray:
    """argmin over [low, high]^d of ½pᵀMp − rᵀp (M SPD) by enumerating active sets and checking KKT."""
    dim = len(r)
    for pattern in itertools.product((None, low, high), repeat=dim):
        p = np.array([v if v is not None else 0.0 for v in pattern])
        free = np.array([v is None for v in pattern])
        if free.any():
            p[free] = np.linalg.solve(M[np.ix_(free, free)], r[free] - M[np.ix_(free, ~free)] @ p[~free])
        grad = M @ p - r
        feasible = np.all(p >= low - 1e-12) and np.all(p <= high + 1e-12)
        kkt = all(abs(grad[i]) <= 1e-10 * (1 + np.abs(r).max()) if v is None else
                  (grad[i] >= -1e-12 if v == low else grad[i] <= 1e-12) for i, v in enumerate(pattern))
        if feasible and kkt:
            return p
    raise AssertionError("no KKT point found")  # pragma: no cover


def _tolerance(A: torch.Tensor, g: torch.Tensor, u: torch.Tensor, gtol: float) -> np.ndarray:
    """The per-coordinate bound on |p − p*| of the module docstring."""
    lam = torch.linalg.eigvalsh(A)
    factor = float(u.norm() ** 2 / (g @ u))
    mu, L = float(lam[0]) * factor, float(lam[-1]) * factor
    z_error = (1 + L) / mu * np.sqrt(len(g)) * gtol
    return z_error * float(u.norm()) / u.abs().numpy()


def _oracle_steps(objective, x, g, u):
    oracle = GreedyOracleSteps(objective, gtol=GTOL, max_inner=500)
    P, _ = oracle.propose(0, x.unsqueeze(0), g.unsqueeze(0), u.unsqueeze(0))
    return P[0], oracle.records[-1]


def test_the_greedy_oracle_finds_p_equal_to_one_when_h_is_the_inverse_hessian():
    objective, A, b, x, g = _problem(5, 0)
    u = torch.linalg.solve(A, g)
    P, info = _oracle_steps(objective, x, g, u)
    assert info["converged"]
    np.testing.assert_array_less(np.abs(P.numpy() - 1), _tolerance(A, g, u, GTOL))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_greedy_oracle_finds_the_closed_form_step_sizes_inside_the_box(seed):
    objective, A, b, x, g = _problem(4, seed)
    gen = torch.Generator().manual_seed(100 + seed)
    noise = torch.randn(4, 4, generator=gen, dtype=F64) * 0.1
    H = torch.linalg.inv(A) + noise @ noise.T * float(torch.linalg.eigvalsh(torch.linalg.inv(A))[0])
    u = H @ g
    M = (u[:, None] * A * u[None, :]).numpy()
    p_star = np.linalg.solve(M, (u * g).numpy())
    assert np.all((p_star > 0) & (p_star < 2)), "the instance must have its minimiser inside the box"
    P, info = _oracle_steps(objective, x, g, u)
    assert info["converged"]
    np.testing.assert_array_less(np.abs(P.numpy() - p_star), _tolerance(A, g, u, GTOL))


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_the_greedy_oracle_finds_the_box_constrained_minimiser_when_the_box_is_active(seed):
    objective, A, b, x, g = _problem(4, seed)
    gen = torch.Generator().manual_seed(200 + seed)
    inverse = torch.linalg.inv(A)
    # steps of about 0.3 Newton steps, perturbed: the unconstrained p* lies near 3.3, beyond the box
    H = 0.3 * inverse + 0.03 * float(torch.linalg.eigvalsh(inverse)[0]) * random_spd(4, 10.0, gen) / 10
    u = H @ g
    M = (u[:, None] * A * u[None, :]).numpy()
    r = (u * g).numpy()
    unconstrained = np.linalg.solve(M, r)
    p_star = _box_qp(M, r)
    assert np.any((unconstrained < 0) | (unconstrained > 2)), "the box must bind"
    assert np.any((p_star == 0) | (p_star == 2)), "some bound must be active at the minimiser"
    P, info = _oracle_steps(objective, x, g, u)
    assert info["converged"]
    np.testing.assert_array_less(np.abs(P.numpy() - p_star), _tolerance(A, g, u, GTOL))


def test_with_the_exact_inverse_hessian_one_oracle_step_reaches_the_minimiser():
    objective, A, b, x, g = _problem(6, 7)
    trace = cwss_bfgs(objective, x, GreedyOracleSteps(objective, gtol=GTOL, max_inner=500), 1,
                      H0=torch.linalg.inv(A), cond_every=0)
    f_star = float(objective.value(torch.linalg.solve(A, b)))
    f0 = float(objective.value(x))
    # P within the bound above of 1 leaves f(x₁) − f* ≤ ½ Σ (p_i − 1)² u_i² λ_max(A): far below 1e-10 (f₀ − f*)
    assert float(trace.series("f")[0, 0]) - f_star <= 1e-10 * (f0 - f_star)


def test_a_one_step_look_ahead_is_the_greedy_oracle():
    objective, A, b, x, g = _problem(5, 8)
    H = torch.linalg.inv(A) * 0.7 + torch.eye(5, dtype=F64) * 0.01
    u = H @ g
    greedy, _ = _oracle_steps(objective, x, g, u)
    look = LookaheadOracleSteps(objective, horizon=1, gtol=GTOL, max_inner=500)
    look.observe(H.unsqueeze(0), False, "skip")
    P, _ = look.propose(0, x.unsqueeze(0), g.unsqueeze(0), u.unsqueeze(0))
    np.testing.assert_array_less(np.abs(P[0].numpy() - greedy.numpy()), 2 * _tolerance(A, g, u, GTOL))


@pytest.mark.parametrize("rescale", [False, True])
def test_the_look_ahead_simulates_exactly_the_steps_cwss_bfgs_takes(rescale):
    objective, A, b, x, g = _problem(5, 9, cond=50.0)
    gen = torch.Generator().manual_seed(9)
    steps = torch.empty(3, 1, 5, dtype=F64).uniform_(0.2, 1.8, generator=gen)
    H0 = torch.eye(5, dtype=F64) / float(g.norm()) if rescale else random_spd(5, 5.0, gen)
    trace = cwss_bfgs(objective, x, FixedSteps(lambda k: steps[k]), 3, H0=None if rescale else H0, cond_every=0)
    look = LookaheadOracleSteps(objective, horizon=3)
    look.observe(H0.unsqueeze(0), rescale, "skip")
    simulated = look.simulate(x.unsqueeze(0), g.unsqueeze(0), H0.unsqueeze(0), steps)
    # the same arithmetic up to the order of operations: round-off of a few updates of a κ ≤ 50 problem
    np.testing.assert_allclose(float(simulated[0]), float(trace.series("f")[-1, 0]), rtol=1e-12)


def test_the_look_ahead_needs_the_solvers_inverse_hessian():
    objective, A, b, x, g = _problem(3, 10)
    with pytest.raises(ValueError, match="observe"):
        LookaheadOracleSteps(objective).propose(0, x.unsqueeze(0), g.unsqueeze(0), g.unsqueeze(0))


def test_box_minimise_solves_each_instance_alone_keeping_zero_scale_variables():
    """Separable quadratics ½‖p − t_b‖² (minimiser: t_b clipped into [0, 2]); the second instance alone gives
    the same result as in the batch (the instances do not interact), and a scale-0 entry stays at its start."""
    targets = torch.tensor([[0.5, 3.0, -1.0], [1.5, 0.2, 4.0]], dtype=F64)

    def make(t):
        return lambda p: (0.5 * ((p - t) ** 2).sum(-1), p - t)

    scales = torch.tensor([[1.0, 10.0, 0.0], [0.1, 1.0, 3.0]], dtype=F64)
    p, info = box_minimise(make(targets), torch.ones(2, 3, dtype=F64), 0.0, 2.0, gtol=1e-10, scales=scales)
    assert info["converged"] == 2 and info["projected_gradient"] <= 1e-10
    np.testing.assert_allclose(p.numpy(), [[0.5, 2.0, 1.0], [1.5, 0.2, 2.0]], atol=1e-9)
    alone, _ = box_minimise(make(targets[1:]), torch.ones(1, 3, dtype=F64), 0.0, 2.0, gtol=1e-10, scales=scales[1:])
    assert torch.equal(alone[0], p[1])


def test_stop_at_ends_a_run_once_every_instance_reached_its_target_and_is_checked():
    objective, A, b, x, g = _problem(4, 11)
    f_star = float(objective.value(torch.linalg.solve(A, b)))
    full = cwss_bfgs(objective, x, FixedSteps(1.0), 30, cond_every=0)
    target = f_star + 1e-3 * (float(objective.value(x)) - f_star)
    stopped = cwss_bfgs(objective, x, FixedSteps(1.0), 30, cond_every=0, stop_at=target)
    first = int(np.argmax(full.series("f")[:, 0] <= target))
    assert stopped.iterations == first + 1
    np.testing.assert_array_equal(stopped.series("f")[:, 0], full.series("f")[: first + 1, 0])
    for bad in (float("nan"), torch.ones(3, dtype=F64), "x"):
        with pytest.raises((ValueError, TypeError), match="stop_at"):
            cwss_bfgs(objective, x, FixedSteps(1.0), 3, stop_at=bad)


def test_a_selected_instance_is_the_batch_row_and_a_plain_trace_round_trips():
    objective, A, b, x, g = _problem(4, 12)
    batch = torch.stack([x, 2 * x, -x])
    trace = cwss_bfgs(objective, batch, FixedSteps(1.0), 5)
    alone = trace.select(1, keep_matrices=False)
    assert alone.f0.shape == (1,) and alone.H is None and alone.x.shape == (1, 4)
    np.testing.assert_array_equal(alone.series("f")[:, 0], trace.series("f")[:, 1])
    back = Trace.from_plain(alone.to_plain())
    np.testing.assert_array_equal(back.values_with_start(), alone.values_with_start())
    with pytest.raises(ValueError, match="index"):
        trace.select(3)


def test_the_study_builds_the_cnn_task_as_digit_cnn_objective_create_does():
    for seed in (2000, 12_007):
        made, reference = digit_cnn(64, seed), DigitCNNObjective.create(n=64, seed=seed)
        assert torch.equal(made.images, reference.images) and torch.equal(made.labels, reference.labels)
        assert made.reg == reference.reg


def test_a_rowwise_batch_of_cnn_objectives_gives_each_rows_value_and_gradient():
    objectives = [digit_cnn(32, seed) for seed in (3, 4)]
    batch = RowwiseObjective(objectives)
    w = torch.stack([o.initial_point(torch.Generator().manual_seed(i)) for i, o in enumerate(objectives)])
    for b, objective in enumerate(objectives):
        assert float(batch.value(w)[b]) == float(objective.value(w[b]))
        # one reverse pass over the summed values against torch.func.grad of each row: round-off only
        np.testing.assert_allclose(batch.gradient(w)[b].numpy(), objective.gradient(w[b]).numpy(), rtol=1e-12,
                                   atol=1e-15)
    with pytest.raises(ValueError, match="x must have shape"):
        batch.gradient(w[:1])
