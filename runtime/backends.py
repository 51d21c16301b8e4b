"""Inference backends behind one explicit interface: ONNX Runtime, ExecuTorch, optional torch.

Only the ONNX backend is torch-free. ExecuTorch's Python runtime exchanges torch tensors, so its
backend (and the torch reference) import torch when, and only when, they are chosen.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np


class TowerBackend(Protocol):
    """One exported tower: a batch in, L2-normalised float32 embeddings out."""

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class OnnxTower:
    def __init__(self, path: Path, input_name: str, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = input_name
        self.input_dtype = {"tensor(int64)": np.int64, "tensor(int32)": np.int32,
                            "tensor(float)": np.float32}[self.session.get_inputs()[0].type]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch.astype(self.input_dtype, copy=False)})[0]


class ExecuTorchTower:
    def __init__(self, path: Path):
        from executorch.runtime import Runtime

        self.method = Runtime.get().load_program(Path(path)).load_method("forward")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        return self.method.execute([torch.from_numpy(np.ascontiguousarray(batch))])[0].numpy()


class TorchTower:
    """The PyTorch eager reference, for parity checks only: the model the bundle was exported from,
    loaded from its committed weights or checkpoint and refused unless its fingerprint matches."""

    def __init__(self, manifest: dict, kind: str, source: str | None = None):
        import torch  # noqa: F401 - the optional reference backend; only it imports torch

        from models.checkpoint import fingerprint, load_model

        model = load_model(source or manifest["model"]["name"])
        if fingerprint(model) != manifest["model"]["fingerprint"]:
            raise ValueError(f"the PyTorch model {source or manifest['model']['name']!r} is not the one this "
                             f"bundle was exported from (fingerprint {manifest['model']['fingerprint'][:12]})")
        self.tower = model.image if kind == "image" else model.text

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.tower(torch.from_numpy(np.ascontiguousarray(batch))).numpy()


BACKENDS = {"onnx": OnnxTower, "pte": ExecuTorchTower, "torch": TorchTower}
RUNNABLE_FORMATS = ("onnx", "pte")  # artifact formats this machine can execute (CoreML cannot run on Linux)


def open_tower(path: Path, fmt: str, input_name: str, threads: int = 0) -> TowerBackend:
    if fmt == "onnx":
        return OnnxTower(path, input_name, threads)
    if fmt == "pte":
        return ExecuTorchTower(path)
    raise ValueError(f"cannot run {fmt!r} artifacts on this machine; runnable formats: {sorted(BACKENDS)}")
