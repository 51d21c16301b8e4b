"""`pocketclip export`: a model's towers as validated phone artifacts in one bundle (needs torch)."""
from __future__ import annotations

from pathlib import Path

import click

from pocketclip.cli.common import export_quietly, needs_torch


@click.command("export")
@click.option("--model", "model_name", required=True,
              help="committed demo model, checkpoint folder, registered config, or hf:HUB_ID / HF folder")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="bundle folder to write")
@click.option("--formats", default="pte,mlpackage,onnx", show_default=True, help="comma-separated formats")
@click.option("--precisions", default=None, help="comma-separated precisions (default: all of each format)")
@click.option("--gallery", type=click.IntRange(min=10), default=200, show_default=True, help="golden gallery pictures")
@click.option("--pq", "pq", default="auto", show_default=True,
              help="product-quantization codebooks: auto (the 8-bit ones trained for these weights, if "
                   "published), pq4 (the published 4-bit ones: 32 x 16, 16 bytes per photo), none, or a "
                   "codebooks .npy (M, K, dim/M) with K = 16 or 256")
@click.option("--random-weights", is_flag=True,
              help="export a registered architecture untrained (for timing and size only: its search is noise)")
def export_command(model_name: str, out: Path, formats: str, precisions: str | None, gallery: int, pq: str,
                   random_weights: bool) -> None:
    """Export both towers to phone artifacts, validate each, and write one bundle.

    Example: pocketclip export --model demo-student --out /tmp/bundle --formats onnx,pte
    """
    needs_torch("export")
    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.exporter.validate import ExportValidationError
    from pocketclip.models.towers.checkpoint import load_model
    from pocketclip.models.train.pq import codebooks_option

    try:
        model = load_model(model_name)
        if getattr(model, "random_weights", False) and not random_weights:
            raise click.ClickException(
                f"{model_name} is an architecture without trained weights: its bundle would search at random. "
                f"Give a trained checkpoint (a folder, or `pocketclip models pull REPO` for a published model), "
                f"or --random-weights to export it untrained anyway (for timing and size)")
        manifest = export_quietly(export_bundle, model, out, [f.strip() for f in formats.split(",") if f.strip()],
                                 [p.strip() for p in precisions.split(",")] if precisions else None, gallery=gallery,
                                 codebooks=codebooks_option(model, pq))
    except (KeyError, OSError, ValueError, ExportValidationError) as exc:
        raise click.ClickException(str(exc)) from exc
    echo_bundle(manifest)
    click.echo(f"bundle: {out}")


def echo_bundle(manifest: dict) -> None:
    random = " - RANDOM WEIGHTS, its search results are noise" if manifest["model"].get("random_weights") else ""
    click.echo(f"\nbundle of {manifest['model']['name']} ({manifest['model']['fingerprint'][:12]}){random}")
    for entry in manifest["artifacts"]:
        measured = entry.get("measured")
        detail = (f"cosine {measured['cosine_min']:.6f}  top-10 {measured['top10_overlap']:.3f}" if measured
                  else "checked on Mac/iOS (spec checked here)")
        click.echo(f"  {entry['file']:<36} {entry['bytes']:>11,} B  {detail}")
    if "pq" in manifest:
        pq = manifest["pq"]
        click.echo(f"  {pq['file']:<36} {pq['subspaces']} x {pq['codewords']} codewords ({pq['method']}): "
                   f"{pq['bytes_per_photo']} bytes per photo")
