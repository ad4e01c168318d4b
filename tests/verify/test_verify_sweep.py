"""Batched sweeps (verify.sweep): they find violations where a condition fails, count them, keep and re-check the
worst instance, and draw the same instances whatever the batch size."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from verify.catalogue import BY_ID, CATALOGUE
from verify.registry import Context
from verify.spec import SWEEP_MINIMUM
from verify.sweep import batched_sweep


def _draw_d0(n, generator):
    """D0's instances: SPD H (d = 2, κ ≤ 10³), p ∈ (0, 2)², g."""
    q, _ = torch.linalg.qr(torch.randn(n, 2, 2, generator=generator, dtype=torch.float64))
    lam = torch.exp(torch.rand(n, 2, generator=generator, dtype=torch.float64) * math.log(1e3))
    return {"H": (q * lam.unsqueeze(-2)) @ q.mT, "p": 2 * torch.rand(n, 2, generator=generator, dtype=torch.float64),
            "g": torch.randn(n, 2, generator=generator, dtype=torch.float64)}


def _non_descent(batch):
    """−gᵀPHg/‖g‖²: positive where −PHg is not a descent direction (D0's violation)."""
    g = batch["g"]
    return -(g * batch["p"] * (batch["H"] @ g.unsqueeze(-1)).squeeze(-1)).sum(-1) / (g * g).sum(-1)


def _non_descent_numpy(instance):
    H, p, g = (np.array(instance[k]) for k in ("H", "p", "g"))
    return float(-(g @ (p * (H @ g))) / (g @ g))


def test_a_sweep_finds_counts_and_rechecks_the_violations_of_a_false_condition():
    result = batched_sweep(Context(claim_id="bfgs.cwss.interval-not-sufficient"), 20_000, _draw_d0, _non_descent,
                           recheck=_non_descent_numpy)
    assert result.count == 20_000 and result.batches == 3
    assert 0 < result.violations < result.count and result.worst_margin > 0
    assert result.recheck_margin == pytest.approx(result.worst_margin, rel=1e-12)


def test_the_instances_do_not_depend_on_the_batch_size():
    ctx = Context(claim_id="bfgs.cwss.interval-not-sufficient")
    big = batched_sweep(ctx, 10_000, _draw_d0, _non_descent)
    small = batched_sweep(ctx, 10_000, _draw_d0, _non_descent, batch=700)
    assert small.batches > big.batches
    assert (small.violations, small.worst_margin, small.worst_instance) == (big.violations, big.worst_margin,
                                                                            big.worst_instance)


def test_a_nan_margin_counts_as_a_violation():
    result = batched_sweep(Context(claim_id="x.y"), 10, lambda n, g: {"x": torch.zeros(n)},
                           lambda b: torch.full_like(b["x"], float("nan")))
    assert result.violations == 10 and result.worst_margin == math.inf


@pytest.mark.parametrize("count, batch", [(0, 10), (-1, 10), (2.5, 10), (True, 10), (10, 0)])
def test_bad_sizes_are_rejected_naming_the_argument(count, batch):
    with pytest.raises(ValueError, match="count|batch"):
        batched_sweep(Context(claim_id="x.y"), count, lambda n, g: {"x": torch.zeros(n)}, lambda b: b["x"],
                      batch=batch)


def test_a_sweep_leaves_the_checks_other_random_draws_unchanged():
    with_sweep, without = Context(claim_id="a.b"), Context(claim_id="a.b")
    batched_sweep(with_sweep, 100, _draw_d0, _non_descent)
    assert with_sweep.rng.integers(0, 2**62) == without.rng.integers(0, 2**62)
    assert torch.equal(torch.rand(3, generator=with_sweep.torch_generator()),
                       torch.rand(3, generator=without.torch_generator()))


def test_the_d4_sweep_margin_catches_a_step_that_drops_a_tenth_of_PHg():
    from verify.margins.bfgs import contraction_margin, contraction_margins

    def draw(n, generator):
        q, _ = torch.linalg.qr(torch.randn(n, 3, 3, generator=generator, dtype=torch.float64))
        A = (q * torch.exp(torch.rand(n, 3, generator=generator, dtype=torch.float64) * 5).unsqueeze(-2)) @ q.mT
        return {"A": (A + A.mT) / 2, "x": torch.randn(n, 3, generator=generator, dtype=torch.float64),
                "x_star": torch.randn(n, 3, generator=generator, dtype=torch.float64),
                "p": 4 * torch.rand(n, 3, generator=generator, dtype=torch.float64) - 1}

    def short_step(x, g, H, P, interval):
        return x - 0.9 * P * (H @ g.unsqueeze(-1)).squeeze(-1)

    ctx = Context(claim_id="bfgs.cwss.exact-hessian-contraction")
    right = batched_sweep(ctx, 2000, draw, lambda b: contraction_margins(b["A"], b["x"], b["x_star"], b["p"]))
    wrong = batched_sweep(ctx, 2000, draw, lambda b: contraction_margins(b["A"], b["x"], b["x_star"], b["p"],
                                                                          step=short_step),
                          recheck=lambda i: contraction_margin((i["A"], i["x"], i["x_star"], i["p"]), step=short_step))
    assert right.violations == 0 and wrong.violations > 1000 and wrong.recheck_margin > 0


@pytest.mark.parametrize("spec", CATALOGUE, ids=[s.id for s in CATALOGUE])
def test_every_claim_sweeps_enough_instances_or_says_why_it_cannot(spec):
    if "sweep_instances" in spec.scales:
        quick, full = spec.scales["sweep_instances"]
        assert quick >= SWEEP_MINIMUM[0] and full >= SWEEP_MINIMUM[1], f"{spec.id}: sweeps {quick}, {full} instances"
    else:
        assert len(spec.unbatched) > 20, f"{spec.id}: neither sweeps nor says why it cannot (ClaimSpec.unbatched)"


def test_a_claim_that_sweeps_gives_no_reason_not_to():
    with pytest.raises(ValueError, match="unbatched"):
        dataclasses.replace(BY_ID["bfgs.cwss.descent-condition"], unbatched="a reason")


def test_the_reports_give_the_instances_each_claim_checked_or_why_it_could_not_sweep(tmp_path, monkeypatch):
    from verify import runner
    from verify.registry import Claim, Evidence

    swept, unswept = BY_ID["bfgs.cwss.descent-condition"], BY_ID["cfgd.caputo.power-rule"]
    unswept = dataclasses.replace(unswept, scales={}, unbatched="a symbolic identity: there are no instances")
    numbers = {"sweep_instances": 123_456, "sweep_violations": 0, "sweep_worst_margin": -0.25}
    monkeypatch.setattr(runner, "load_checks", lambda: {
        swept.id: Claim(swept, lambda ctx: Evidence(holds=True, numbers=numbers)),
        unswept.id: Claim(unswept, lambda ctx: Evidence(holds=True))})
    runner.run(runner.RunConfig(patterns=[swept.id, unswept.id], out=tmp_path, device="cpu"))
    for name in ("report.md", "report.html"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "Instances checked by sweeps" in text and "123456" in text.replace(",", "").replace(" ", "")
        assert "a symbolic identity: there are no instances" in text


def test_sweeps_over_dimensions_share_the_count_and_draw_each_from_its_own_stream():
    from verify.sweep import shares, sweep_dimensions

    assert shares(10, 3) == [4, 3, 3] and sum(shares(1_000_001, 7)) == 1_000_001
    ctx = Context(claim_id="bfgs.cwss.interval-not-sufficient", budget="quick")  # 10⁴ instances at quick

    def draw_of(dim):
        return lambda n, g: {"x": torch.rand(n, dim, generator=g, dtype=torch.float64, device="cpu")}

    results = sweep_dimensions(ctx, "d0", (2, 3, 4), draw_of, lambda b: b["x"].sum(-1) - b["x"].shape[-1])
    counts = {dim: r.count for dim, r in results.items()}
    assert sum(counts.values()) == 10_000 and set(counts) == {2, 3, 4}
    assert len({r.worst_margin for r in results.values()}) == 3  # three dimensions, three streams
