"""torchrun path: two CPU processes (gloo) train the same model one process would train."""
import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from tests_support import tiny

from pocketclip.models.towers.checkpoint import save_model
from pocketclip.models.towers.configs import ModelConfig, resolve_config
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.train.run import run_recipe


def torchrun(recipe: dict, folder, port: int) -> None:
    (folder / "recipe.json").write_text(json.dumps(recipe))
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
         "-m", "pocketclip.models.train", str(folder / "recipe.json"), "--out", str(folder / "ddp")],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def test_a_rank_ends_with_its_code_and_loses_no_output():
    # end_rank skips the interpreter's shutdown (gloo threads abort it now and then): output must be flushed first.
    code = ("import sys; from pocketclip.models.train.loop import end_rank; "
            "print('kept'); sys.stderr.write('too'); end_rank(3)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as under torchrun
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert (out.returncode, out.stdout, out.stderr) == (3, "kept\n", "too")


@pytest.mark.slow
def test_torchrun_two_processes_match_one(tmp_path):
    recipe = {"kind": "contrastive", "model": tiny(), "seed": 0,
              "data": {"train_size": 96, "test_size": 32, "seed": 0},
              "schedule": {"steps": 3, "batch_size": 16, "lr": 1e-3, "warmup": 1, "save_every": 3}}
    torchrun(recipe, tmp_path, 29517)
    run_recipe(recipe, tmp_path / "single")
    # Compare the float32 training checkpoints (the published model is rounded to float16).
    ddp = load_file(str(tmp_path / "ddp" / "checkpoint" / "model.safetensors"))
    single = load_file(str(tmp_path / "single" / "checkpoint" / "model.safetensors"))
    torch.manual_seed(0)
    start = DualEncoder(resolve_config(tiny())).state_dict()
    for name, a in ddp.items():
        # 1e-4: Adam turns the float noise in gradients that are zero in exact arithmetic (the key
        # bias cannot change a softmax) into steps of ~lr; every other tensor agrees to ~1e-6.
        assert torch.allclose(a, single[name], atol=1e-4), name
        assert (single[name] - start[name]).abs().max() > 1e-3, name  # the three steps did move it


@pytest.mark.slow
def test_torchrun_runs_both_distillation_stages(tmp_path):
    save_model(DualEncoder(ModelConfig.from_dict(tiny("teacher", token_dim=None))), tmp_path / "teacher")
    stage = {"steps": 2, "batch_size": 16, "lr": 1e-3, "warmup": 1, "save_every": 2}
    recipe = {"kind": "distill", "model": tiny("student", layers=1, token_dim=4), "teacher": str(tmp_path / "teacher"),
              "init": "inherit", "seed": 0, "data": {"train_size": 96, "test_size": 32, "seed": 0},
              "stage1": {"schedule": stage, "temperature": 0.05},
              "stage2": {"schedule": stage, "kl_weight": 1.0, "hard_negatives_pool": 4}}
    torchrun(recipe, tmp_path, 29518)
    assert json.loads((tmp_path / "ddp" / "model" / "eval.json").read_text())["model"] == "student"


@pytest.mark.slow
def test_torchrun_streams_shards_with_a_teacher_cache_split_over_ranks(tmp_path):
    from pocketclip.models.data.demo_shards import write_demo_shards

    save_model(DualEncoder(ModelConfig.from_dict(tiny("teacher", token_dim=None))), tmp_path / "teacher")
    pattern = write_demo_shards(tmp_path / "shards", 100, per_shard=20, workers=1)  # 5 shards over 2 ranks
    stage = {"steps": 3, "batch_size": 16, "lr": 1e-3, "warmup": 1, "save_every": 2}
    recipe = {"kind": "distill", "model": tiny("student", layers=1, token_dim=4), "teacher": str(tmp_path / "teacher"),
              "init": "inherit", "seed": 0,
              "data": {"source": f"shards:{pattern}", "shuffle_buffer": 16, "teacher_cache": str(tmp_path / "cache")},
              "eval": {"source": f"shards:{pattern}"},
              "stage1": {"schedule": stage, "temperature": 0.05},
              "stage2": {"schedule": stage, "kl_weight": 1.0, "hard_negatives_pool": 4}}
    torchrun(recipe, tmp_path, 29519)
    assert len(list((tmp_path / "cache").glob("*/unit-*.npz"))) == 5
    data = json.loads((tmp_path / "ddp" / "data.json").read_text())
    assert data["states"]["stage2"]["world"] == 2 and data["states"]["stage2"]["batch"] == 3
    state = json.loads((tmp_path / "ddp" / "stage1" / "checkpoint" / "state.json").read_text())
    assert len(state["feeds"]) == 2 and state["feeds"][0]["samples"] + state["feeds"][1]["samples"] == 3 * 16
    assert json.loads((tmp_path / "ddp" / "model" / "eval.json").read_text())["images"] == 100
