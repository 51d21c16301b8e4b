"""Inference backends behind one explicit interface: ONNX Runtime and ExecuTorch.

Only the ONNX backend is torch-free. ExecuTorch's Python runtime exchanges torch tensors, so its
backend imports torch when, and only when, it is chosen. The PyTorch eager reference lives in
pocketclip.models (reference_tower.py) and is handed in as a TowerBackend; nothing here imports it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from pocketclip.runtime.batches import batched
from pocketclip.runtime.bundle.privacy import onnxruntime_offline
from pocketclip.runtime.bundle.quiet import dependency_output_hidden


class TowerBackend(Protocol):
    """One exported tower: a batch in, L2-normalised float32 embeddings out."""

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


# What each tower is fed: a tower that takes the other tower's input is a swapped or foreign file.
INPUT_KIND = {"image": (np.float32,), "text": (np.int64, np.int32)}


class OnnxTower:
    def __init__(self, path: Path, input_name: str | None, threads: int = 0, tower: str | None = None,
                 shape: list | None = None, spinning: bool = True):
        """`input_name` None: the graph's one input, whatever its name (a pulled model before its manifest).
        `spinning` False: onnxruntime's threads sleep between runs instead of spinning, leaving the cores to
        the indexer's decoding workers (a query's latency is what spinning is for)."""
        ort = onnxruntime_offline()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        if len(inputs) == 1 and input_name is None:
            input_name = inputs[0].name
        if len(inputs) != 1 or inputs[0].name != input_name:
            raise ValueError(f"it takes inputs {[i.name for i in inputs]}, the manifest says {input_name!r}")
        self.input_name = input_name
        self.input_dtype = {"tensor(int64)": np.int64, "tensor(int32)": np.int32,
                            "tensor(float)": np.float32}.get(inputs[0].type)
        if tower and self.input_dtype not in INPUT_KIND[tower]:
            raise ValueError(f"it takes {inputs[0].type}, which is not what a {tower} tower takes")
        graph = list(inputs[0].shape)
        if shape is not None and (len(graph) != len(shape) or any(
                isinstance(g, int) and isinstance(m, int) and g != m for g, m in zip(graph, shape))):
            raise ValueError(f"its input is {graph}, the manifest says {shape}")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch.astype(self.input_dtype, copy=False)})[0]


class ExecuTorchTower:
    def __init__(self, path: Path):
        # ExecuTorch's imports (torchao's optional kernels) and loader (cpuinfo) print to the terminal.
        with dependency_output_hidden():
            # Registers quantized_decomposed::embedding_byte, the int8 token table's lookup (exporter/token_table.py).
            import executorch.kernels.quantized  # noqa: F401
            from executorch.runtime import Runtime

            self.method = Runtime.get().load_program(Path(path)).load_method("forward")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        return self.method.execute([torch.from_numpy(np.ascontiguousarray(batch))])[0].numpy()


RUNNABLE_FORMATS = ("onnx", "pte")  # artifact formats this machine can execute (CoreML cannot run on Linux)


def fixed_batch(entry: dict) -> int | None:
    """The batch size an artifact was exported for, or None when its batch axis is dynamic."""
    first = entry["inputs"][0]["shape"][0]
    return first if isinstance(first, int) else None


def run_batched(tower: TowerBackend, batch: np.ndarray, step: int | None, dim: int, default_step: int = 64
                ) -> np.ndarray:
    """Run `tower` over `batch` in chunks of `step` (an artifact's fixed batch) or `default_step`."""
    if len(batch) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    step = step or default_step
    return np.concatenate([tower(part) for part in batched(batch, step)])


class Normalised:
    """A tower whose graph ends before the L2 normalisation (a pulled model: manifest `l2_normalized: false`),
    normalised here in float32, as every platform does for such an artifact."""

    def __init__(self, tower: TowerBackend):
        self.tower = tower

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = np.asarray(self.tower(batch), dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), np.float32(1e-12))


def open_tower(path: Path, fmt: str, input_name: str | None, threads: int = 0, tower: str | None = None,
               shape: list | None = None, normalise: bool = False, spinning: bool = True) -> TowerBackend:
    """An artifact's runtime; `shape`, the manifest's input shape, is checked against the graph's own;
    `normalise` L2-normalises what a graph without that last step returns."""
    if fmt == "onnx":
        backend = OnnxTower(path, input_name, threads, tower, shape, spinning)
    elif fmt == "pte":
        backend = ExecuTorchTower(path)
    else:
        raise ValueError(f"cannot run {fmt!r} artifacts on this machine; runnable formats: "
                         f"{', '.join(RUNNABLE_FORMATS)}")
    return Normalised(backend) if normalise else backend
