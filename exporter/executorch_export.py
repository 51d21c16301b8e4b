"""ExecuTorch: torch.export -> (PT2E int8) -> XNNPACK lowering -> .pte, with the share delegated.

int8 is PT2E static quantization with the XNNPACK quantizer: per-channel symmetric weights,
activations calibrated on real demo pictures and captions; the text tower's token table becomes int8
rows with per-row scales first (token_table.py), looked up by ExecuTorch's quantized
`embedding_byte` kernel outside the delegate. The .pte takes a fixed batch: with
ExecuTorch 1.5.1 a batch dimension left dynamic made the XNNPACK delegate refuse to resize its
outputs at run time ("Attempted to resize a static tensor"), so batch size is in the manifest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pocketclip.exporter.targets import INPUT, OUTPUT, TARGETS
from pocketclip.exporter.token_table import describe, with_int8_table


def _quantize(tower: torch.nn.Module, example: torch.Tensor, calibration: np.ndarray) -> torch.nn.Module:
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (XNNPACKQuantizer,
                                                                        get_symmetric_quantization_config)
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
    prepared = prepare_pt2e(torch.export.export(tower, (example,), strict=False).module(), quantizer)
    batch = example.shape[0]
    for start in range(0, len(calibration) - batch + 1, batch):
        prepared(torch.from_numpy(calibration[start:start + batch]))
    return convert_pt2e(prepared)


def delegated_share(edge_program) -> tuple[float, dict[str, int]]:
    """Share of operator nodes that run inside XNNPACK, and the ops that stay outside."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(edge_program.graph_module)
    frame = info.get_operator_delegation_dataframe()
    outside = {row.op_type: int(row.occurrences_in_non_delegated_graphs) for row in frame.itertuples()
               if row.op_type not in ("Total", "getitem") and row.occurrences_in_non_delegated_graphs}
    total = info.num_delegated_nodes + info.num_non_delegated_nodes
    return info.num_delegated_nodes / max(1, total), outside


def export_executorch(tower: torch.nn.Module, kind: str, precision: str, example: torch.Tensor,
                      calibration: np.ndarray, path: Path) -> dict:
    """Write one .pte; returns its I/O signature and delegation report for the manifest."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower

    TARGETS["pte"].check(precision)
    int8_table = precision == "int8" and kind == "text"
    module = with_int8_table(tower) if int8_table else tower
    module = _quantize(module, example, calibration) if precision == "int8" else module
    program = torch.export.export(module, (example,), strict=False)
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    share, outside = delegated_share(edge.exported_program())
    # The fusion pass turns (dequantize_affine, embedding) into quantized_decomposed::embedding_byte.
    executorch = edge.to_executorch(ExecutorchBackendConfig(do_quant_fusion_and_const_prop=int8_table))
    if int8_table:  # what runs outside the delegate once fused (less the memory planner's alloc nodes)
        outside = {op: n for op, n in delegated_share(executorch.exported_program())[1].items() if op != "alloc"}
        if "quantized_decomposed_embedding_byte_default" not in outside:
            raise RuntimeError(f"the int8 token table was not fused into quantized_decomposed::embedding_byte; "
                               f"outside the delegate: {sorted(outside)}")
    path.write_bytes(executorch.buffer)
    dtype = "float32" if kind == "image" else "int64"
    info = {"inputs": [{"name": INPUT[kind], "shape": list(example.shape), "dtype": dtype}],
            "outputs": [{"name": OUTPUT[kind], "dtype": "float32"}],
            "delegated_share": round(share, 4), "not_delegated": outside}
    if int8_table:
        info["token_table"] = describe(*tower.token_embedding.weight.shape)
    return info

