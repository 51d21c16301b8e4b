"""The bundle a benchmark measures: the one given, or the demo student exported (fp32 ONNX) into a folder."""
from __future__ import annotations

from pathlib import Path

from pocketclip.runtime.bundle.manifest import Bundle, load_bundle


def bundle_for_benchmark(bundle_path: str | None, folder: Path) -> Bundle:
    if bundle_path is None:
        from pocketclip.exporter.bundle_writer import export_bundle
        from pocketclip.models.towers.checkpoint import load_model

        bundle_path = str(folder / "bundle")
        export_bundle(load_model("demo-student"), bundle_path, ["onnx"], ["fp32"], gallery=20, captions=10)
    return load_bundle(bundle_path)
