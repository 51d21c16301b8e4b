"""The `pocketclip` command: a thin layer over the library.

Commands that need torch (training, evaluation, the eager demo model) import `models` only when
they run, so the runtime's own commands work where torch is not installed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _needs_torch(what: str):
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(f"{what} needs torch: pip install 'pocketclip[models]'") from exc


@click.group()
@click.version_option(package_name="pocketclip")
def cli() -> None:
    """On-device text-to-image photo search.

    Example: pocketclip demo
    """


@cli.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True,
              help="folder for the drawn gallery, the contact sheet and the bundle")
@click.option("--photos", type=int, default=300, show_default=True, help="demo photos to draw")
@click.option("-k", "top_k", type=int, default=5, show_default=True, help="hits per query")
@click.option("--formats", default="pte,mlpackage,onnx", show_default=True,
              help="bundle formats to export ('' to skip the export)")
def demo(out: Path, photos: int, top_k: int, formats: str) -> None:
    """Draw a demo gallery, search it with the bundled demo model, export it for phones. Offline.

    Example: pocketclip demo --out /tmp/demo --photos 300
    """
    _needs_torch("the demo")
    from models.demo import run_demo

    rows, sheet = run_demo(out, photos, top_k)
    for query, hits in rows:
        click.echo(f"\n{query}")
        for rank, (path, score) in enumerate(hits, 1):
            click.echo(f"  {rank}. {path}  {score:.3f}")
    click.echo(f"\ncontact sheet: {sheet}")
    if formats:
        _echo_bundle(_demo_bundle(out / "bundle", formats.split(",")))


def _demo_bundle(folder: Path, formats: list[str]) -> dict:
    """The demo student's bundle, exported unless an intact one of the same model is already there."""
    from exporter.bundle_writer import export_bundle
    from models.checkpoint import fingerprint, load_model
    from runtime.bundle import BundleError, load_bundle

    model = load_model("demo-student")
    try:
        bundle = load_bundle(folder)
        bundle.verify_all()
        have = {a["format"] for a in bundle.artifacts}
        if bundle.fingerprint == fingerprint(model) and set(formats) <= have:
            return bundle.manifest
    except BundleError:
        pass
    return export_bundle(model, folder, formats)


def _echo_bundle(manifest: dict) -> None:
    click.echo(f"\nbundle of {manifest['model']['name']} ({manifest['model']['fingerprint'][:12]})")
    for entry in manifest["artifacts"]:
        measured = entry.get("measured")
        detail = (f"cosine {measured['cosine_min']:.6f}  top-10 {measured['top10_overlap']:.3f}" if measured
                  else "checked on Mac/iOS (spec checked here)")
        click.echo(f"  {entry['file']:<36} {entry['bytes']:>11,} B  {detail}")


@cli.command("eval")
@click.option("--model", "model_name", required=True,
              help="committed demo model, checkpoint folder, registered config, or hf:HUB_ID / HF folder")
@click.option("--test-size", type=int, default=1000, show_default=True, help="held-out demo pairs")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def eval_command(model_name: str, test_size: int, as_json: bool) -> None:
    """Recall@1/5/10 both ways on the held-out demo split, size and CPU latency per tower.

    Example: pocketclip eval --model demo-student --json
    """
    _needs_torch("eval")
    from models.checkpoint import load_model
    from models.demo_data import load_split
    from models.evaluate import evaluate

    try:
        model = load_model(model_name)
    except (KeyError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    report = evaluate(model, load_split("test", test_size, model.cfg.preprocess))
    click.echo(json.dumps(report, indent=2) if as_json else
               "\n".join(f"{k:>14}: {v}" for k, v in report.items()))


@cli.command("train")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="run folder (resumable)")
@click.option("--publish", is_flag=True, help="copy the final model into models/weights/NAME")
def train_command(recipe: str, out: Path, publish: bool) -> None:
    """Train or distil a model from a recipe; restarting with the same --out resumes.

    For several processes use torchrun: torchrun --nproc_per_node 2 -m models.train RECIPE --out DIR

    Example: pocketclip train models/recipes/demo-student.json --out runs/demo-student
    """
    _needs_torch("training")
    from models.train import main

    main([recipe, "--out", str(out)] + (["--publish"] if publish else []))


@cli.command("export")
@click.option("--model", "model_name", required=True,
              help="committed demo model, checkpoint folder, registered config, or hf:HUB_ID / HF folder")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="bundle folder to write")
@click.option("--formats", default="pte,mlpackage,onnx", show_default=True, help="comma-separated formats")
@click.option("--precisions", default=None, help="comma-separated precisions (default: all of each format)")
@click.option("--gallery", type=int, default=200, show_default=True, help="golden gallery pictures")
def export_command(model_name: str, out: Path, formats: str, precisions: str | None, gallery: int) -> None:
    """Export both towers to phone artifacts, validate each, and write one bundle.

    Example: pocketclip export --model demo-student --out /tmp/bundle --formats onnx,pte
    """
    _needs_torch("export")
    from exporter.bundle_writer import export_bundle
    from exporter.validate import ExportValidationError
    from models.checkpoint import load_model

    try:
        model = load_model(model_name)
        manifest = export_bundle(model, out, [f.strip() for f in formats.split(",") if f.strip()],
                                 [p.strip() for p in precisions.split(",")] if precisions else None, gallery=gallery)
    except (KeyError, OSError, ValueError, ExportValidationError) as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_bundle(manifest)
    click.echo(f"bundle: {out}")


@cli.command("models")
def models_command() -> None:
    """List the registered model configs and the committed trained models.

    Example: pocketclip models
    """
    _needs_torch("listing models")
    from models.checkpoint import WEIGHTS_DIR
    from models.configs import list_models

    trained = sorted(p.name for p in WEIGHTS_DIR.glob("*") if (p / "config.json").exists())
    for name in list_models():
        click.echo(f"{name}{'  (trained weights committed)' if name in trained else ''}")


if __name__ == "__main__":
    sys.exit(cli())
