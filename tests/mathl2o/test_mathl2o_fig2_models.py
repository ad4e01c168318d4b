"""The paper's Fig. 2 models (LSTM Math-L2O, LISTA-CPSS): shapes, the GD special cases, the update rules against
plain re-computations, reproducibility, dtype/device agnosticism, training through the shared interface, and
the explosion criterion loss_growth."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from implementations.mathl2o import LISTACPSS, QP, LSTMMathL2O, MathL2O, rollout, train, unroll
from implementations.mathl2o.experiments import loss_growth
from implementations.mathl2o.unroll import TrainHistory

F64_EPS = float(np.finfo(np.float64).eps)


def _gd(qp: QP, T: int) -> torch.Tensor:
    with torch.no_grad():
        return unroll(None, qp, T)


@pytest.mark.parametrize("biases", [True, False])
def test_lstm_with_zero_heads_is_gradient_descent_to_round_off(biases):
    qp = QP.random(3, 6, 4, seed=5)
    model = LSTMMathL2O(hidden=7, layers=2, init="zero_last", biases=biases, seed=3)
    with torch.no_grad():
        values = unroll(model, qp, 9)
    gd = _gd(qp, 9)
    # the same T steps of (b + d)-term products as GD, P ≡ 1 exactly: round-off only (4·T·(b+d)·eps relative)
    assert float((values - gd).abs().max()) <= 4 * 9 * 10 * F64_EPS * float(gd[0])


def test_random_lstm_differs_from_gd_and_is_reproducible_from_its_seeds():
    qp = QP.random(2, 5, 3, seed=1)
    with torch.no_grad():
        a = unroll(LSTMMathL2O(hidden=5, seed=4), qp, 6)
        b = unroll(LSTMMathL2O(hidden=5, seed=4), qp, 6)
        c = unroll(LSTMMathL2O(hidden=5, seed=4, state_seed=99), qp, 6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert float((a - _gd(qp, 6)).abs().max()) > 1e-3


def test_lstm_heads_and_states_have_the_documented_shapes_and_ranges():
    model = LSTMMathL2O(hidden=6, layers=3, seed=0)
    h0, c0 = model.initial_state(10)
    assert h0.shape == c0.shape == (3, 10, 6)
    z = torch.randn(2, 5, 2, dtype=torch.float64)
    heads, (h, c) = model.heads(z, (h0, c0))
    assert set(heads) == {"P", "B", "B1", "B2"} and all(v.shape == (2, 5) for v in heads.values())
    assert bool(((heads["P"] > 0) & (heads["P"] < 2)).all()) and h.shape == (3, 10, 6)
    zeros = LSTMMathL2O(hidden=6, state_init="zeros").initial_state(10)
    assert all(float(t.abs().max()) == 0 for t in zeros)
    assert set(LSTMMathL2O(hidden=6, biases=False).heads(z, zeros)[0]) == {"P"}


def test_lstm_step_matches_the_authors_update_written_out():
    """X_t = U + B2, Z_t = U with U = B(X − sP∇F(X)) + (1 − B)(Z − sP∇F(Z)) + B1 (module docstring)."""
    qp = QP.random(2, 4, 3, seed=2)
    model = LSTMMathL2O(hidden=4, seed=8)
    with torch.no_grad():
        values = unroll(model, qp, 3)
        step = (0.9999 / qp.beta).unsqueeze(-1)
        X = Z = qp.zeros()
        state = model.initial_state(8)
        expected = [float(qp.value(X))]
        for _ in range(3):
            heads, state = model.heads(torch.stack((qp.gradient(X), X), -1), state)
            P, B = heads["P"], heads["B"]
            U = B * (X - step * P * qp.gradient(X)) + (1 - B) * (Z - step * P * qp.gradient(Z)) + heads["B1"]
            X, Z = U + heads["B2"], U
            expected.append(float(qp.value(X)))
    assert values.tolist() == pytest.approx(expected, rel=1e-12)


def test_lista_update_is_the_linear_layer_and_from_gd_is_gradient_descent_for_one_instance():
    qp = QP.random(1, 6, 4, seed=3)
    model = LISTACPSS.from_gd(qp, 7)
    with torch.no_grad():
        values = unroll(model, qp, 7)
    assert float((values - _gd(qp, 7)).abs().max()) <= 4 * 7 * 10 * F64_EPS * float(values[0])
    several = QP.random(3, 5, 2, seed=4)
    lista = LISTACPSS(5, 2, 4, seed=1)
    with torch.no_grad():
        lista.weights[2].normal_(generator=torch.Generator().manual_seed(0))
        values = unroll(lista, several, 4)
        X = several.zeros()
        for t in range(1, 5):
            X = X + (several.Y - (several.M @ X.unsqueeze(-1)).squeeze(-1)) @ lista.weight(t).T
    assert float(values[-1]) == pytest.approx(float(several.value(X)), rel=1e-12)


def test_lista_random_init_has_the_codes_scale_and_rejects_what_it_cannot_unroll():
    model = LISTACPSS(512, 400, 3, seed=0)
    std = float(torch.cat([w.detach().reshape(-1) for w in model.weights]).std())
    assert std == pytest.approx(1 / (512 * 400) ** 2, rel=0.01)  # N(0, (1/(b·d)²)²), 614400 draws
    qp = QP.random(2, 5, 3, seed=0)
    with pytest.raises(ValueError, match="exceeds the 2 layers"):
        unroll(LISTACPSS(5, 3, 2), qp, 3)
    assert unroll(LISTACPSS(5, 3, 2, shared=True), qp, 6).shape == (7,)
    with pytest.raises(ValueError, match="b=3, d=5"):
        unroll(LISTACPSS(6, 3, 2), qp, 2)
    with pytest.raises(ValueError, match="step_scale"):
        unroll(LISTACPSS(5, 3, 2), qp, 2, step_scale=0.5)
    with pytest.raises(ValueError, match="checkpoint_steps"):
        rollout(LISTACPSS(5, 3, 2), qp, 2, checkpoint_steps=True)
    with torch.no_grad():
        assert torch.equal(unroll(LISTACPSS(5, 3, 2, init="zeros"), qp, 2), qp.value(qp.zeros()).repeat(3))


def test_the_solvers_run_in_float32_and_must_share_the_instances_dtype():
    qp = QP.random(2, 4, 3, seed=1, dtype=torch.float32)
    for model in (LSTMMathL2O(hidden=3, dtype=torch.float32), LISTACPSS(4, 3, 2, dtype=torch.float32)):
        assert unroll(model, qp, 2).dtype == torch.float32
    with pytest.raises(TypeError, match="share dtype"):
        unroll(LSTMMathL2O(hidden=3), qp, 2)


def test_training_goes_through_the_common_interface_and_records_divergence():
    qp = QP.random(2, 6, 4, seed=2)
    history = train(LSTMMathL2O(hidden=4, seed=1), qp, 4, 1e-4, 3)
    assert len(history.losses) == 4 and history.diverged_at is None
    exploding = LISTACPSS(6, 4, 1, shared=True, seed=0)
    with torch.no_grad():
        exploding.weights[0].fill_(5.0)  # every step multiplies the error by I − W M, far outside the unit disc
    run = rollout(exploding, qp, 400)
    assert run.diverged_at is not None and not math.isfinite(float(run.values[-1].detach()))
    assert train(exploding, qp, 400, 1e-3, 2).diverged_at == 0


def test_loss_growth_is_the_log10_of_the_largest_loss_ratio_and_inf_after_divergence():
    assert loss_growth(TrainHistory([2.0, 1.0, 0.5], [1.0, 1.0])) == 0.0
    assert loss_growth(TrainHistory([2.0, 20.0, 0.5], [1.0, 1.0])) == pytest.approx(1.0)
    assert loss_growth(TrainHistory([2.0, math.inf], [1.0], diverged_at=1)) == math.inf
    assert loss_growth(TrainHistory([2.0, 3.0], [math.nan], diverged_at=0)) == math.inf
    with pytest.raises(TypeError, match="history"):
        loss_growth([1.0, 2.0])


def test_a_wide_first_layer_is_built_with_the_dense_kernel_and_planar_needs_the_codes_layers():
    model = MathL2O(8, 2.0, 3, first_width=16)
    assert [tuple(w.shape) for w in model.weights] == [(2, 16), (16, 8), (8, 1)] and model.kernel == "dense"
    assert MathL2O(8, 2.0, 3).kernel == "planar"
    with pytest.raises(ValueError, match="first_width"):
        MathL2O(8, 2.0, 3, first_width=4, kernel="planar")
    with pytest.raises(ValueError, match="first_width"):
        MathL2O(8, 2.0, 3, first_width=0)


def test_a_solver_training_checkpoint_is_bound_to_the_lstm_state_seed(tmp_path):
    qp = QP.random(2, 4, 3, seed=0)
    path = str(tmp_path / "lstm.pt")
    first = train(LSTMMathL2O(hidden=3, seed=1), qp, 3, 1e-4, 2, checkpoint_path=path)
    again = train(LSTMMathL2O(hidden=3, seed=1), qp, 3, 1e-4, 2, checkpoint_path=path)
    assert again.losses == first.losses
    with pytest.raises(ValueError, match="checkpoint_path"):
        train(LSTMMathL2O(hidden=3, seed=1, state_seed=7), qp, 3, 1e-4, 2, checkpoint_path=path)
