"""The GPU claim mathl2o.beats-gd.fig4a runs beats_gd_study with checkpointing: its code path at a tiny scale."""

from __future__ import annotations

import importlib

from verify.claims.mathl2o import _beats_gd_evidence, beats_gd_seeds, beats_gd_study, seed_instances
from verify.registry import Context


def test_beats_gd_study_and_evidence_run_at_a_tiny_scale_with_checkpointing(tmp_path):
    ctx = Context(budget="quick", device="cpu", figure_dir=str(tmp_path), claim_id="mathl2o.beats-gd.fig4a")
    study = beats_gd_study(ctx, N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3, checkpoint_steps=True)
    plain = beats_gd_study(ctx, N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3)
    assert study["runs"][0]["losses"] == plain["runs"][0]["losses"]
    evidence = _beats_gd_evidence(ctx, [study, plain], (100.0, 1e-4), 0.5, "tiny", "tiny scale", [0, 1])
    assert evidence.verdict() in ("verified", "refuted")
    assert evidence.numbers["gd_loss"] == [study["runs"][0]["gd_loss"]] * 2 and evidence.figures
    assert evidence.numbers["gain_reference"]["n"] == 2


def test_the_seeded_gain_studies_draw_new_instances_per_seed_and_keep_seed_0s():
    ctx = Context(budget="quick", device="cpu", claim_id="mathl2o.beats-gd.fig5")
    studies = beats_gd_seeds(ctx, 2, 6, 4, 5, 12, (100.0, 1e-4), [(1.0, 1e-4)], 1, [0, 1])
    assert [s["seed"] for s in studies] == seed_instances(7, [0, 1]) == [7, 10_014]
    assert len(studies[0]["runs"]) == 2 and len(studies[1]["runs"]) == 1
    assert studies[0]["runs"][0]["gd_loss"] != studies[1]["runs"][0]["gd_loss"]


def test_the_gain_study_draws_other_instances_under_another_run_seed():
    def gd_loss(seed):
        ctx = Context(budget="quick", device="cpu", seed=seed, claim_id="mathl2o.beats-gd.fig5")
        return beats_gd_study(ctx, N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=1)["runs"][0]["gd_loss"]

    assert gd_loss(0) == gd_loss(0) != gd_loss(1)


def test_the_gain_study_checkpoints_its_trainings_in_the_run_cache_and_loads_them_after(tmp_path, monkeypatch):
    unroll_module = importlib.import_module("implementations.mathl2o.unroll")  # the package re-exports unroll()
    ctx = Context(budget="quick", device="cpu", claim_id="mathl2o.beats-gd.fig4a", cache_dir=str(tmp_path / "cache"))
    first = beats_gd_study(ctx, N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3)
    assert [p.name.startswith("mathl2o-train-") for p in (tmp_path / "cache").glob("*.pt")] == [True]

    def no_training(*args, **kwargs):
        raise AssertionError("the finished training should have been loaded from its checkpoint")

    monkeypatch.setattr(unroll_module, "loss_and_gradients", no_training)
    again = beats_gd_study(ctx, N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3)
    assert again["runs"][0]["losses"] == first["runs"][0]["losses"]
