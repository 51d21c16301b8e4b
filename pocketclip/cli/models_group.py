"""`pocketclip models`: the named models commands use (list, pull, rm, default) and the registered architectures.

`models pull` is the one command of pocketclip that opens a network connection.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import click

from pocketclip.cli.common import ProgressBar, export_quietly, json_option, library_errors, needs_torch


@click.group("models")
def models_group() -> None:
    """The models pocketclip can search with: the demo model it ships with and the ones you pull.

    Example: pocketclip models pull immich-app/ViT-B-32__openai
    """


def _summary(name: str, path: Path, default: str) -> dict:
    from pocketclip.runtime.bundle.home import is_shipped
    from pocketclip.runtime.bundle.manifest import BundleError, load_bundle, size_path

    row = {"name": name, "default": name == default, "folder": str(path)}
    try:
        manifest = load_bundle(path).manifest
    except BundleError as exc:
        return row | {"error": str(exc)}
    source = manifest.get("source", {})
    origin = ("shipped with pocketclip" if is_shipped(path) else
              f"{source['repo']} ({source.get('layout')})" if source.get("kind") == "hub" else "exported here")
    return row | {"source": origin, "revision": source.get("revision"),
                  "bytes": sum(size_path(p) for p in path.iterdir()),
                  "formats": sorted({f"{a['format']}/{a['precision']}" for a in manifest["artifacts"]}),
                  "random_weights": bool(manifest["model"].get("random_weights")),
                  "trained_on": manifest["model"].get("trained_on")}


@models_group.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """Installed models: name, source, revision, size, formats; * marks the default.

    Example: pocketclip models list
    """
    from pocketclip.runtime.bundle.home import default_name, installed

    default = default_name()
    rows = [_summary(name, path, default) for name, path in installed().items()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        if "error" in r:
            click.echo(f"  {r['name']:<28} unusable: {r['error']}")
            continue
        revision = (r["revision"] or "")[:12]
        notes = " RANDOM WEIGHTS" if r["random_weights"] else " (knows only the demo shapes)" \
            if r["trained_on"] == "demo-world" else ""
        click.echo(f"{'*' if r['default'] else ' '} {r['name']:<28} {r['bytes'] / 1e6:8.1f} MB  "
                   f"{','.join(r['formats'])}  {r['source']} {revision}{notes}")


@models_group.command("default")
@click.argument("name")
def default_command(name: str) -> None:
    """Make NAME the model new libraries are indexed with.

    Example: pocketclip models default ViT-B-32__openai
    """
    from pocketclip.runtime.bundle.home import set_default

    with library_errors():
        set_default(name)
    click.echo(f"default model: {name}")


@models_group.command("rm")
@click.argument("name")
def rm_command(name: str) -> None:
    """Delete a pulled model's files (stores indexed with it keep their vectors, but cannot search until it is
    pulled again).

    Example: pocketclip models rm ViT-B-32__openai
    """
    from pocketclip.runtime.bundle.home import remove

    with library_errors():
        path = remove(name)
    click.echo(f"removed {name} ({path})")


@models_group.command("pull")
@click.argument("spec", metavar="REPO[@REVISION]")
@click.option("--name", default=None, help="the name to install it under (default: the repository's name)")
@click.option("--no-int8", is_flag=True, help="keep the fp32 pair only (Immich layout)")
@click.option("--formats", default="pte,mlpackage,onnx", show_default=True,
              help="artifact formats (transformers checkpoints, exported with pocketclip[export])")
@click.option("--precisions", default=None, help="comma-separated precisions (transformers checkpoints)")
def pull_command(spec: str, name: str | None, no_int8: bool, formats: str, precisions: str | None) -> None:
    """Download a model from the Hugging Face hub (HF_ENDPOINT names another) and install it as a named, verified
    bundle. Immich's ONNX pairs need no torch; transformers CLIP checkpoints are exported (pocketclip[export]).
    The only command that uses the network.

    Example: pocketclip models pull immich-app/ViT-B-32__openai
    """
    from pocketclip.hub.download import PullError, download
    from pocketclip.runtime.bundle.home import (DEMO, SHIPPED, check_name, data_home, default_name, models_home,
                                                set_default)

    downloads = data_home() / "downloads"
    with library_errors():
        if name is not None:
            check_name(name)  # before anything is downloaded
        try:
            pulled = download(spec, downloads)
        except PullError as exc:
            raise click.ClickException(str(exc)) from None
        name = check_name(name or pulled.repo.rsplit("/", 1)[-1])
        if (SHIPPED / name).exists():
            raise click.ClickException(f"{name} is the name of a model that ships with pocketclip; give --name")
        out = models_home() / name
        out.parent.mkdir(parents=True, exist_ok=True)
        if pulled.layout == "immich":
            manifest, notes = _immich(pulled, out, name, not no_int8)
        else:
            manifest, notes = _transformers(pulled, out, name, formats, precisions), []
        # the bundle holds the files now (hard links or copies): the download cache of this repo can go
        shutil.rmtree(downloads / ("models--" + pulled.repo.replace("/", "--")), ignore_errors=True)
    for note in notes:
        click.echo(note, err=True)
    click.echo(f"pulled {pulled.repo}@{pulled.revision[:12]} ({pulled.layout} layout) as model {name}: "
               + ", ".join(f"{a['file']} ({a['precision']})" for a in manifest["artifacts"]))
    if default_name() == DEMO:
        set_default(name)
        click.echo(f"{name} is now the default model")
    click.echo(f"search your photos: pocketclip index ~/Pictures --bundle {name}")


def _immich(pulled, out: Path, name: str, int8: bool) -> tuple[dict, list[str]]:
    from pocketclip.hub.download import PullError
    from pocketclip.hub.immich import immich_bundle

    bar = ProgressBar(desc="making the bundle", unit="step")
    try:
        return immich_bundle(pulled, out, name, int8, progress=bar.progress)
    except PullError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        bar.close()


def _transformers(pulled, out: Path, name: str, formats: str, precisions: str | None) -> dict:
    """A transformers CLIP checkpoint through the exporter: every format's artifacts, validated."""
    needs_torch(f"{pulled.repo} is a transformers checkpoint; exporting it")
    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.exporter.validate import ExportValidationError
    from pocketclip.models.towers.checkpoint import load_model

    try:
        model = load_model(str(pulled.folder))
        model.cfg = dataclasses.replace(model.cfg, name=name)
        source = {"kind": "hub", "repo": pulled.repo, "revision": pulled.revision, "layout": "transformers",
                  "files": pulled.files}
        return export_quietly(export_bundle, model, out, [f.strip() for f in formats.split(",") if f.strip()],
                              [p.strip() for p in precisions.split(",")] if precisions else None, source=source)
    except (KeyError, OSError, ValueError, ExportValidationError) as exc:
        raise click.ClickException(f"{pulled.repo}: {exc}") from None


@models_group.command("architectures")
def architectures_command() -> None:
    """The registered model configs (training and `export --random-weights`) and the committed trained models.

    Example: pocketclip models architectures
    """
    needs_torch("listing architectures")
    from pocketclip.models.towers.checkpoint import WEIGHTS_DIR
    from pocketclip.models.towers.configs import list_models

    trained = sorted(p.name for p in WEIGHTS_DIR.glob("*") if (p / "config.json").exists())
    for name in list_models():
        click.echo(f"{name}{'  (trained weights committed)' if name in trained else ''}")
