"""The GPU claim mathl2o.beats-gd.fig4a runs the gain study (implementations.mathl2o.experiments.gain_study) with
checkpointing: its code path at a tiny scale."""

from __future__ import annotations

import importlib

from implementations.mathl2o.experiments import gain_study
from verify.cache import cache_file
from verify.registry import Context


def test_the_gain_study_gives_the_same_losses_with_and_without_step_checkpointing():
    study = gain_study(N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3, seed=7, checkpoint_steps=True)
    plain = gain_study(N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3, seed=7)
    assert study["runs"][0]["losses"] == plain["runs"][0]["losses"]
    assert study["seed"] == 7 and 0 <= study["runs"][0]["saturated_fraction"] <= 1


def test_each_run_seed_draws_its_own_instances_and_seed_0_keeps_its_published_ones():
    assert Context.instance_seeds(7, [0, 1]) == [7, 10_014]
    assert [Context(budget="quick", seed=s).instance_seed(7) for s in (0, 1)] == [7, 10_014]

    def gd_loss(seed):
        return gain_study(N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=1, seed=seed)["runs"][0]["gd_loss"]

    assert gd_loss(7) == gd_loss(7) != gd_loss(10_014)


def test_the_gain_study_checkpoints_its_trainings_in_the_run_cache_and_loads_them_after(tmp_path, monkeypatch):
    unroll_module = importlib.import_module("implementations.mathl2o.unroll")  # the package re-exports unroll()
    ctx = Context(budget="quick", device="cpu", claim_id="mathl2o.beats-gd.fig4a", cache_dir=str(tmp_path / "cache"))

    def checkpoint(key):
        return cache_file(ctx, "mathl2o-train", key)

    first = gain_study(N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3, seed=7, checkpoint_path=checkpoint)
    assert [p.name.startswith("mathl2o-train-") for p in (tmp_path / "cache").glob("*.pt")] == [True]

    def no_training(*args, **kwargs):
        raise AssertionError("the finished training should have been loaded from its checkpoint")

    monkeypatch.setattr(unroll_module, "loss_and_gradients", no_training)
    again = gain_study(N=2, d=6, b=4, T=5, width=12, runs=[(100.0, 1e-4)], iters=3, seed=7, checkpoint_path=checkpoint)
    assert again["runs"][0]["losses"] == first["runs"][0]["losses"]
