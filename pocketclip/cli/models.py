"""Model commands (eval, train, models); they need torch, imported when they run."""
from __future__ import annotations

import json
from pathlib import Path

import click

from pocketclip.cli.common import needs_torch


@click.command("eval")
@click.option("--model", "model_name", required=True,
              help="committed demo model, checkpoint folder, registered config, or hf:HUB_ID / HF folder")
@click.option("--test-size", type=click.IntRange(min=10), default=1000, show_default=True, help="held-out demo pairs")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def eval_command(model_name: str, test_size: int, as_json: bool) -> None:
    """Recall@1/5/10 both ways on the held-out demo split, size and CPU latency per tower.

    Example: pocketclip eval --model demo-student --json
    """
    needs_torch("eval")
    from pocketclip.models.checkpoint import load_model
    from pocketclip.models.demo_data import load_split
    from pocketclip.models.evaluate import evaluate

    try:
        model = load_model(model_name)
    except (KeyError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    report = evaluate(model, load_split("test", test_size, model.cfg.preprocess))
    click.echo(json.dumps(report, indent=2) if as_json else
               "\n".join(f"{k:>14}: {v}" for k, v in report.items()))


@click.command("train")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="run folder (resumable)")
@click.option("--publish", is_flag=True, help="copy the final model into models/weights/NAME")
def train_command(recipe: str, out: Path, publish: bool) -> None:
    """Train or distil a model from a recipe; restarting with the same --out resumes.

    For several processes use torchrun: torchrun --nproc_per_node 2 -m pocketclip.models.train RECIPE --out DIR

    Example: pocketclip train models/recipes/demo-student.json --out runs/demo-student
    """
    needs_torch("training")
    from pocketclip.models.train import main

    main([recipe, "--out", str(out)] + (["--publish"] if publish else []))


@click.command("models")
def models_command() -> None:
    """List the registered model configs and the committed trained models.

    Example: pocketclip models
    """
    needs_torch("listing models")
    from pocketclip.models.checkpoint import WEIGHTS_DIR
    from pocketclip.models.configs import list_models

    trained = sorted(p.name for p in WEIGHTS_DIR.glob("*") if (p / "config.json").exists())
    for name in list_models():
        click.echo(f"{name}{'  (trained weights committed)' if name in trained else ''}")
