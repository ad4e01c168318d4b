"""The batched margins of the bfgs claims' sweeps (verify.margins.bfgs): each agrees, instance by instance, with its
one-instance form (or with the implementation's one-instance function), and flags a broken implementation."""

import math

import torch

from implementations.bfgs import StepSizeLSTM, cwss_step
from implementations.bfgs import update as bfgs_update
from implementations.bfgs.stability import spectral_stability_bound
from implementations.problems.logistic import LogisticRegression
from verify.margins import bfgs as margins
from verify.step_models import rollout_margin
from verify.sweep import DRAW_LIKE

N = 40  # instances per batch: enough to mix both signs of yᵀs, descent and non-descent directions, …


def _batch(draw) -> dict:
    """N instances of a claim's sweep draw, from a fixed generator."""
    return draw(N, torch.Generator().manual_seed(7))


def _rows(batch: dict, *keys: str) -> list[tuple]:
    """The batch's instances one by one, as tuples of plain lists in the order of ``keys``."""
    return [tuple(batch[k][i].tolist() for k in keys) for i in range(N)]


def _agree(batched: torch.Tensor, single: list[float]) -> bool:
    """Batched and one-instance margins equal to round-off (a batched matmul may sum in another order)."""
    return torch.allclose(batched, torch.tensor(single, dtype=batched.dtype), rtol=1e-9, atol=1e-15)


def _flipped_step(x, g, H, P, interval):
    """A broken CWSS step: x + PHg (the sign of the direction flipped)."""
    return x + P * (H @ g.unsqueeze(-1)).squeeze(-1)


def _short_step(x, g, H, P, interval):
    """A broken CWSS step: x − 0.9·PHg (a tenth of the step dropped)."""
    return cwss_step(x, g, H, 0.9 * P, interval=None)


def test_secant_spd_margins_agree_with_one_instance_and_flag_a_formula_that_drops_the_one():
    batch = _batch(margins.draw_secant_spd(5, DRAW_LIKE))
    batched = margins.secant_spd_margins(batch["H"], batch["s"], batch["y"])
    single = [margins.secant_spd_margin(row) for row in _rows(batch, "H", "s", "y")]
    assert _agree(batched, single) and max(single) <= 0

    def broken(H, s, y):  # w = (yᵀHy/yᵀs)s/2 − Hy: the "1 +" of N&W Eq. 6.17's factor dropped
        w, u = bfgs_update._update_factors(H, s, y)
        return bfgs_update._rank_two(H, w - s / 2, u)

    assert int((margins.secant_spd_margins(batch["H"], batch["s"], batch["y"], formula=broken) > 0).sum()) > N // 2


def test_non_descent_margins_agree_with_one_instance_and_count_only_non_descent_directions():
    n = 400  # D0 fails on about 2.5% of them at d = 2
    batch = margins.draw_non_descent(2, DRAW_LIKE)(n, torch.Generator().manual_seed(7))
    batched = margins.non_descent_margins(batch["H"], batch["p"], batch["g"])
    single = [margins.non_descent_margin(tuple(batch[k][i].tolist() for k in ("H", "p", "g"))) for i in range(n)]
    assert _agree(batched, single)
    exact = (batch["g"] * batch["p"] * (batch["H"] @ batch["g"].unsqueeze(-1)).squeeze(-1)).sum(-1)
    assert bool((exact[batched > 0] < 0).all()) and int((batched > 0).sum()) > 3
    flipped = margins.non_descent_margins(batch["H"], batch["p"], batch["g"], step=_flipped_step)
    assert int((flipped > 0).sum()) > 0.9 * n


def test_curvature_margins_agree_with_one_instance_and_flag_a_gradient_without_the_regulariser():
    batch = _batch(margins.draw_curvature(4, 12, DRAW_LIKE))
    rows = [(a, labels, 1.0, x, P, H) for a, labels, x, P, H in _rows(batch, "A", "labels", "x", "P", "H")]
    batched = margins.curvature_margins(batch["A"], batch["labels"], 1.0, batch["x"], batch["P"], batch["H"])
    single = [margins.curvature_margin(row) for row in rows]
    assert _agree(batched, single) and max(single) <= 0

    class NoRegulariser(LogisticRegression):
        def gradient(self, x):
            return super().gradient(x) - self.reg * x

    broken = margins.curvature_margins(batch["A"], batch["labels"], 1.0, batch["x"], batch["P"], batch["H"],
                                       problem=NoRegulariser.create)
    assert int((broken > 0).sum()) > N // 2


def test_decrease_terms_agree_with_one_instance_and_flag_a_flipped_step():
    batch = _batch(margins.draw_decrease_quadratics(5, DRAW_LIKE))
    lam = torch.linalg.eigvalsh(batch["A"])
    f_star = -0.5 * (batch["b"] * torch.linalg.solve(batch["A"], batch["b"])).sum(-1)
    value, gradient = margins.quadratic_objective(batch["A"], batch["b"])
    batched = margins.decrease_terms(value, gradient, batch["x"], batch["H"], batch["P"], lam[:, -1], lam[:, 0], f_star)
    for i in range(N):
        A, b = batch["A"][i], batch["b"][i]
        one = margins.decrease_terms(lambda x, A=A, b=b: 0.5 * x @ A @ x + b @ x, lambda x, A=A, b=b: A @ x + b,
                                     batch["x"][i], batch["H"][i], batch["P"][i], float(lam[i, -1]), float(lam[i, 0]),
                                     float(f_star[i]))
        for key in ("d2", "d3", "eta"):
            assert _agree(batched[key][i:i + 1], [float(one[key])])
    assert float(torch.maximum(batched["d2"], batched["d3"]).max()) <= 0 and bool((batched["eta"] > 0).any())
    quadratic = (batch["A"], batch["b"], batch["x"], batch["H"], batch["P"])
    assert _agree(margins.quadratic_decrease_margins(*quadratic), torch.maximum(batched["d2"], batched["d3"]).tolist())
    assert int((margins.quadratic_decrease_margins(*quadratic, step=_flipped_step) > 0).sum()) > N // 2


def test_spectral_margins_use_a_bound_that_agrees_with_the_implementation_and_flag_a_doubled_bound():
    batch = _batch(margins.draw_spectral(4, DRAW_LIKE))
    implementation = torch.tensor([spectral_stability_bound(H, A)["bound"] for H, A in zip(batch["H"], batch["A"])])
    assert torch.equal(margins.implementation_spectral_bounds(batch["H"], batch["A"]), implementation)
    assert torch.allclose(margins.spectral_bounds(batch["H"], batch["A"]), implementation, rtol=0, atol=1e-12)
    args = (batch["A"], batch["H"], batch["t"], batch["u"])
    by_implementation = margins.spectral_margins(*args, bound=margins.implementation_spectral_bounds)
    assert torch.allclose(margins.spectral_margins(*args), by_implementation, rtol=0, atol=1e-12)
    single = [margins.spectral_margin(row, bound=margins.implementation_spectral_bounds)
              for row in _rows(batch, "A", "H", "t", "u")]
    assert _agree(by_implementation, single)
    assert float(margins.spectral_margins(*args).max()) <= 0
    doubled = margins.spectral_margins(*args, bound=lambda H, A: 2 * margins.spectral_bounds(H, A))
    assert int((doubled > 0).sum()) > 0


def test_rate_band_margins_agree_with_one_instance_and_flag_a_step_that_drops_a_tenth():
    batch = _batch(margins.draw_rate_band(4, DRAW_LIKE))
    args = (batch["A"], batch["H"], batch["x"], batch["x_star"], batch["c"])
    batched = margins.rate_band_margins(*args)
    single = [margins.rate_band_margin(row) for row in _rows(batch, "A", "H", "x", "x_star", "c")]
    assert _agree(batched, single) and max(single) <= 0
    assert int((margins.rate_band_margins(*args, step=_short_step) > 0).sum()) > N // 2


def _largest_excursion(model, steps) -> float:
    """The rollout margin written out for finite outputs: max over the steps of max_i(low − P_i, P_i − high, −P_i,
    P_i − 2), the state carried."""
    low, high = model.interval
    state, worst = None, -math.inf
    for x, g, d in steps:
        with torch.no_grad():
            P, _, state = model(x, g, d, state)
        worst = max(worst, float((low - P).max()), float((P - high).max()), float((-P).max()), float((P - 2).max()))
    return worst


def test_rollout_margins_agree_with_rollout_margin_and_flag_an_unclamped_output(monkeypatch):
    import implementations.bfgs.model as model_module

    torch.manual_seed(3)
    model = StepSizeLSTM(hidden=8, interval=(0.3, 1.6), coordinatewise=True)  # the claim's searched model
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_().mul_(10.0)
    batch = _batch(margins.draw_rollout_inputs())
    batched = margins.rollout_margins(model, margins.rollout_steps(batch))
    rows = [margins.rollout_steps({k: v[i:i + 1] for k, v in batch.items()}) for i in range(N)]
    single = [rollout_margin(model, steps) for steps in rows]
    assert _agree(batched, single) and max(single) <= 0
    assert single == [_largest_excursion(model, steps) for steps in rows]
    monkeypatch.setattr(model_module, "map_steps", lambda raw, interval, coordinatewise=True: (
        2 * torch.sigmoid(raw), torch.zeros(raw.shape[:-1], dtype=raw.dtype)))
    assert int((margins.rollout_margins(model, margins.rollout_steps(batch)) > 0).sum()) > N // 2
