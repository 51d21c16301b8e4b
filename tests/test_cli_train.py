"""`pocketclip train` and `python -m pocketclip.models.train`: a bad recipe, data or device is one line."""
import json
import subprocess
import sys

import pytest
import torch


def train(*args):
    return subprocess.run([sys.executable, "-m", "pocketclip.models.train", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("recipe, message", [
    ("{", "not a readable JSON recipe"),
    ('{"kind": "distill", "model": "demo-student"}', "a distill recipe needs teacher, init, seed, data, stage1, stage2"),
    ('{"kind": "finetune"}', "recipe kind must be one of"),
    ('[1]', "recipe kind must be one of"),
    (open("models/recipes/demo-student-pq.json").read(), "a pq recipe runs with python -m pocketclip.models.train.pq"),
])
def test_a_bad_recipe_is_one_line(tmp_path, recipe, message):
    (tmp_path / "r.json").write_text(recipe)
    out = train(str(tmp_path / "r.json"), "--out", str(tmp_path / "run"))
    assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_missing_shards_and_an_absent_gpu_are_one_line(tmp_path):
    recipe = json.loads(open("models/recipes/demo-student-shards.json").read())
    recipe["data"] = {"source": f"shards:{tmp_path}/none-{{0..2}}.tar"}
    (tmp_path / "r.json").write_text(json.dumps(recipe))
    out = train(str(tmp_path / "r.json"), "--out", str(tmp_path / "run"), "--device", "cpu")
    assert out.returncode == 1 and "3 of 3 shards not found" in out.stderr and "Traceback" not in out.stderr
    if not torch.cuda.is_available():
        out = train("models/recipes/demo-student.json", "--out", str(tmp_path / "run"), "--device", "cuda")
        assert out.returncode == 1 and "sees no CUDA GPU" in out.stderr and "Traceback" not in out.stderr
