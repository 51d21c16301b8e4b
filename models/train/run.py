"""Run a training recipe (JSON): `python -m pocketclip.models.train RECIPE --out DIR`, or under torchrun.

Writes DIR/model (weights stored as float16, which is what gets evaluated and published),
DIR/eval.json on the recipe's test data, DIR/data.json with the samples seen and skipped, and
resumes from DIR's checkpoints when restarted.

Several machines: start the same command on each with torchrun, e.g. on 2 nodes x 8 GPUs
    torchrun --nnodes 2 --nproc_per_node 8 --node_rank R --rdzv_backend c10d \\
        --rdzv_endpoint HOST0:29500 -m pocketclip.models.train RECIPE --out DIR --device cuda
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

import torch

from pocketclip.models.data.demo_data import load_split
from pocketclip.models.data.sources import DataError, open_source
from pocketclip.models.data.teacher_cache import StaleCache
from pocketclip.models.eval.evaluate import evaluate
from pocketclip.models.eval.retrieval import evaluate_source
from pocketclip.models.towers.checkpoint import WEIGHTS_DIR, CheckpointMismatch, load_model, save_model
from pocketclip.models.towers.configs import UnknownModel, resolve_config
from pocketclip.models.train.data_options import RunOptions, open_training_data
from pocketclip.models.train.distill import distill
from pocketclip.models.train.loop import (
    distributed,
    end_rank,
    leave_process_group,
    total_skipped,
    use_device,
    world_size,
)
from pocketclip.models.train.recipe_check import RecipeError, check_recipe, load_recipe
from pocketclip.models.train.teacher import train_contrastive
from pocketclip.runtime.one_line import one_line

KINDS = {"contrastive": train_contrastive, "distill": distill}
# Bad recipes, data, devices and checkpoints; anything else is a bug and keeps its traceback.
TRAINING_ERRORS = (ValueError, OSError, DataError, StaleCache, CheckpointMismatch, UnknownModel)


def run_recipe(recipe: dict, out: Path, command: str = "", opts: RunOptions | None = None) -> dict | None:
    """Train, store the float16 model in out/model, evaluate it; returns the eval record (rank 0)."""
    check_recipe(recipe)
    if recipe["kind"] not in KINDS:
        raise RecipeError(f"a {recipe['kind']} recipe runs with python -m pocketclip.models.train.{recipe['kind']}")
    spec = recipe.get("eval", {})
    if spec.get("source", "demo") != "demo":  # a missing test set is found now, not after the training
        open_source(spec["source"], spec.get("images"), spec.get("split", "test"))
    opts = opts or RunOptions()
    use_device(opts.device_obj)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model, states = KINDS[recipe["kind"]](recipe, open_training_data(recipe), out, opts)
    skipped = {stage: total_skipped((s or {}).get("skipped", {})) for stage, s in (states or {}).items()}
    rank, _ = distributed()
    leave_process_group()  # the last collective is done; rank 0 saves and evaluates on its own
    if rank != 0:
        return None
    final = out / "model"
    save_model(model, final, dtype=torch.float16, extra={"recipe": recipe, "command": command})
    if states:
        (out / "data.json").write_text(json.dumps({"skipped": skipped, "states": states}, indent=2) + "\n")
        for stage, counts in skipped.items():
            if counts:
                print(f"{stage}: skipped {sum(counts.values())} samples "
                      f"({', '.join(f'{n} {why}' for why, n in sorted(counts.items()))})", file=sys.stderr)
    published = load_model(final)
    report = evaluate_recipe(published, recipe)
    (final / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def evaluate_recipe(model: torch.nn.Module, recipe: dict) -> dict:
    """The recipe's `eval` section ({"source": ..., "images", "split"}), else the held-out demo split."""
    spec = recipe.get("eval", {})
    if spec.get("source", "demo") == "demo":
        size = spec.get("test_size", recipe["data"].get("test_size", 1000))
        return evaluate(model, load_split("test", size, model.cfg.preprocess, recipe["data"].get("seed", 0)))
    return evaluate_source(model, spec["source"], spec.get("images"), spec.get("split", "test"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", help="recipe JSON, e.g. models/recipes/demo-teacher.json")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, final model, eval.json)")
    parser.add_argument("--publish", action="store_true", help="copy the final model into models/weights/NAME")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"],
                        help="autocast dtype (auto: bf16 on GPUs that have it, fp16 on others, fp32 on CPU)")
    parser.add_argument("--workers", type=int, default=2, help="data-loader processes per rank")
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    command = "python -m pocketclip.models.train " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    ranked = world_size() > 1  # under torchrun: each rank ends by end_rank, see there why
    try:
        recipe = load_recipe(args.recipe)
        report = run_recipe(recipe, Path(args.out), command, RunOptions(args.device, args.precision, args.workers))
    except TRAINING_ERRORS as exc:  # bad input: one line, no traceback
        message = f"error: {one_line(exc, 500)}\n"
        if ranked:
            sys.stderr.write(message)
            end_rank(1)
        parser.exit(1, message)
    if report is not None:
        print(json.dumps(report, indent=2))
        if args.publish:
            target = WEIGHTS_DIR / resolve_config(recipe["model"]).name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(Path(args.out) / "model", target)
            print(f"published to {target}", file=sys.stderr)
    if ranked:
        end_rank(0)


if __name__ == "__main__":
    main()
