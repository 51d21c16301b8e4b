"""The photo library commands: index a folder, search it, report on the store. Torch-free."""
from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.cli_common import db_option, open_encoder
from runtime.pq_index import EXACT_BELOW, MODES


@click.command("index")
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

    from runtime.indexer import index_folder
    from runtime.store import StoreError, bind_bundle, open_store

    encoder = open_encoder(bundle_path, backend, precision)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = open_store(db_path)
        bind_bundle(db, encoder.bundle, reindex)
        report = index_folder(folder, db, encoder, batch_size=batch_size, draft=not no_draft, progress=not silent)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"embedded {report.embedded}, unchanged {report.unchanged}, moved {report.moved}, "
               f"touched {report.touched}, errors {report.errors}, deleted {report.deleted}, "
               f"failed before {report.skipped_errors}")


@click.command("search")
@click.argument("query", required=False)
@click.option("--image", "image_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="search by a photo instead of text")
@db_option
@click.option("-k", "top_k", type=int, default=10, show_default=True)
@click.option("--relative", type=float, default=None, help="keep hits scoring >= this share of the best")
@click.option("--mode", type=click.Choice(MODES), default="auto", show_default=True,
              help=f"auto: exact below {EXACT_BELOW:,} photos, pq+rerank from there on; pq: PQ codes only "
                   "(approximate scores); pq+rerank: PQ for --candidates, then exact scores")
@click.option("--candidates", type=int, default=1000, show_default=True, help="pq+rerank: how many to re-rank")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--sheet", type=click.Path(path_type=Path), default=None, help="write the hits as a PNG")
def search_command(query: str | None, image_path: Path | None, db_path: Path, top_k: int, relative: float | None,
                   mode: str, candidates: int, as_json: bool, sheet: Path | None) -> None:
    """Search the store by text or by photo; one hit per line (path, score), best first.

    Example: pocketclip search "two red circles on the left" -k 5 --sheet hits.png
    """
    from runtime.photos import DecodeError, load_photo
    from runtime.pq_index import open_index
    from runtime.store import StoreError, get_meta, open_store

    if (query is None) == (image_path is None):
        raise click.UsageError("give a text query or --image PHOTO (one of them)")
    if not db_path.exists():
        raise click.ClickException(f"no store at {db_path}; run `pocketclip index FOLDER --bundle B` first")
    db = open_store(db_path)
    meta = get_meta(db)
    if "bundle" not in meta or "model_fingerprint" not in meta:
        raise click.ClickException(f"{db_path} has no photos indexed yet; run `pocketclip index FOLDER --bundle B`")
    encoder = open_encoder(meta["bundle"], meta.get("backend", "onnx"), meta.get("precision", "fp32"))
    if image_path is not None:
        try:
            pixels, _, _ = load_photo(image_path, encoder.bundle.preprocess)
        except DecodeError as exc:
            raise click.ClickException(f"{image_path}: {exc}") from exc
        vector = encoder.encode_pixels(pixels[None])[0]
    else:
        vector = encoder.encode_texts([query])[0]
    try:
        used, index = open_index(db, encoder.bundle, mode)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if used == "exact":
        hits = index.top_k(vector, top_k, relative)
    else:
        hits = index.top_k(vector, top_k, candidates if used == "pq+rerank" else None, relative)
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


@click.command("status")
@db_option
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status_command(db_path: Path, as_json: bool) -> None:
    """Counts of ok / error / deleted photos and of PQ codes, the model fingerprint and the store's size.

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
              "root": get_meta(db).get("root"),
              "pq_codes": db.execute("SELECT count(*) FROM embeddings WHERE pq_code IS NOT NULL").fetchone()[0],
              "pq_codebooks_sha256": get_meta(db).get("pq_codebooks_sha256")}
    click.echo(json.dumps(report, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in report.items()))
