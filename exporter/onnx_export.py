"""ONNX: torch.onnx.export (dynamo) with a dynamic batch; int8 through ONNX Runtime's quantizer.

int8 (both towers): static QDQ (hub/onnx_int8.py), per-channel symmetric int8 weights (MatMul, Conv),
activations calibrated on real demo pictures and captions. The text tower's token table is first rewritten as
int8 rows with per-row scales (token_table.py, the same numbers as the .pte's), where ONNX Runtime's
quantizer would give the whole table one scale. Static, not dynamic:
dynamic quantization derives activation scales from each batch, so a photo's vector would depend
on the photos batched with it (measured 6e-3 apart on CLIP ViT-B/32 text), breaking the design's
batch-vs-singleton bar. PicQuery measured dynamic int8 text at cosine 0.928; the numbers reached
here are in each artifact's manifest entry.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from pocketclip.exporter.targets import INPUT, OUTPUT, TARGETS
from pocketclip.exporter.token_table import quantize_onnx_table
from pocketclip.hub.onnx_int8 import quantize_static_int8


def export_fp32(tower: torch.nn.Module, kind: str, example: torch.Tensor, path: Path) -> Path:
    # Its registry warns once per torchvision op it cannot find; we export no torchvision ops.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    program = torch.onnx.export(
        tower, (example,), dynamo=True, input_names=[INPUT[kind]], output_names=[OUTPUT[kind]],
        dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},), verbose=False)
    program.save(str(path))
    _drop_stack_traces(path)
    return path


def _drop_stack_traces(path: Path) -> None:
    """The exporter records each node's Python stack trace, with this machine's source paths, in the graph:
    an artifact must not carry where it was built (and two machines must export the same bytes)."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        kept = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    onnx.save(model, str(path))


def int8_token_table(fp32_path: Path, path: Path) -> dict:
    """The fp32 text model with its token table as int8 rows (token_table.py); returns the manifest entry."""
    import onnx

    model = onnx.load(str(fp32_path))
    entry = quantize_onnx_table(model, INPUT["text"])
    onnx.save(model, str(path))
    return entry


def quantize_int8(fp32_path: Path, kind: str, calibration: np.ndarray, path: Path) -> dict:
    """Static QDQ int8 of a saved fp32 model; returns what the manifest adds (the text tower's token table)."""
    info = {}
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "text":
            info["token_table"] = int8_token_table(fp32_path, Path(tmp) / "table.onnx")
            fp32_path = Path(tmp) / "table.onnx"
        # Gather only for the image tower (its class-token pick); the text tower's table is int8 already.
        ops = ["MatMul", "Gemm", "Conv"] + (["Gather"] if kind == "image" else [])
        quantize_static_int8(fp32_path, INPUT[kind], calibration, path, ops)
    return info


def export_onnx(tower: torch.nn.Module, kind: str, precision: str, example: torch.Tensor,
                calibration: np.ndarray, path: Path) -> dict:
    """Write one ONNX artifact; returns its I/O signature for the manifest."""
    TARGETS["onnx"].check(precision)
    info = {}
    if precision == "fp32":
        export_fp32(tower, kind, example, path)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = export_fp32(tower, kind, example, Path(tmp) / "fp32.onnx")
            info = quantize_int8(fp32, kind, calibration, path)
    dtype = "float32" if kind == "image" else "int64"
    return {"inputs": [{"name": INPUT[kind], "shape": ["batch", *example.shape[1:]], "dtype": dtype}],
            "outputs": [{"name": OUTPUT[kind], "dtype": "float32"}], **info}
