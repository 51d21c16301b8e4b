"""Run a training recipe (JSON): `python -m pocketclip.models.train RECIPE --out DIR`, or under torchrun.

Writes DIR/model (weights stored as float16, which is what gets evaluated and published),
DIR/eval.json on the held-out test split, and resumes from DIR's checkpoints when restarted.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

import torch

from pocketclip.models.checkpoint import WEIGHTS_DIR, load_model, save_model
from pocketclip.models.configs import resolve_config
from pocketclip.models.demo_data import load_split
from pocketclip.models.distill import distill
from pocketclip.models.evaluate import evaluate
from pocketclip.models.train_teacher import train_contrastive
from pocketclip.models.training import distributed

KINDS = {"contrastive": train_contrastive, "distill": distill}


def load_recipe(path: str | Path) -> dict:
    recipe = json.loads(Path(path).read_text())
    if recipe.get("kind") not in KINDS:
        raise ValueError(f"recipe kind must be one of {sorted(KINDS)}, not {recipe.get('kind')!r}")
    return recipe


def run_recipe(recipe: dict, out: Path, command: str = "") -> dict | None:
    """Train, store the float16 model in out/model, evaluate it; returns the eval record (rank 0)."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    preprocess = resolve_config(recipe["model"]).preprocess
    data_cfg = recipe["data"]
    train_set = load_split("train", data_cfg["train_size"], preprocess, data_cfg["seed"])
    model = KINDS[recipe["kind"]](recipe, train_set, out)
    rank, _ = distributed()
    if rank != 0:
        return None
    final = out / "model"
    save_model(model, final, dtype=torch.float16, extra={"recipe": recipe, "command": command})
    published = load_model(final)
    test_set = load_split("test", data_cfg["test_size"], preprocess, data_cfg["seed"])
    report = evaluate(published, test_set)
    (final / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recipe", help="recipe JSON, e.g. models/recipes/demo-teacher.json")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, final model, eval.json)")
    parser.add_argument("--publish", action="store_true", help="copy the final model into models/weights/NAME")
    args = parser.parse_args(argv)
    recipe = load_recipe(args.recipe)
    command = "python -m pocketclip.models.train " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    report = run_recipe(recipe, Path(args.out), command)
    if report is None:
        return
    print(json.dumps(report, indent=2))
    if args.publish:
        target = WEIGHTS_DIR / resolve_config(recipe["model"]).name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(args.out) / "model", target)
        print(f"published to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
