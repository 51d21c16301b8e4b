"""Export the real shapes (CLIP ViT-B/32 teacher, the paper's students) with random weights.

    python -m benchmarks.export_shapes [--models clip-vit-b32,student-vit-s16+student-text-4l]
        [--formats onnx,pte,mlpackage] [--gallery 200] [--json]

Random weights prove that the shapes and ops export, lower and run; every runnable artifact is
measured against the eager model on the golden inputs as in a real export. The bars are reported
rather than enforced: a randomly initialised network maps all pictures to nearly the same
direction, so its top-10 rankings hinge on tiny differences and say nothing about quantization.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from pocketclip.exporter.bundle_writer import measure, plan
from pocketclip.exporter.golden import calibration_inputs, write_golden
from pocketclip.exporter.targets import TARGETS, artifact_name
from pocketclip.models.towers.checkpoint import load_model
from pocketclip.runtime.bundle.backends import RUNNABLE_FORMATS
from pocketclip.runtime.bundle.manifest import size_path
from pocketclip.runtime.parity.quality import bar_for


def export_shapes(name: str, formats: list[str], gallery: int) -> list[dict]:
    torch.manual_seed(0)
    model = load_model(name)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        golden = write_golden(model, folder / "golden", gallery=gallery, captions=max(10, gallery // 4))
        calib = calibration_inputs(model, count=16)
        for fmt, precision in plan(formats, None):
            for kind in ("image", "text"):
                tower = model.image if kind == "image" else model.text
                example = torch.from_numpy((golden.pixels if kind == "image" else golden.ids)[:1])
                path = folder / artifact_name(kind, fmt, precision)
                start = time.perf_counter()
                TARGETS[fmt].export(tower, kind, precision, example, calib[0 if kind == "image" else 1], path)
                row = {"model": name, "file": path.name, "bytes": size_path(path),
                       "export_s": round(time.perf_counter() - start, 1)}
                if fmt in RUNNABLE_FORMATS:
                    row["measured"] = measure(path, fmt, kind, golden, 1 if fmt == "pte" else None)
                    bar = bar_for(precision, kind)
                    row["meets_cosine_bar"] = row["measured"]["cosine_min"] >= bar["cosine_min"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="clip-vit-b32,student-vit-s16+student-text-4l")
    parser.add_argument("--formats", default="onnx,pte,mlpackage")
    parser.add_argument("--gallery", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="end with one JSON document of all rows")
    args = parser.parse_args()
    rows = [r for name in args.models.split(",") for r in export_shapes(name, args.formats.split(","), args.gallery)]
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
