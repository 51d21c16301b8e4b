"""The committed demo models: loadable, documented, and their eval.json reproduces."""
import json

import pytest

from pocketclip.models.data.demo_data import load_split
from pocketclip.models.eval.evaluate import embed_pairs, retrieval_metrics, size_report
from pocketclip.models.towers.checkpoint import WEIGHTS_DIR, load_model


@pytest.mark.parametrize("name", ["demo-teacher", "demo-student"])
def test_committed_model_carries_recipe_command_and_eval(name):
    config = json.loads((WEIGHTS_DIR / name / "config.json").read_text())
    assert config["model"]["name"] == name
    assert config["recipe"]["model"] == name and "models.train" in config["command"]
    report = json.loads((WEIGHTS_DIR / name / "eval.json").read_text())
    assert report["pairs"] == 1000


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo-teacher", "demo-student"])
def test_recorded_recall_reproduces(name):
    model = load_model(name)
    report = json.loads((WEIGHTS_DIR / name / "eval.json").read_text())
    data = load_split("test", report["pairs"], model.cfg.preprocess)
    fresh = retrieval_metrics(*embed_pairs(model, data), data.keys)
    for key, value in fresh.items():
        assert abs(value - report[key]) <= 0.2, (key, value, report[key])
    assert size_report(model)["bytes"] == report["bytes"]


def test_student_is_smaller_than_its_teacher():
    teacher, student = (json.loads((WEIGHTS_DIR / n / "eval.json").read_text())
                        for n in ("demo-teacher", "demo-student"))
    assert student["bytes"] <= 0.4 * teacher["bytes"]
