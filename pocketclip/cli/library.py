"""The photo library commands: index a folder, search it, report on the store. Torch-free
(unless `--backend torch` asks for the PyTorch reference)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import click

from pocketclip.cli.common import (ProgressBar, bundle_option, db_option, json_option, library_errors, model_notes,
                                   one_line, torch_reference)
from pocketclip.cli.filter_options import filter_options, make_filters
from pocketclip.runtime.search.pq_index import MODES


@click.command("index")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@bundle_option("model name or bundle folder (default: the default model, see `pocketclip models list`)")
@db_option
@click.option("--backend", type=click.Choice(["onnx", "pte", "torch"]), default="onnx", show_default=True,
              help="torch: the PyTorch reference (needs pocketclip[models])")
@click.option("--precision", type=click.Choice(["fp32", "int8"]), default="fp32", show_default=True)
@click.option("--reindex", is_flag=True, help="drop vectors of another model and embed every photo again")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--no-draft", is_flag=True, help="decode JPEGs at full size (slower, for comparison)")
@click.option("--allow-empty", is_flag=True,
              help="index a folder that is empty or has lost all or most of its photos (they are marked deleted)")
@click.option("--retry-errors", is_flag=True, help="try the photos that failed before again")
@click.option("--silent", is_flag=True, help="no progress bar")
@json_option
def index_command(folder: Path, bundle: str | None, db_path: Path, backend: str, precision: str, reindex: bool,
                  batch_size: int, no_draft: bool, allow_empty: bool, retry_errors: bool, silent: bool,
                  as_json: bool) -> None:
    """Index a photo folder into the store: new, changed, moved and deleted photos; resumable.

    Example: pocketclip index ~/Pictures --bundle ViT-B-32__openai
    """
    from pocketclip.runtime.indexing.indexer import IndexReport
    from pocketclip.runtime.library import Library

    with library_errors():
        library = Library.create(db_path, folder, bundle, backend, precision, reindex, torch_reference)
        model_notes(library.bundle)
        live = IndexReport()
        bar = ProgressBar(silent, report=live)
        start = time.perf_counter()
        try:
            report = library.index(batch_size=batch_size, draft=not no_draft, progress=bar.progress, log=bar.log,
                                   allow_empty=allow_empty, retry_errors=retry_errors, report=live)
        finally:
            bar.close()
            library.close()
    if as_json:
        click.echo(json.dumps(asdict(report) | {"seconds": round(time.perf_counter() - start, 3)}, indent=2))
    else:
        _echo_summary(report)
    if report.withheld:
        click.echo(f"{report.withheld} photos are gone from {folder}, more than half of the library: none was marked "
                   "deleted (a disk not mounted?); run again with --allow-empty if they were deleted", err=True)


def _echo_summary(report) -> None:
    click.echo(f"embedded {report.embedded}, unchanged {report.unchanged}, moved {report.moved}, "
               f"touched {report.touched}, restored {report.restored}, errors {report.errors}, "
               f"deleted {report.deleted}, failed before {report.skipped_errors}, not photos {report.skipped_files}"
               + (f", folders not listed {len(report.unlisted_folders)}" if report.unlisted_folders else "")
               + (f", tombstones purged {report.purged}" if report.purged else "")
               + (f", dates and places read {report.facts_filled}" if report.facts_filled else ""))


def _finite(value: float | None) -> float | None:
    if value is not None and value != value:  # NaN passes every range comparison
        raise click.BadParameter("NaN is not a share of the best score")
    return value


@click.command("search")
@click.argument("query", required=False)
@click.option("--image", "image_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="search by a photo instead of text")
@db_option
@bundle_option("model name or bundle folder to embed the query with (default: the store's)")
@click.option("-k", "top_k", type=click.IntRange(min=1), default=None,
              help="hits to show (default: the bundle's default_k)")
@click.option("--relative", type=click.FloatRange(0, 1), default=None, callback=lambda ctx, param, value:
              _finite(value), help="keep hits scoring >= this share of the best")
@click.option("--mode", type=click.Choice(MODES), default="auto", show_default=True,
              help="auto: exact below the bundle's exact_below_photos, pq+rerank from there on; pq: PQ codes "
                   "only (approximate scores); pq+rerank: PQ for --candidates, then exact scores")
@click.option("--candidates", type=click.IntRange(min=1), default=None,
              help="pq+rerank: how many to re-rank (default: the bundle's rerank_candidates)")
@filter_options
@json_option
@click.option("--sheet", type=click.Path(path_type=Path), default=None, help="write the hits as a PNG")
def search_command(query: str | None, image_path: Path | None, db_path: Path, bundle: str | None,
                   top_k: int | None, relative: float | None, mode: str, candidates: int | None, as_json: bool,
                   sheet: Path | None, **limits) -> None:
    """Search the store by text or by photo; one hit per line (path, score, date taken, place), best first.
    Queries add and subtract (rclip's syntax): "beach + sunset - people", weights "2:beach + sunset", photos
    "beach + ./me.jpg". Filters limit any query; filters without a query list the newest photos they select.

    Example: pocketclip search "two red circles on the left" -k 5 --sheet hits.png
    Example: pocketclip search beach --after 2024-06 --before 2024-08 --place Portugal
    """
    from pocketclip.runtime.library import Library

    filters = make_filters(limits)
    if query is not None and image_path is not None or (query is None and image_path is None and not filters):
        raise click.UsageError("give a text query or --image PHOTO (one of them), or filters alone")
    if sheet is not None and sheet.is_dir():
        raise click.BadParameter(f"{sheet} is a folder; give a file name, e.g. {sheet / 'hits.png'}",
                                 param_hint="--sheet")
    with library_errors():
        library = Library.open(db_path, bundle, mode=mode, candidates=candidates,
                               reference=torch_reference)
        model_notes(library.bundle)
        if image_path is not None:
            hits = library.search_image(image_path, top_k, relative, filters)
        else:
            hits = library.search_query(query or "", top_k, relative, filters=filters)
        facts = library.hit_facts(hits)
    if as_json:
        click.echo(json.dumps([h.to_json(str(library.file(h))) | facts.get(h.id, {}) for h in hits], indent=2))
    else:
        for h in hits:
            about = facts.get(h.id, {})
            click.echo("\t".join([one_line(str(library.file(h))), "" if h.score is None else f"{h.score:.4f}",
                                  about.get("taken_at") or "", one_line(about.get("place") or "")]).rstrip("\t"))
    if sheet is not None:
        from pocketclip.cli.contact_sheet import contact_sheet

        with library_errors():
            contact_sheet([(query or str(image_path or "filters"), [(library.file(h), h.score or 0.0) for h in hits])],
                          sheet)
        click.echo(f"contact sheet: {sheet}", err=True)


@click.command("status")
@db_option
@json_option
def status_command(db_path: Path, as_json: bool) -> None:
    """Counts of ok / error / deleted photos and of PQ codes, the model fingerprint and the store's size.

    Example: pocketclip status --json
    """
    from pocketclip.runtime.library import library_status

    with library_errors():
        report = library_status(db_path)
    click.echo(json.dumps(report, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in report.items()))


@click.command("duplicates")
@db_option
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="cosine at which two photos are near-duplicates (default: the model's)")
@json_option
def duplicates_command(db_path: Path, threshold: float | None, as_json: bool) -> None:
    """Groups of exact copies and near-duplicates (resized, re-encoded, cropped a little, lightly edited),
    biggest first; each photo with its cosine to the group's first.

    Example: pocketclip duplicates --json
    """
    from pocketclip.runtime.library import Library

    with library_errors():
        library = Library.open(db_path, reference=torch_reference)
        groups, paths = library.duplicates(_finite(threshold))
    if as_json:
        click.echo(json.dumps([g.to_json(paths) for g in groups], indent=2))
        return
    for group in groups:
        click.echo(f"{group.kind}, {len(group.ids)} photos:")
        for photo_id, score in zip(group.ids, group.scores):
            click.echo(f"  {one_line(str(library.root / paths[photo_id]))}\t{score:.4f}")
    click.echo(f"{len(groups)} groups, {sum(len(g.ids) - 1 for g in groups)} photos beyond the first of each", err=True)
