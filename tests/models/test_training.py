"""The shared loop: a run killed after a checkpoint and restarted ends where an unbroken run ends."""
import json

import pytest
from tests_support import tiny

import pocketclip.models.train.loop as training
from pocketclip.models.towers.checkpoint import fingerprint, load_model
from pocketclip.models.train.run import run_recipe

REPORT_KEYS = ("params", "bytes", "image_ms", "text_ms", "t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5",
               "i2t_r10")


def recipe(steps=6, save_every=3):
    return {"kind": "contrastive", "model": tiny(), "seed": 0,
            "data": {"train_size": 96, "test_size": 32, "seed": 0},
            "schedule": {"steps": steps, "batch_size": 16, "lr": 1e-3, "warmup": 2, "save_every": save_every}}


class Killed(Exception):
    pass


def test_resumed_run_matches_an_unbroken_one(tmp_path, monkeypatch):
    run_recipe(recipe(), tmp_path / "straight")

    real_save = training.save_training_state

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        raise Killed  # the process dies right after its step-3 checkpoint

    monkeypatch.setattr(training, "save_training_state", save_then_die)
    with pytest.raises(Killed):
        run_recipe(recipe(), tmp_path / "broken")
    monkeypatch.setattr(training, "save_training_state", real_save)
    state = json.loads((tmp_path / "broken" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 3
    run_recipe(recipe(), tmp_path / "broken")
    assert fingerprint(load_model(tmp_path / "broken" / "model")) == fingerprint(
        load_model(tmp_path / "straight" / "model"))


def test_run_writes_the_float16_model_and_its_eval(tmp_path):
    report = run_recipe(recipe(steps=4, save_every=4), tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "model" / "eval.json").read_text())
    assert saved == report
    assert all(key in report for key in REPORT_KEYS)
    assert 0 <= report["t2i_r1"] <= report["t2i_r5"] <= report["t2i_r10"] <= 100


def test_schedule_warms_up_then_decays():
    s = training.Schedule(steps=100, batch_size=8, lr=1.0, warmup=10)
    assert s.lr_at(0) == pytest.approx(0.1) and s.lr_at(9) == pytest.approx(1.0)
    assert s.lr_at(55) < s.lr_at(20) and s.lr_at(99) < 0.01
