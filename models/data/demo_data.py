"""Demo-world splits as tensors: preprocessed images and token ids, drawn once and cached on disk."""
from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pocketclip.models.data.demo_world import sample
from pocketclip.models.towers.configs import PreprocessConfig
from pocketclip.runtime.bundle.preprocess import resize_and_crop
from pocketclip.runtime.bundle.tokenizer import load_tokenizer

RENDER_SIZE = 128  # drawn larger than the 64 px model input, so resizing is exercised as on photos
CACHE_DIR = Path(os.environ.get("POCKETCLIP_CACHE", Path.home() / ".cache" / "pocketclip"))


@dataclasses.dataclass
class PairSet:
    squares: torch.Tensor  # (N, S, S, 3) uint8, resized and cropped; `pixels()` normalises
    ids: torch.Tensor  # (N, 77) int64
    captions: list[str]
    keys: list[tuple]  # scene keys: equal keys describe interchangeable pictures

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.captions)

    def pixels(self, index: torch.Tensor | slice) -> torch.Tensor:
        """(B, 3, S, S) float32 normalised exactly as runtime.preprocess.normalise does it."""
        x = self.squares[index].to(torch.float32) / 255.0
        x = (x - torch.tensor(self.mean)) / torch.tensor(self.std)
        return x.permute(0, 3, 1, 2).contiguous()


def _draw_chunk(args: tuple) -> tuple[np.ndarray, list[str], list[tuple]]:
    split, start, stop, seed, size, resample = args
    pixels, captions, keys = [], [], []
    for i in range(start, stop):
        image, text, scene = sample(i, split, RENDER_SIZE, seed)
        pixels.append(np.asarray(resize_and_crop(image, size, resample)))
        captions.append(text)
        keys.append(scene.key())
    return np.stack(pixels), captions, keys


def load_split(split: str, n: int, preprocess: PreprocessConfig, seed: int = 0, workers: int = 2,
               cache: bool = True) -> PairSet:
    path = CACHE_DIR / f"demo-{split}-{n}-s{seed}-{preprocess.size}-{preprocess.resample}.npz"
    if cache and path.exists():
        data = np.load(path, allow_pickle=False)
        pixels, captions = data["pixels"], [str(c) for c in data["captions"]]
        keys = [tuple(k) for k in data["keys"].tolist()]
    else:
        chunk = 500
        jobs = [(split, s, min(s + chunk, n), seed, preprocess.size, preprocess.resample) for s in range(0, n, chunk)]
        parts = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in tqdm(pool.map(_draw_chunk, jobs), total=len(jobs), desc=f"drawing {split}",
                             unit="chunk", leave=False):
                parts.append(part)
        pixels = np.concatenate([p[0] for p in parts])
        captions = [c for p in parts for c in p[1]]
        keys = [k for p in parts for k in p[2]]
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # per process: torchrun ranks draw at once
            np.savez(tmp, pixels=pixels, captions=np.array(captions), keys=np.array(keys, dtype=object).astype(str))
            tmp.replace(path)
    keys = [tuple(str(x) for x in k) for k in keys]
    ids = load_tokenizer()(captions)
    return PairSet(torch.from_numpy(pixels), torch.from_numpy(ids), captions, keys, preprocess.mean, preprocess.std)


def trim_ids(ids: torch.Tensor, eot_id: int) -> torch.Tensor:
    """Cut a batch of ids after its longest caption; exact for a causal, end-pooled text tower."""
    longest = int((ids == eot_id).int().argmax(dim=1).max()) + 1
    return ids[:, :longest]

