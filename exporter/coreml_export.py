"""CoreML: torch.export -> coremltools ML program (.mlpackage), fp16 compute, weight-compressed variants.

CoreML cannot execute on Linux: what is checked here is what Linux can check (the saved package
reloads, its spec's input/output names, shapes and dtypes, the MIL op list, the sizes). The numbers
are checked on a Mac or a phone by the iOS app's tests against the bundle's golden files, and the
manifest says so (`validated_on`).
"""
from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import torch

from pocketclip.exporter.targets import INPUT, OUTPUT, TARGETS


class _Int32Ids(torch.nn.Module):
    """CoreML's integer tensors are int32; the text tower indexes with int64."""

    def __init__(self, text: torch.nn.Module):
        super().__init__()
        self.text = text

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.text(ids.to(torch.int64))


def _convert(tower: torch.nn.Module, kind: str, example: torch.Tensor, max_batch: int):
    import coremltools as ct

    if kind == "image":
        batch = torch.export.Dim("batch", min=1, max=max_batch)
        program = torch.export.export(tower, (example.repeat(2, 1, 1, 1),), dynamic_shapes=({0: batch},))
        shape = (ct.RangeDim(1, max_batch, default=1), *example.shape[1:])
        inputs = [ct.TensorType(name=INPUT[kind], shape=shape, dtype=np.float32)]
    else:
        program = torch.export.export(_Int32Ids(tower), (example.to(torch.int32),))
        inputs = [ct.TensorType(name=INPUT[kind], shape=tuple(example.shape), dtype=np.int32)]
    return ct.convert(program.run_decompositions(), inputs=inputs,
                      outputs=[ct.TensorType(name=OUTPUT[kind], dtype=np.float32)],
                      convert_to="mlprogram", compute_precision=ct.precision.FLOAT16,
                      minimum_deployment_target=ct.target.iOS17)


def _compress(model, precision: str):
    from coremltools.optimize.coreml import (OpLinearQuantizerConfig, OpPalettizerConfig, OptimizationConfig,
                                             linear_quantize_weights, palettize_weights)

    if precision == "int8":
        return linear_quantize_weights(model, OptimizationConfig(
            global_config=OpLinearQuantizerConfig(mode="linear_symmetric", granularity="per_channel")))
    bits = int(precision.split("-")[1])
    return palettize_weights(model, OptimizationConfig(
        global_config=OpPalettizerConfig(nbits=bits, mode="kmeans"),
        op_name_configs={name: None for name in _non_finite_consts(model)}))


def _non_finite_consts(model) -> list[str]:
    """Constants holding -inf (the folded attention mask): k-means cannot cluster them, nor should it."""
    names = []
    for function in model._mil_program.functions.values():
        for op in function.operations:
            value = getattr(op.outputs[0], "val", None) if op.op_type == "const" else None
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.isfinite(value).all():
                names.append(op.name)
    return names


def describe(path: Path) -> dict:
    """What Linux can check of a saved .mlpackage: it reloads, its I/O, its op list."""
    import coremltools as ct

    model = ct.models.MLModel(str(path), skip_model_load=True)
    spec = model.get_spec()
    array_types = {65568: "float32", 65552: "float16", 131104: "int32"}

    def io(features):
        out = []
        for f in features:
            array = f.type.multiArrayType
            shape = [int(d) for d in array.shape]
            ranges = [(int(r.lowerBound), int(r.upperBound)) for r in array.shapeRange.sizeRanges]
            out.append({"name": f.name, "shape": shape, "dtype": array_types.get(array.dataType, str(array.dataType)),
                        **({"shape_range": ranges} if ranges else {})})
        return out

    ops = collections.Counter(op.type for fn in spec.mlProgram.functions.values()
                              for block in fn.block_specializations.values() for op in block.operations)
    return {"inputs": io(spec.description.input), "outputs": io(spec.description.output),
            "ops": dict(sorted(ops.items()))}


def export_coreml(tower: torch.nn.Module, kind: str, precision: str, example: torch.Tensor,
                  calibration: np.ndarray | None, path: Path, max_batch: int = 64) -> dict:
    """Write one .mlpackage (weight compression needs no calibration data); returns what Linux can check."""
    TARGETS["mlpackage"].check(precision)
    model = _convert(tower, kind, example, max_batch)
    if precision != "fp16":
        model = _compress(model, precision)
    model.save(str(path))
    return describe(path)
