"""Model commands (eval, train); they need torch, imported when they run."""
from __future__ import annotations

import json
from pathlib import Path

import click

from pocketclip.cli.common import needs_torch, one_line

DATA_HELP = "demo (default), shards:PATTERN, karpathy:FILE (with --images), csv:FILE or jsonl:FILE"


@click.command("eval")
@click.option("--model", "model_name", help="committed demo model, checkpoint folder, registered config, "
              "or hf:HUB_ID / HF folder")
@click.option("--bundle", "bundle_path", metavar="NAME|FOLDER",
              help="evaluate a model's bundle (its exported artifacts) instead, through the runtime's backends")
@click.option("--artifact", "artifacts", multiple=True, metavar="FILE",
              help="artifact file in --bundle (repeatable); an unnamed tower runs its fp32 artifact of that format")
@click.option("--data", "data", default="demo", show_default=True, help=DATA_HELP)
@click.option("--images", type=click.Path(exists=True, file_okay=False), help="image folder of karpathy/csv data")
@click.option("--split", default="test", show_default=True, help="Karpathy split (train counts restval too)")
@click.option("--test-size", type=click.IntRange(min=10), default=1000, show_default=True,
              help="held-out demo pairs (--data demo)")
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True, help="decoding processes")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def eval_command(model_name: str | None, bundle_path: str | None, artifacts: tuple[str, ...], data: str,
                 images: str | None, split: str, test_size: int, workers: int, as_json: bool) -> None:
    """Recall@1/5/10 both ways by the standard protocol (five captions per image: every caption a
    query; an image hits if any of its captions is in the top K), for a model or exported artifacts.
    On the demo data a model also gets its size and CPU latency per tower.

    Example: pocketclip eval --model hf:openai/clip-vit-base-patch32 --data karpathy:dataset_coco.json
    --images coco/ --split test --json

    Example: pocketclip eval --bundle demo-out/bundle --artifact image_onnx_int8.onnx --json
    """
    needs_torch("eval")
    from pocketclip.models.data.demo_data import load_split
    from pocketclip.models.data.sources import DataError
    from pocketclip.models.eval.evaluate import evaluate
    from pocketclip.models.eval.retrieval import evaluate_bundle, evaluate_source
    from pocketclip.models.towers.checkpoint import load_model
    from pocketclip.runtime.bundle.manifest import BundleError

    if (model_name is None) == (bundle_path is None):
        raise click.UsageError("give --model or --bundle (one of them)")
    if artifacts and not bundle_path:
        raise click.UsageError("--artifact names a file in --bundle")
    if data == "demo" or data.startswith("demo:"):
        test_size = int(data[5:]) if data[5:].isdigit() else test_size
        data = f"demo:{test_size}"
    try:
        if bundle_path:
            from pocketclip.runtime.bundle.home import resolve

            report = evaluate_bundle(str(resolve(bundle_path)), list(artifacts), data, images, split, workers)
        else:
            model = load_model(model_name)
            if data.startswith("demo:"):
                report = evaluate(model, load_split("test", test_size, model.cfg.preprocess))
            else:
                report = evaluate_source(model, data, images, split, workers)
    except (KeyError, OSError, DataError, BundleError, ValueError) as exc:
        raise click.ClickException(one_line(str(exc))) from exc
    click.echo(json.dumps(report, indent=2) if as_json else
               "\n".join(f"{k:>14}: {v}" for k, v in report.items()))


@click.command("train")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="run folder (resumable)")
@click.option("--publish", is_flag=True, help="copy the final model into models/weights/NAME")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True)
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp16", "fp32"]), default="auto", show_default=True,
              help="autocast on GPUs (auto: bf16 where supported, else fp16; fp32 on CPU)")
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True,
              help="data-loader processes per rank (streamed data)")
def train_command(recipe: str, out: Path, publish: bool, device: str, precision: str, workers: int) -> None:
    """Train or distil a model from a recipe; restarting with the same --out resumes.

    For several processes or machines use torchrun (see the README):
    torchrun --nproc_per_node 8 -m pocketclip.models.train RECIPE --out DIR --device cuda

    Example: pocketclip train models/recipes/demo-student.json --out runs/demo-student
    """
    needs_torch("training")
    from pocketclip.models.train.run import main

    main([recipe, "--out", str(out), "--device", device, "--precision", precision, "--workers", str(workers)]
         + (["--publish"] if publish else []))
