"""Two-stage distillation end to end on a tiny teacher, and the hard-negative miner."""
import json

import torch
from tests_support import tiny

from pocketclip.models.towers.checkpoint import load_model, save_model
from pocketclip.models.towers.configs import ModelConfig
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.train.distill import make_student
from pocketclip.models.train.hard_negatives import mine_hard_negatives
from pocketclip.models.train.run import run_recipe


def distill_recipe(teacher_dir, init="inherit"):
    stage = {"steps": 3, "batch_size": 16, "lr": 1e-3, "warmup": 1, "save_every": 3}
    return {"kind": "distill", "model": tiny("tiny-student", layers=1, token_dim=4), "teacher": str(teacher_dir),
            "init": init, "seed": 0, "data": {"train_size": 96, "test_size": 32, "seed": 0},
            "stage1": {"schedule": stage, "temperature": 0.05},
            "stage2": {"schedule": stage, "kl_weight": 1.0, "hard_negatives_pool": 4}}


def test_both_stages_run_and_leave_resumable_checkpoints(tmp_path):
    torch.manual_seed(0)
    save_model(DualEncoder(ModelConfig.from_dict(tiny("tiny-teacher", token_dim=None))), tmp_path / "teacher")
    report = run_recipe(distill_recipe(tmp_path / "teacher"), tmp_path / "run")
    for stage in ("stage1", "stage2"):
        assert json.loads((tmp_path / "run" / stage / "checkpoint" / "state.json").read_text())["step"] == 3
    assert (tmp_path / "run" / "teacher_index.safetensors").exists()
    student = load_model(tmp_path / "run" / "model")
    assert student.cfg.text.layers == 1 and report["params"] < 0.9 * sum(
        p.numel() for p in load_model(tmp_path / "teacher").parameters())


def test_scratch_init_differs_from_inherited(tmp_path):
    teacher = DualEncoder(ModelConfig.from_dict(tiny("t", token_dim=None)))
    recipe = distill_recipe(tmp_path)
    inherited = make_student(recipe, teacher)
    scratch = make_student({**recipe, "init": "scratch"}, teacher)
    assert torch.equal(inherited.image.ln_pre.weight, teacher.image.ln_pre.weight)
    assert not torch.equal(scratch.image.blocks[0].mlp[0].weight, inherited.image.blocks[0].mlp[0].weight)


def test_hard_negatives_are_similar_but_never_the_same_scene():
    torch.manual_seed(0)
    image = torch.nn.functional.normalize(torch.randn(50, 8), dim=-1)
    text = image + 0.01 * torch.randn(50, 8)
    keys = [("scene", i % 10) for i in range(50)]
    hard = mine_hard_negatives(text, image, keys, pool=5, chunk=7)
    assert hard.shape == (50, 5)
    for i, row in enumerate(hard.tolist()):
        assert all(keys[j] != keys[i] for j in row)
    sims = text @ image.T
    random_mean = sims.mean()
    assert sims.gather(1, hard).mean() > random_mean
