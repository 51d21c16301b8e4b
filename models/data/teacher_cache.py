"""The teacher's image and text embeddings of a data set, computed once per (teacher, data set).

A folder per (teacher fingerprint, data-set identity, preprocessing) under the cache root, one
float16 .npz per unit (keys, image, text, ok), written atomically: a killed run keeps the units it
finished, and ranks compute disjoint units. Stage 1, the KL term of stage 2 and the hard-negative
mining read it instead of running the teacher every step.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from pocketclip.models.data.demo_data import trim_ids
from pocketclip.models.data.sources import Source
from pocketclip.models.data.unit_samples import fill_same_images, unit_loader


class StaleCache(RuntimeError):
    """The cache does not match the data it is read with (the data changed after it was written)."""


@dataclass
class UnitCache:
    keys: np.ndarray
    image: np.ndarray  # (n, D) float16
    text: np.ndarray  # (n, D) float16

    def check(self, i: int, key: str) -> None:
        if i >= len(self.keys) or self.keys[i] != key:
            raise StaleCache(f"teacher cache row {i} is {self.keys[i] if i < len(self.keys) else 'missing'!r}, "
                             f"the data has {key!r}: delete the cache folder and run again")


class TeacherCache:
    def __init__(self, folder: Path, n_units: int):
        self.folder, self.n_units = folder, n_units
        info = json.loads((folder / "info.json").read_text())
        self.dim = int(info["dim"])

    def path(self, unit: int) -> Path:
        return self.folder / f"unit-{unit:06d}.npz"

    def unit(self, unit: int) -> UnitCache:
        with np.load(self.path(unit), allow_pickle=False) as data:
            return UnitCache(data["keys"], data["image"], data["text"])

    def missing(self) -> list[int]:
        return [u for u in range(self.n_units) if not self.path(u).exists()]


def cache_folder(root: Path, teacher_fingerprint: str, source: Source, preprocess: dict, context_length: int) -> Path:
    h = hashlib.sha256(json.dumps([source.identity(), preprocess, context_length], sort_keys=True).encode())
    return Path(root) / f"{teacher_fingerprint[:16]}-{h.hexdigest()[:16]}"


@torch.no_grad()
def build_teacher_cache(teacher: torch.nn.Module, source: Source, folder: Path, preprocess: dict,
                        context_length: int, rank: int = 0, world: int = 1, workers: int = 0,
                        device: torch.device = torch.device("cpu"), autocast: torch.dtype | None = None) -> TeacherCache:
    """Compute the units the cache lacks (this rank's share of them), then wait for the other ranks."""
    folder.mkdir(parents=True, exist_ok=True)
    n_units = len(source.units())
    info = folder / "info.json"
    if rank == 0 and not info.exists():
        tmp = info.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"dim": teacher.cfg.image.embed_dim, "data": source.spec, "units": n_units,
                                   "teacher": teacher.cfg.name}, indent=2) + "\n")
        tmp.replace(info)
    if world > 1:
        dist.barrier()
    cache = TeacherCache(folder, n_units)
    mine = cache.missing()[rank::world]
    if mine:
        teacher.to(device).eval()
        parts: dict[int, list[dict]] = {}
        bar = tqdm(total=len(mine), desc=f"teacher cache (rank {rank})", unit="shard", disable=rank != 0,
                   dynamic_ncols=True)
        for chunk in unit_loader(source, mine, preprocess, context_length, workers):
            image = torch.zeros(len(chunk["keys"]), cache.dim)
            rows = chunk["has_pixels"]
            with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                if rows.any():
                    image[rows] = teacher.image(chunk["pixels"][rows].to(device)).float().cpu()
                text = image
                if len(chunk["keys"]):
                    ids = trim_ids(chunk["ids"], teacher.cfg.text.eot_id)  # exact: causal, end-pooled tower
                    text = teacher.text(ids.to(device)).float().cpu()
            parts.setdefault(chunk["unit"], []).append(
                {"keys": chunk["keys"], "image": image.numpy(), "text": text.numpy(), "same": chunk["same_image"].numpy()})
            if chunk["last"]:
                _write_unit(cache.path(chunk["unit"]), parts.pop(chunk["unit"]), cache.dim)
                bar.update(1)
        bar.close()
    if world > 1:
        dist.barrier()
    if cache.missing():
        raise RuntimeError(f"teacher cache {folder}: units {cache.missing()[:5]} were not written")
    return cache


def _write_unit(path: Path, parts: list[dict], dim: int) -> None:
    keys = np.array([k for p in parts for k in p["keys"]], dtype=str)
    image = np.concatenate([p["image"] for p in parts]) if keys.size else np.zeros((0, dim), np.float32)
    text = np.concatenate([p["text"] for p in parts]) if keys.size else np.zeros((0, dim), np.float32)
    same = np.concatenate([p["same"] for p in parts]) if keys.size else np.zeros(0, bool)
    image = fill_same_images(image, same)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, keys=keys, image=image.astype(np.float16), text=text.astype(np.float16))
    tmp.replace(path)
