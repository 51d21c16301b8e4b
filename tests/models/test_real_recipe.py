"""The real recipe (clip-b32-to-hybrid) end to end for a few steps: a random-weight Hugging Face CLIP
saved by the test as the teacher, the recipe's own student and stages, a few tiny shards."""
import json
from pathlib import Path

import pytest
import torch
from transformers import CLIPConfig, CLIPModel

from pocketclip.models.data.demo_shards import write_demo_shards
from pocketclip.models.towers.checkpoint import load_model
from pocketclip.models.towers.configs import get_config
from pocketclip.models.train.data_options import RunOptions
from pocketclip.models.train.run import load_recipe, run_recipe

RECIPE = Path(__file__).parents[2] / "models" / "recipes" / "clip-b32-to-hybrid.json"


def small_teacher(folder: Path) -> None:
    """One layer per tower at CLIP B/32's widths, so that 'inherit' slices it as it would the real one."""
    cfg = CLIPConfig(
        text_config=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=1, num_attention_heads=8),
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=1, num_attention_heads=12,
                           image_size=224, patch_size=32),
        projection_dim=512)
    torch.manual_seed(0)
    CLIPModel(cfg).eval().save_pretrained(folder)


@pytest.mark.slow
def test_the_real_recipe_runs_a_few_steps_from_a_hugging_face_teacher(tmp_path):
    recipe = load_recipe(RECIPE)
    assert recipe["teacher"] == "hf:openai/clip-vit-base-patch32" and recipe["data"]["source"].startswith("shards:")
    small_teacher(tmp_path / "hf-teacher")
    pattern = write_demo_shards(tmp_path / "shards", 24, per_shard=8, workers=1)
    recipe["teacher"] = str(tmp_path / "hf-teacher")
    recipe["data"].update(source=f"shards:{pattern}", shuffle_buffer=8, teacher_cache=str(tmp_path / "cache"))
    recipe["eval"] = {"source": f"shards:{pattern}"}
    for stage in ("stage1", "stage2"):
        recipe[stage]["schedule"].update(steps=2, batch_size=4, warmup=1, save_every=2)
    report = run_recipe(recipe, tmp_path / "run", opts=RunOptions("cpu", "auto", 1))
    student = load_model(tmp_path / "run" / "model")
    assert student.cfg.image == get_config(RECIPE_MODEL := json.loads(RECIPE.read_text())["model"]).image
    assert student.cfg.name == RECIPE_MODEL and report["images"] == report["captions"] == 24
    assert set(report) >= {"t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10", "mean_recall"}


def test_the_real_recipe_distils_the_student_the_latency_front_chose():
    """benchmarks/results/students.json is why the recipe names its student: the one that meets every goal."""
    front = json.loads((RECIPE.parents[2] / "benchmarks" / "results" / "students.json").read_text())
    chosen = next(row for row in front["candidates"] if row["name"] == front["chosen"])
    assert json.loads(RECIPE.read_text())["model"] == front["chosen"]
    assert chosen["meets_goals"] and all(chosen["goals"].values())
    assert front["teacher"]["demo"]["t2i_r1"] - chosen["demo_t2i_r1"] <= front["goals"]["demo_r1_gap_max"]
