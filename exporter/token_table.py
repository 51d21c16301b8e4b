"""The text tower's token table as int8 rows with one float32 scale each, in the .pte and in ONNX.

Neither int8 pipeline touches the table on its own (XNNPACK's quantizer leaves embeddings in float, so
CLIP's 49408 x 512 table stays 101 MB), yet it is most of a small text tower's bytes. It is quantized
here by torchao's weight-only int8 config, per row (PerAxis(0)), symmetric, as ExecuTorch's own LLM
exports quantize token tables: in the .pte the (dequantize, embedding) pair that torch.export traces
is fused into `quantized_decomposed::embedding_byte` (to_executorch's quant fusion pass); in ONNX
the same int8 rows and scales become Gather(int8 rows) -> Cast -> Mul(Gather(scales)), so only the
looked-up rows are ever dequantized. Both formats carry identical numbers.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

# What the manifest says about the table, so a phone's runtime knows what it is loading.
LOOKUP = "float(row[id]) * scale[id]: int8 rows, one float32 scale per row, symmetric (zero point 0)"


def _config():
    from torchao.quantization.granularity import PerAxis
    from torchao.quantization.quant_api import IntxWeightOnlyConfig, MappingType

    return IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=PerAxis(0), mapping_type=MappingType.SYMMETRIC)


def _is_table(module: torch.nn.Module, _fqn: str = "") -> bool:
    return isinstance(module, torch.nn.Embedding)


def with_int8_table(tower: torch.nn.Module) -> torch.nn.Module:
    """A copy of `tower` whose token table is torchao's int8-per-row tensor (the original is untouched)."""
    from torchao.quantization.quant_api import quantize_

    if not any(_is_table(m) for m in tower.modules()):
        raise ValueError("with_int8_table: the tower has no nn.Embedding token table")
    quantized = copy.deepcopy(tower)
    quantize_(quantized, _config(), _is_table)
    return quantized


def int8_rows(table: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(rows (V, D) int8, scales (V,) float32) exactly as with_int8_table quantizes `table`."""
    embedding = torch.nn.Embedding(*table.shape)
    embedding.weight = torch.nn.Parameter(table.detach().to(torch.float32).clone(), requires_grad=False)
    quantized = with_int8_table(embedding).weight
    zero = quantized.zero_point
    if zero is not None and bool(torch.any(zero != 0)):
        raise AssertionError("a symmetric int8 table came back with non-zero zero points")
    return quantized.qdata.to(torch.int8).numpy(), quantized.scale.reshape(-1).to(torch.float32).numpy()


def describe(rows: int, dim: int) -> dict:
    """The manifest's `token_table` entry of an int8 text artifact."""
    return {"dtype": "int8", "rows": rows, "dim": dim, "scale_dtype": "float32", "granularity": "per row",
            "lookup": LOOKUP}


def quantize_onnx_table(model, input_name: str) -> dict:
    """Rewrite, in place, the ONNX Gather that looks `input_name` up in a float table; returns describe()."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    gathers = [n for n in graph.node if n.op_type == "Gather" and len(n.input) == 2 and n.input[1] == input_name
               and n.input[0] in inits and len(inits[n.input[0]].dims) == 2
               and inits[n.input[0]].data_type == TensorProto.FLOAT]
    if len(gathers) != 1:
        raise ValueError(f"expected one Gather of {input_name!r} from a float table, found {len(gathers)}")
    gather = gathers[0]
    table = numpy_helper.to_array(inits[gather.input[0]])  # (V, D) float32
    rows, scales = int8_rows(torch.from_numpy(table.copy()))
    name, out = gather.input[0], gather.output[0]
    graph.initializer.remove(inits[name])
    graph.initializer.extend([numpy_helper.from_array(rows, f"{name}.int8"),
                              numpy_helper.from_array(scales.reshape(-1, 1), f"{name}.row_scales")])  # (V, 1)
    # Dotted names: ONNX Runtime's quantizer names its own tensors NAME_scale, NAME_zero_point.
    rows_q, rows_f, row_scales = f"{out}.int8_rows", f"{out}.float_rows", f"{out}.row_scales"
    nodes = [
        helper.make_node("Gather", [f"{name}.int8", input_name], [rows_q], axis=0),  # (B, T, D) int8
        helper.make_node("Cast", [rows_q], [rows_f], to=TensorProto.FLOAT),
        helper.make_node("Gather", [f"{name}.row_scales", input_name], [row_scales], axis=0),  # (B, T, 1)
        helper.make_node("Mul", [rows_f, row_scales], [out]),  # (B, T, D) float32
    ]
    at = list(graph.node).index(gather)
    graph.node.remove(gather)
    for offset, node in enumerate(nodes):
        graph.node.insert(at + offset, node)
    return describe(*rows.shape)
