"""The `pocketclip` command: a thin layer over the library.

Commands that need torch (training, evaluation, the eager demo model) import `models` only when
they run, so the runtime's own commands work where torch is not installed.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

# One photo library per user by default, like a phone's gallery; --db picks another.
DEFAULT_DB = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "pocketclip" / "index.db"
db_option = click.option("--db", "db_path", type=click.Path(path_type=Path), default=DEFAULT_DB,
                         show_default=True, help="the SQLite store")


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


EXAMPLE_QUERIES = (
    "two red circles on the left",
    "a large yellow star in the middle",
    "three small blue triangles at the bottom",
    "a green square on a striped background",
    "a white ring on a black background",
)


@cli.command("demo")
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
    _needs_torch("the demo's export")
    from models.demo_world import draw_gallery
    from runtime.bundle import load_bundle
    from runtime.contact_sheet import contact_sheet
    from runtime.encoders import BundleEncoder
    from runtime.indexer import index_folder
    from runtime.search import VectorIndex
    from runtime.store import bind_model, open_store

    draw_gallery(out / "gallery", photos)
    manifest = _demo_bundle(out / "bundle", sorted({"onnx", *filter(None, formats.split(","))}))
    encoder = BundleEncoder(load_bundle(out / "bundle"), "onnx", "fp32")
    db = open_store(out / "index.db")
    bind_model(db, encoder.bundle.fingerprint, manifest["model"]["embed_dim"], "demo", reindex=True)
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


def _encoder(bundle_path: str, backend: str, precision: str):
    from runtime.bundle import BundleError, load_bundle
    from runtime.encoders import BundleEncoder

    try:
        return BundleEncoder(load_bundle(bundle_path), backend, precision)
    except (BundleError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command("index")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--bundle", "bundle_path", required=True, type=click.Path(exists=True, file_okay=False),
              help="bundle folder written by `pocketclip export`")
@db_option
@click.option("--backend", type=click.Choice(["onnx", "pte", "torch"]), default="onnx", show_default=True,
              help="torch: the PyTorch reference (needs pocketclip[models])")
@click.option("--precision", type=click.Choice(["fp32", "int8"]), default="fp32", show_default=True)
@click.option("--reindex", is_flag=True, help="drop vectors of another model and embed every photo again")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--no-draft", is_flag=True, help="decode JPEGs at full size (slower, for comparison)")
@click.option("--silent", is_flag=True, help="no progress bar")
def index_command(folder: Path, bundle_path: str, db_path: Path, backend: str, precision: str, reindex: bool,
                  batch_size: int, no_draft: bool, silent: bool) -> None:
    """Index a photo folder into the store: new, changed, moved and deleted photos; resumable.

    Example: pocketclip index ~/Pictures --bundle demo-out/bundle
    """
    import hashlib

    from runtime.indexer import index_folder
    from runtime.store import StoreError, bind_model, get_meta, open_store

    encoder = _encoder(bundle_path, backend, precision)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    root = str(folder.resolve())
    try:
        db = open_store(db_path)
        meta = get_meta(db)
        if meta.get("root") and meta["root"] != root:
            raise StoreError(f"{db_path} indexes {meta['root']}; use another --db for {root}")
        manifest = encoder.bundle.manifest
        preprocess_sha = hashlib.sha256(json.dumps(manifest["preprocess"], sort_keys=True).encode()).hexdigest()
        bind_model(db, manifest["model"]["fingerprint"], manifest["model"]["embed_dim"], preprocess_sha, reindex)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    for key, value in (("root", root), ("bundle", str(Path(bundle_path).resolve())), ("backend", backend),
                       ("precision", precision)):
        db["meta"].insert({"key": key, "value": value}, replace=True)
    report = index_folder(folder, db, encoder, batch_size=batch_size, draft=not no_draft, progress=not silent)
    click.echo(f"embedded {report.embedded}, unchanged {report.unchanged}, moved {report.moved}, "
               f"touched {report.touched}, errors {report.errors}, deleted {report.deleted}, "
               f"failed before {report.skipped_errors}")


@cli.command("search")
@click.argument("query", required=False)
@click.option("--image", "image_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="search by a photo instead of text")
@db_option
@click.option("-k", "top_k", type=int, default=10, show_default=True)
@click.option("--relative", type=float, default=None, help="keep hits scoring >= this share of the best")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--sheet", type=click.Path(path_type=Path), default=None, help="write the hits as a PNG")
def search_command(query: str | None, image_path: Path | None, db_path: Path, top_k: int, relative: float | None,
                   as_json: bool, sheet: Path | None) -> None:
    """Search the store by text or by photo; one hit per line (path, score), best first.

    Example: pocketclip search "two red circles on the left" -k 5 --sheet hits.png
    """
    from runtime.photos import DecodeError, load_photo
    from runtime.search import VectorIndex
    from runtime.store import get_meta, open_store

    if (query is None) == (image_path is None):
        raise click.UsageError("give a text query or --image PHOTO (one of them)")
    if not db_path.exists():
        raise click.ClickException(f"no store at {db_path}; run `pocketclip index FOLDER --bundle B` first")
    db = open_store(db_path)
    meta = get_meta(db)
    encoder = _encoder(meta["bundle"], meta.get("backend", "onnx"), meta.get("precision", "fp32"))
    if image_path is not None:
        try:
            pixels, _, _ = load_photo(image_path, encoder.bundle.preprocess)
        except DecodeError as exc:
            raise click.ClickException(f"{image_path}: {exc}") from exc
        vector = encoder.encode_pixels(pixels[None])[0]
    else:
        vector = encoder.encode_texts([query])[0]
    hits = VectorIndex(db, meta["model_fingerprint"]).top_k(vector, top_k, relative)
    root = Path(meta["root"])
    if as_json:
        click.echo(json.dumps([{"rank": h.rank, "path": str(root / h.path), "score": round(h.score, 6)}
                               for h in hits], indent=2))
    else:
        for h in hits:
            click.echo(f"{root / h.path}\t{h.score:.4f}")
    if sheet is not None:
        from runtime.contact_sheet import contact_sheet

        contact_sheet([(query or str(image_path), [(root / h.path, h.score) for h in hits])], sheet)
        click.echo(f"contact sheet: {sheet}", err=True)


@cli.command("status")
@db_option
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status_command(db_path: Path, as_json: bool) -> None:
    """Counts of ok / error / deleted photos, the model fingerprint and the store's size.

    Example: pocketclip status --json
    """
    from runtime.store import get_meta, open_store

    if not db_path.exists():
        raise click.ClickException(f"no store at {db_path}")
    db = open_store(db_path)
    counts = {status: n for status, n in db.execute("SELECT status, count(*) FROM photos GROUP BY status")}
    files = [db_path, Path(f"{db_path}-wal")]
    report = {"ok": counts.get("ok", 0), "error": counts.get("error", 0), "deleted": counts.get("deleted", 0),
              "fingerprint": get_meta(db).get("model_fingerprint"), "bytes": sum(f.stat().st_size for f in files
                                                                                if f.exists()),
              "root": get_meta(db).get("root")}
    click.echo(json.dumps(report, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in report.items()))


@cli.command("parity")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def parity_command(bundle_path: str, as_json: bool) -> None:
    """Check every runnable artifact, the tokenizer and preprocessing against the golden contract.

    Exits 1 when any bar of the design's table is missed, naming the bar and by how much.

    Example: pocketclip parity demo-out/bundle
    """
    from runtime.bundle import BundleError, load_bundle
    from runtime.parity import check_bundle, parity_table

    try:
        report = check_bundle(load_bundle(bundle_path))
    except BundleError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else parity_table(report))
    if not report.passed:
        sys.exit(1)


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
