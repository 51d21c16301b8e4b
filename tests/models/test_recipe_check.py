"""A recipe's fields are checked before any work: each wrong one is named in one line."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests_support import tiny

from pocketclip.models.train.hard_negatives import mine_hard_negatives
from pocketclip.models.train.recipe_check import RecipeError, check_recipe
from pocketclip.models.train.run import run_recipe

RECIPES = Path(__file__).parents[2] / "models" / "recipes"
DISTILL = {"kind": "distill", "model": tiny("student", layers=1), "teacher": "demo-teacher", "init": "inherit",
           "seed": 0, "data": {"train_size": 96, "test_size": 32, "seed": 0},
           "stage1": {"schedule": {"steps": 2, "batch_size": 16, "lr": 1e-3}, "temperature": 0.05},
           "stage2": {"schedule": {"steps": 2, "batch_size": 16, "lr": 1e-3}, "kl_weight": 1.0,
                      "hard_negatives_pool": 4}}
DROP = object()


def changed(path: str, value) -> dict:
    recipe = copy.deepcopy(DISTILL)
    *parents, last = path.split(".")
    node = recipe
    for key in parents:
        node = node[key]
    if value is DROP:
        del node[last]
    else:
        node[last] = value
    return recipe


@pytest.mark.parametrize("path, value, message", [
    ("seed", 1.5, "seed must be an integer"),
    ("seed", True, "seed must be an integer"),
    ("model", 5, "model must be a registered name"),
    ("model", "nope", "unknown model 'nope'"),
    ("model", {"name": "x"}, "model: not a model config"),
    ("teacher", "", "teacher must be"),
    ("init", "bogus", "init must be 'inherit' or 'scratch'"),
    ("stage1", "x", "stage1 must be an object"),
    ("stage1.temperature", 0, "stage1.temperature must be a finite number above 0"),
    ("stage1.temperature", float("nan"), "stage1.temperature must be a finite number"),
    ("stage1.temprature", 0.05, "stage1: unknown field 'temprature'"),
    ("stage1.schedule.steps", "abc", "stage1.schedule.steps must be an integer of at least 1"),
    ("stage1.schedule.steps", 0, "stage1.schedule.steps must be an integer of at least 1"),
    ("stage1.schedule.lr", None, "stage1.schedule.lr must be a finite number above 0"),
    ("stage1.schedule.lr", DROP, "stage1.schedule needs lr"),
    ("stage1.schedule.save_every", 0, "save_every must be an integer of at least 1"),
    ("stage1.schedule.warmup", -1, "warmup must be an integer of at least 0"),
    ("stage2.schedule.batch_size", 1000, "stage2.schedule.batch_size 1000 is more than data.train_size 96"),
    ("stage2.kl_weight", -1, "stage2.kl_weight must be a finite number at least 0"),
    ("stage2.hard_negatives_pool", 0, "hard_negatives_pool must be an integer of at least 1"),
    ("stage2.hard_negatives_pool", 96, "hard_negatives_pool 96 must be less than data.train_size 96"),
    ("data", {}, "data needs train_size and seed"),
    ("data.train_size", "x", "data.train_size must be an integer"),
    ("data.augment", [0.5, 1], "data.augment must be an object"),
    ("data.demo_shards", {"count": 3}, "data.demo_shards needs folder"),
    ("eval", {"source": 5}, "eval.source must be a non-empty string"),
    ("eval", {"sourse": "demo"}, "eval: unknown field 'sourse'"),
    ("shedule", {}, "the recipe: unknown field 'shedule'"),
])
def test_every_wrong_field_is_named_before_any_work(tmp_path, path, value, message):
    with pytest.raises(RecipeError, match=message.replace("(", r"\(")):
        run_recipe(changed(path, value), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_committed_recipes_pass():
    recipes = [json.loads(p.read_text()) for p in sorted(RECIPES.glob("*.json"))]
    assert {r["kind"] for r in recipes} == {"contrastive", "distill", "pq"} and len(recipes) >= 8
    for recipe in recipes + [DISTILL]:
        check_recipe(recipe)


@pytest.mark.parametrize("field, value, message", [
    ("name", "../evil", "name must be letters, digits"),
    ("codewords", 300, "codewords must be at most 256"),
    ("pairs", 8, "pairs must be an integer of at least 16"),
    ("pairs", 70000, "pairs 70000 is more than data.train_size 60000"),
    ("subspaces", 0, "subspaces must be an integer of at least 1"),
    ("distill", {"stpes": 3}, "distill: unknown field 'stpes'"),
    ("distill", {"lr": 0}, "distill.lr must be a finite number above 0"),
    ("data", {"train_size": 10}, "data needs seed, test_size"),
    ("candidates", "all", "candidates must be an integer"),
])
def test_a_wrong_pq_field_is_named(field, value, message):
    recipe = json.loads((RECIPES / "demo-student-pq4.json").read_text())
    recipe[field] = value
    with pytest.raises(RecipeError, match=message):
        check_recipe(recipe)


def test_train_pq_says_a_bad_recipe_in_one_line(tmp_path):
    recipe = json.loads((RECIPES / "demo-student-pq4.json").read_text())
    recipe["subspaces"] = 7  # checked against the stored model's 128-dim embeddings once it loads
    (tmp_path / "r.json").write_text(json.dumps(recipe))
    out = subprocess.run([sys.executable, "-m", "pocketclip.models.train.pq", str(tmp_path / "r.json"),
                          "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and out.stderr.strip() == "error: subspaces 7 does not divide demo-student's " \
        "128-dim embeddings"


def test_a_missing_test_set_stops_the_run_before_training(tmp_path):
    recipe = changed("eval", {"source": f"shards:{tmp_path}/none-{{0..1}}.tar"})
    with pytest.raises(Exception, match="2 of 2 shards not found"):
        run_recipe(recipe, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_pool_deeper_than_the_other_scenes_is_refused():
    text, image = torch.eye(4), torch.eye(4)
    keys = [("a",), ("a",), ("b",), ("b",)]  # each caption has two images of other scenes
    assert mine_hard_negatives(text, image, keys, 2).shape == (4, 2)
    with pytest.raises(ValueError, match="more than the images of other scenes"):
        mine_hard_negatives(text, image, keys, 3)
