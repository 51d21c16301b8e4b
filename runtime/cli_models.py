"""Commands that need torch (demo, eval, train, export, models); torch is imported when they run."""
from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.cli_common import needs_torch


# Scenes the default 300-photo demo gallery holds (a different gallery size may lack some).
EXAMPLE_QUERIES = (
    "two black stars at the top",
    "a yellow triangle in the middle, striped navy background",
    "three pink rings at the bottom",
    "two green crosses in the middle",
    "three white rings on the left",
)


@click.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True,
              help="folder for the drawn gallery, the bundle, the store and the contact sheet")
@click.option("--photos", type=int, default=300, show_default=True, help="demo photos to draw")
@click.option("-k", "top_k", type=int, default=5, show_default=True, help="hits per query")
@click.option("--formats", default="pte,mlpackage,onnx", show_default=True,
              help="bundle formats to export (onnx is always included: the demo searches with it)")
def demo(out: Path, photos: int, top_k: int, formats: str) -> None:
    """Draw a demo gallery, export the bundled demo model, index the gallery, search it. Offline.

    Example: pocketclip demo --out /tmp/demo --photos 300
    """
    needs_torch("the demo's export")
    from models.demo_world import draw_gallery
    from runtime.bundle import load_bundle
    from runtime.contact_sheet import contact_sheet
    from runtime.encoders import BundleEncoder
    from runtime.indexer import index_folder
    from runtime.search import VectorIndex
    from runtime.store import bind_bundle, open_store

    draw_gallery(out / "gallery", photos)
    manifest = _demo_bundle(out / "bundle", sorted({"onnx", *filter(None, formats.split(","))}))
    encoder = BundleEncoder(load_bundle(out / "bundle"), "onnx", "fp32")
    db = open_store(out / "index.db")
    bind_bundle(db, encoder.bundle, reindex=True)
    report = index_folder(out / "gallery", db, encoder)
    click.echo(f"indexed {out / 'gallery'}: embedded {report.embedded}, unchanged {report.unchanged}")
    index = VectorIndex(db, encoder.bundle.fingerprint)
    rows = []
    for query, vector in zip(EXAMPLE_QUERIES, encoder.encode_texts(list(EXAMPLE_QUERIES))):
        hits = index.top_k(vector, top_k)
        rows.append((query, [(out / "gallery" / h.path, h.score) for h in hits]))
        click.echo(f"\n{query}")
        for h in hits:
            click.echo(f"  {h.rank}. {out / 'gallery' / h.path}  {h.score:.3f}")
    click.echo(f"\ncontact sheet: {contact_sheet(rows, out / 'hits.png')}")
    _echo_bundle(manifest)
    from runtime.parity import check_bundle, parity_table

    click.echo("\nparity (runtime path vs the fp32 reference):\n" + parity_table(check_bundle(encoder.bundle)))


def _demo_bundle(folder: Path, formats: list[str]) -> dict:
    """The demo student's bundle, exported unless an intact one of the same model is already there."""
    from exporter.bundle_writer import export_bundle
    from models.checkpoint import fingerprint, load_model
    from runtime.bundle import BundleError, load_bundle

    from models.train_pq import published_codebooks

    model = load_model("demo-student")
    codebooks = published_codebooks(model)
    try:
        bundle = load_bundle(folder)
        bundle.verify_all()
        have = {a["format"] for a in bundle.artifacts}
        has_pq = bundle.pq_sha256 is not None or codebooks is None
        if bundle.fingerprint == fingerprint(model) and set(formats) <= have and has_pq:
            return bundle.manifest
    except BundleError:
        pass
    return export_bundle(model, folder, formats, codebooks=codebooks)


def _echo_bundle(manifest: dict) -> None:
    click.echo(f"\nbundle of {manifest['model']['name']} ({manifest['model']['fingerprint'][:12]})")
    for entry in manifest["artifacts"]:
        measured = entry.get("measured")
        detail = (f"cosine {measured['cosine_min']:.6f}  top-10 {measured['top10_overlap']:.3f}" if measured
                  else "checked on Mac/iOS (spec checked here)")
        click.echo(f"  {entry['file']:<36} {entry['bytes']:>11,} B  {detail}")
    if "pq" in manifest:
        pq = manifest["pq"]
        click.echo(f"  {pq['file']:<36} {pq['subspaces']} x {pq['codewords']} codewords ({pq['method']}): "
                   f"{pq['bytes_per_photo']} bytes per photo")


@click.command("eval")
@click.option("--model", "model_name", required=True,
              help="committed demo model, checkpoint folder, registered config, or hf:HUB_ID / HF folder")
@click.option("--test-size", type=int, default=1000, show_default=True, help="held-out demo pairs")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def eval_command(model_name: str, test_size: int, as_json: bool) -> None:
    """Recall@1/5/10 both ways on the held-out demo split, size and CPU latency per tower.

    Example: pocketclip eval --model demo-student --json
    """
    needs_torch("eval")
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


@click.command("train")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="run folder (resumable)")
@click.option("--publish", is_flag=True, help="copy the final model into models/weights/NAME")
def train_command(recipe: str, out: Path, publish: bool) -> None:
    """Train or distil a model from a recipe; restarting with the same --out resumes.

    For several processes use torchrun: torchrun --nproc_per_node 2 -m models.train RECIPE --out DIR

    Example: pocketclip train models/recipes/demo-student.json --out runs/demo-student
    """
    needs_torch("training")
    from models.train import main

    main([recipe, "--out", str(out)] + (["--publish"] if publish else []))


@click.command("export")
@click.option("--model", "model_name", required=True,
              help="committed demo model, checkpoint folder, registered config, or hf:HUB_ID / HF folder")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="bundle folder to write")
@click.option("--formats", default="pte,mlpackage,onnx", show_default=True, help="comma-separated formats")
@click.option("--precisions", default=None, help="comma-separated precisions (default: all of each format)")
@click.option("--gallery", type=int, default=200, show_default=True, help="golden gallery pictures")
@click.option("--pq", "pq", default="auto", show_default=True,
              help="product-quantization codebooks: auto (the ones trained for these weights, if published), "
                   "none, or a codebooks .npy (M, 256, dim/M)")
def export_command(model_name: str, out: Path, formats: str, precisions: str | None, gallery: int, pq: str) -> None:
    """Export both towers to phone artifacts, validate each, and write one bundle.

    Example: pocketclip export --model demo-student --out /tmp/bundle --formats onnx,pte
    """
    needs_torch("export")
    from exporter.bundle_writer import export_bundle
    from exporter.validate import ExportValidationError
    from models.checkpoint import load_model
    from models.train_pq import codebooks_option

    try:
        model = load_model(model_name)
        manifest = export_bundle(model, out, [f.strip() for f in formats.split(",") if f.strip()],
                                 [p.strip() for p in precisions.split(",")] if precisions else None, gallery=gallery,
                                 codebooks=codebooks_option(model, pq))
    except (KeyError, OSError, ValueError, ExportValidationError) as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_bundle(manifest)
    click.echo(f"bundle: {out}")


@click.command("models")
def models_command() -> None:
    """List the registered model configs and the committed trained models.

    Example: pocketclip models
    """
    needs_torch("listing models")
    from models.checkpoint import WEIGHTS_DIR
    from models.configs import list_models

    trained = sorted(p.name for p in WEIGHTS_DIR.glob("*") if (p / "config.json").exists())
    for name in list_models():
        click.echo(f"{name}{'  (trained weights committed)' if name in trained else ''}")
