"""The table of export targets: one row per format, each exported by a function of one shape.

`export(tower, kind, precision, example, calibration, path) -> dict` (the artifact's I/O signature
and format-specific facts for the manifest). The modules are imported when their target is used:
coremltools and executorch are slow to import and not needed for an ONNX-only bundle.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

# Tensor names every format uses, so the phones look them up in one place (the manifest).
INPUT = {"image": "pixels", "text": "ids"}
OUTPUT = {"image": "image_embeds", "text": "text_embeds"}  # 'embedding' clashes with an ONNX op's name


@dataclass(frozen=True)
class Target:
    fmt: str  # the artifact's suffix and the manifest's `format`
    backend: str  # what the file name says runs it
    precisions: tuple[str, ...]
    module: str
    function: str

    def export(self, *args, **kwargs) -> dict:
        return getattr(importlib.import_module(self.module), self.function)(*args, **kwargs)

    def check(self, precision: str) -> None:
        if precision not in self.precisions:
            raise ValueError(f"{self.fmt} precisions are {', '.join(self.precisions)}, not {precision!r}")


TARGETS = {
    "pte": Target("pte", "xnnpack", ("fp32", "int8"), "pocketclip.exporter.executorch_export", "export_executorch"),
    "onnx": Target("onnx", "onnx", ("fp32", "int8"), "pocketclip.exporter.onnx_export", "export_onnx"),
    "mlpackage": Target("mlpackage", "coreml", ("fp16", "int8", "palettized-6"),
                        "pocketclip.exporter.coreml_export", "export_coreml"),
}


def artifact_name(tower: str, fmt: str, precision: str) -> str:
    return f"{tower}_{TARGETS[fmt].backend}_{precision.replace('-', '')}.{fmt}"
