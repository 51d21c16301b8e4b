"""Student towers at real shapes as int8 artifacts: bytes, params and one-thread latency, teacher interleaved.

Random weights (size and speed do not depend on the values), exported exactly as `pocketclip export`
does (int8 .pte: PT2E + XNNPACK with the int8 token table; int8 ONNX: static QDQ with the int8 token
table), then every artifact is timed in rounds, teacher and students in turn within each round, so drift
in machine load hits all alike; a tower's time is its best round's median.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from pocketclip.exporter.golden import calibration_inputs
from pocketclip.exporter.targets import INPUT, TARGETS, artifact_name
from pocketclip.models.towers.checkpoint import load_model
from pocketclip.models.towers.configs import CLIP_SOT, get_config
from pocketclip.models.towers.dual_encoder import DualEncoder, count_parameters
from pocketclip.runtime.bundle.backends import open_tower
from pocketclip.runtime.parity.quality import median_ms

FORMATS = ("pte", "onnx")


def one_thread_executorch() -> None:
    """XNNPACK's thread pool at one thread, as ONNX Runtime's intra_op_num_threads=1: one phone core."""
    from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

    _unsafe_reset_threadpool(1)


def tower_inputs(model: DualEncoder) -> dict[str, np.ndarray]:
    """One picture and one 10-word caption padded to 77 tokens, as benchmarks.towers feeds them."""
    cfg = model.cfg
    pixels = np.random.default_rng(0).normal(size=(1, 3, cfg.image.image_size, cfg.image.image_size))
    ids = np.zeros((1, cfg.text.context_length), dtype=np.int64)
    ids[:, 0], ids[:, 1:12], ids[:, 12] = CLIP_SOT, 320, cfg.text.eot_id
    return {"image": pixels.astype(np.float32), "text": ids}


def export_towers(name: str, kinds: tuple[str, ...], folder: Path, calibration: int = 8) -> dict:
    """Export the towers `kinds` of registered model `name` (random weights) to int8 .pte and ONNX.

    Returns {kind: {"params", "files": {fmt: path}, "bytes": {fmt: n}, "export_s": {fmt: s}}}.
    """
    torch.manual_seed(0)
    model = load_model(name)
    images, ids = calibration_inputs(model, count=calibration)
    inputs = tower_inputs(model)
    out = {}
    for kind in kinds:
        tower = model.image if kind == "image" else model.text
        entry = {"params": count_parameters(tower), "files": {}, "bytes": {}, "export_s": {}}
        for fmt in FORMATS:
            path = folder / f"{name.replace('+', '__')}.{artifact_name(kind, fmt, 'int8')}"
            start = time.perf_counter()
            TARGETS[fmt].export(tower, kind, "int8", torch.from_numpy(inputs[kind]),
                                images if kind == "image" else ids, path)
            entry["export_s"][fmt] = round(time.perf_counter() - start, 1)
            entry["files"][fmt], entry["bytes"][fmt] = path, path.stat().st_size
        out[kind] = entry
    return out


def time_artifacts(artifacts: dict[tuple[str, str, str], Path], inputs: dict[str, np.ndarray], rounds: int,
                   repeats: int) -> dict[tuple[str, str, str], float]:
    """{(model, kind, fmt): path} -> {(model, kind, fmt): ms}, one thread, interleaved in `rounds` rounds."""
    one_thread_executorch()
    towers = {key: open_tower(path, key[2], INPUT[key[1]], threads=1) for key, path in artifacts.items()}
    best: dict[tuple[str, str, str], float] = {}
    for _ in range(rounds):
        for key, tower in towers.items():
            ms = median_ms(tower, inputs[key[1]], repeats=repeats, warmup=2)
            best[key] = min(best.get(key, ms), ms)
    return best


def tower_names(candidate: str) -> tuple[str, str]:
    """'IMAGE+TEXT' -> (image tower, text tower) registry names; a whole registered model is itself twice."""
    get_config(candidate)  # fails with the registry's own message for an unknown name
    image, plus, text = candidate.partition("+")
    return (image, text) if plus else (candidate, candidate)
