"""int8 ONNX by ONNX Runtime's static quantizer (torch-free): the exporter's int8 artifacts and a pulled
model's int8 variants are made by this one function.

Static QDQ, per-channel symmetric int8 weights, activations calibrated on real inputs. Not dynamic: dynamic
quantization derives activation scales from each batch, so a photo's vector would depend on the photos
batched with it (measured 6e-3 apart on CLIP ViT-B/32 text), breaking the design's batch-vs-singleton bar.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.privacy import onnxruntime_offline


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over a batch of real inputs."""

    def __init__(self, name: str, batch: np.ndarray, chunk: int = 8):
        self.items = iter([{name: batch[i:i + chunk]} for i in range(0, len(batch), chunk)])

    def get_next(self):
        return next(self.items, None)


def quantize_static_int8(fp32_path: Path, input_name: str, calibration: np.ndarray, path: Path,
                         ops: list[str]) -> None:
    """Write `path`: the fp32 model at `fp32_path` with `ops` quantized to int8 (QDQ), calibrated by min/max
    over `calibration` (a batch of the model's input)."""
    onnxruntime_offline()  # its telemetry off before onnxruntime loads
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quant_pre_process, quantize_static

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(path), _Calibration(input_name, calibration),
                        quant_format=QuantFormat.QDQ, per_channel=True, weight_type=QuantType.QInt8,
                        activation_type=QuantType.QUInt8, calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=ops)
