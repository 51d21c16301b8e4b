"""`pocketclip demo`: index and search a gallery it draws with the demo model that ships with pocketclip, offline."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from pocketclip.cli.common import REAL_MODEL, ProgressBar, export_quietly, needs_torch
from pocketclip.cli.export import echo_bundle

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
              help="folder for the drawn gallery, the store and the contact sheet (and an exported bundle)")
@click.option("--photos", type=click.IntRange(min=1), default=300, show_default=True, help="demo photos to draw")
@click.option("-k", "top_k", type=click.IntRange(min=1), default=5, show_default=True, help="hits per query")
@click.option("--formats", default="onnx", show_default=True,
              help="onnx: the demo bundle that ships with pocketclip; adding pte or mlpackage exports the demo "
                   "model again with them (needs pocketclip[export])")
def demo(out: Path, photos: int, top_k: int, formats: str) -> None:
    """Draw a demo gallery, index it with the demo model, search it. Offline, no torch needed.

    Example: pocketclip demo --out /tmp/demo --photos 300
    """
    from pocketclip.cli.contact_sheet import contact_sheet
    from pocketclip.models.data.demo_world import draw_gallery
    from pocketclip.runtime.bundle.home import DEMO, resolve
    from pocketclip.runtime.bundle.manifest import load_bundle
    from pocketclip.runtime.bundle.quiet import dependency_output_hidden
    from pocketclip.runtime.library import Library
    from pocketclip.runtime.parity.bundle_parity import check_bundle, parity_table

    wanted = sorted({"onnx", *filter(None, (f.strip() for f in formats.split(",")))})
    draw_gallery(out / "gallery", photos)
    if wanted == ["onnx"]:
        bundle = load_bundle(resolve(DEMO))
    else:
        needs_torch("exporting the demo model to " + ", ".join(f for f in wanted if f != "onnx"))
        bundle = load_bundle(_export_demo(out / "bundle", wanted))
    library = Library.create(out / "index.db", out / "gallery", bundle, reindex=True)
    bar = ProgressBar()
    report = library.index(progress=bar.progress, log=bar.log)
    bar.close()
    click.echo(f"indexed {out / 'gallery'}: embedded {report.embedded}, unchanged {report.unchanged}")
    rows = []
    for query in EXAMPLE_QUERIES:
        hits = library.search_text(query, top_k)
        rows.append((query, [(library.file(h), h.score) for h in hits]))
        click.echo(f"\n{query}")
        for h in hits:
            click.echo(f"  {h.rank}. {library.file(h)}  {h.score:.3f}")
    library.close()  # the writer lock goes with it
    click.echo(f"\ncontact sheet: {contact_sheet(rows, out / 'hits.png')}")
    echo_bundle(bundle.manifest)
    with dependency_output_hidden():  # ExecuTorch's runtime prints cpuinfo lines from C++ when it loads
        parity = check_bundle(bundle)
    click.echo("\nparity (runtime path vs the fp32 reference):\n" + parity_table(parity))
    click.echo(f"\nbrowse and search the demo gallery in a web page:\n  {_program()} serve --db {out / 'index.db'}")
    click.echo(f"search your own photos with a real model:\n  {_program()} models pull {REAL_MODEL}\n"
               f"  {_program()} index ~/Pictures")


def _program() -> str:
    """How to call pocketclip from here: by name when it is on PATH, else the venv's script (`make demo`)."""
    if shutil.which("pocketclip"):
        return "pocketclip"
    script = Path(sys.executable).with_name("pocketclip")
    return os.path.relpath(script) if script.exists() else f"{sys.executable} -m pocketclip.cli"


def _export_demo(folder: Path, formats: list[str]) -> Path:
    """The demo student's bundle in `formats`, exported unless an intact one of the same model is already there."""
    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.models.towers.checkpoint import fingerprint, load_model
    from pocketclip.models.train.pq import published_codebooks
    from pocketclip.runtime.bundle.manifest import BundleError, load_bundle

    model = load_model("demo-student")
    codebooks = published_codebooks(model)
    try:
        bundle = load_bundle(folder)
        bundle.verify_all()
        have = {a["format"] for a in bundle.artifacts}
        has_pq = bundle.pq_sha256 is not None or codebooks is None
        if bundle.fingerprint == fingerprint(model) and set(formats) <= have and has_pq:
            return folder
    except BundleError:
        pass
    export_quietly(export_bundle, model, folder, formats, codebooks=codebooks)
    return folder
