"""Tests of the example, run with the l2o-verify pytest plugin (its --device/--budget options and fixtures, and the
slow marker): `pip install ./examples/own_claim`, then `python -m pytest examples/own_claim`."""

from __future__ import annotations

import json
import subprocess
import sys

import own_claim.model as model_module
import pytest
import torch
from own_claim.claims import CLAIMS
from own_claim.descent import contraction_margins, descent_margins
from own_claim.model import SecantSteps, randomise

from implementations.problems import Quadratic, random_spd
from verify.registry import Context, load_checks, run_claim
from verify.step_models import output_range_evidence, rollout_margin

IDS = [spec.id for spec in CLAIMS]


def _context(device, budget, claim_id, tmp_path=None):
    return Context(budget=budget, device=device, claim_id=claim_id, figure_dir=None if tmp_path is None else
                   str(tmp_path))


@pytest.mark.parametrize("claim_id", IDS)
def test_the_installed_claims_are_discovered_and_hold(claim_id, device, budget, tmp_path):
    checks = load_checks()  # the built-in claims and those of the installed entry points
    assert claim_id in checks, "install the example (pip install ./examples/own_claim) so verify finds its claims"
    record = run_claim(checks[claim_id], _context(device, budget, claim_id, tmp_path))
    assert record["verdict"] == "verified", record.get("error") or record["evidence"]
    assert record["paper"] == "ownsteps"


def test_the_secant_clamp_keeps_p_finite_where_an_overflow_would_make_it_nan(monkeypatch, device):
    # x_i = 1e308 then −1e308: s_i overflows to −inf; with zero weights 0·inf = NaN reaches the output map
    one = torch.ones(1, 1, dtype=torch.float64, device=device)
    steps = [(1e308 * one, one, one), (-1e308 * one, one, one)]
    model = randomise(SecantSteps(), torch.Generator(), scale=0.0).to(device=device, dtype=torch.float64)
    assert rollout_margin(model, steps) <= 0
    monkeypatch.setattr(model_module, "secant_difference", lambda current, previous: current - previous)
    assert rollout_margin(model, steps) == float("inf")


class _LeavesInterval(SecantSteps):
    """A broken model: P just above its interval wherever |x_i| > 1e300."""

    def forward(self, x, g, d, state=None):
        P, clipped, state = super().forward(x, g, d, state)
        return torch.where(x.abs() > 1e300, self.interval[1] + 1e-9, P), clipped, state


def test_the_output_range_search_refutes_a_model_leaving_its_interval(device, budget):
    ctx = _context(device, budget, "ownsteps.secant.output-range")
    evidence = output_range_evidence(ctx, _LeavesInterval(), lambda interval, coordinatewise: _LeavesInterval(
        4, interval, coordinatewise))
    assert evidence.verdict() == "refuted"
    assert 0 < evidence.counterexample["margin"] <= 2e-9
    assert output_range_evidence(ctx, SecantSteps(), lambda interval, coordinatewise: SecantSteps(
        4, interval, coordinatewise)).verdict() == "verified"


def _quadratic(dim, cond, seed, device):
    generator = torch.Generator().manual_seed(seed)
    A = random_spd(dim, cond, generator=generator, device=device)
    b, x0 = (10 * torch.randn(2, dim, generator=generator, dtype=torch.float64)).to(device)
    return Quadratic.create(A, b), x0


class _OutsideInterval(SecantSteps):
    """P ≡ 2.5: outside [0, 2], where D4 no longer contracts (|1 − p| = 1.5)."""

    def forward(self, x, g, d, state=None):
        P, clipped, state = super().forward(x, g, d, state)
        return torch.full_like(P, 2.5), clipped, state


def test_contraction_margin_is_violated_by_a_step_outside_0_2(device):
    problem, x0 = _quadratic(4, 10.0, 0, device)
    assert contraction_margins(SecantSteps().to(device), problem, x0, 5).contraction <= 0
    assert contraction_margins(_OutsideInterval().to(device), problem, x0, 5).contraction > 0


def test_the_untrained_model_meets_d1_at_every_step(device):
    # untrained: P ≡ I, δ = 0 < 1/κ(H_k) at every step, and gᵀHg ≥ λ_min(H)‖g‖² (D1 with δ = 0)
    problem, x0 = _quadratic(5, 100.0, 1, device)
    margins = descent_margins(SecantSteps().to(device), problem, x0, 8)
    assert margins.descent_applicable == margins.steps > 0
    assert margins.descent <= 0 and margins.nonpositive_descent == 0
    assert margins.p_low == margins.p_high == 1.0


def test_randomise_rejects_bad_arguments():
    with pytest.raises(TypeError, match="generator"):
        randomise(SecantSteps(), 0)
    with pytest.raises(ValueError, match="scale"):
        randomise(SecantSteps(), torch.Generator(), scale=-1.0)


def test_verify_lists_and_runs_the_example_claim(tmp_path):
    listed = subprocess.run([sys.executable, "-m", "verify", "list", "--paper", "ownsteps", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == IDS
    ran = subprocess.run([sys.executable, "-m", "verify", "run", IDS[0], "--device", "cpu", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    record = json.loads((tmp_path / "results.json").read_text())["claims"][0]
    assert (record["id"], record["verdict"]) == (IDS[0], "verified")
    assert "## ownsteps: A secant-pair step-size model" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
def test_descent_at_the_full_budget(device):
    record = run_claim(load_checks()["ownsteps.secant.descent"], _context(device, "full", "ownsteps.secant.descent"))
    assert record["verdict"] == "verified", record["evidence"]
