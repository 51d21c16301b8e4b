"""Whole units (shards) decoded in loader workers, in chunks: for the teacher cache and for evaluation.

Each worker takes every W-th unit. Consecutive samples of one picture (the five captions of a
Karpathy image) decode it once: the later ones are marked `same_image` and carry no pixels.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from pocketclip.models.data.decode import image_skip_reason, sample_pixels, skip_reason
from pocketclip.models.data.sources import Source
from pocketclip.runtime.bundle.tokenizer import load_tokenizer
from pocketclip.runtime.indexing.decode import DecodeError


class UnitSamples(IterableDataset):
    def __init__(self, source: Source, units: list[int], preprocess: dict, context_length: int = 77,
                 chunk: int = 256):
        self.source, self.units, self.preprocess = source, units, preprocess
        self.context_length, self.chunk = context_length, chunk

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        tokenizer = load_tokenizer(context_length=self.context_length)
        for unit in self.units[worker::workers]:
            rows, previous, image_reason = [], None, None
            for raw in self.source.samples(unit):
                same = raw.image_id == previous and raw.error is None
                previous = raw.image_id
                pixels = None
                if not same:
                    image_reason = None
                    try:
                        pixels = sample_pixels(raw, self.preprocess)
                    except DecodeError:
                        image_reason = image_skip_reason(raw)
                reason = image_reason or skip_reason(raw)
                rows.append((raw, pixels, same, reason))
                if len(rows) == self.chunk:
                    yield self._chunk(unit, rows, tokenizer, last=False)
                    rows = []
            yield self._chunk(unit, rows, tokenizer, last=True)

    def _chunk(self, unit: int, rows: list, tokenizer, last: bool) -> dict:
        size = int(self.preprocess["size"])
        pixels = torch.zeros(len(rows), 3, size, size)
        for i, (_, p, _, _) in enumerate(rows):
            if p is not None:
                pixels[i] = torch.from_numpy(p)
        return {"unit": unit, "last": last, "pixels": pixels,
                "keys": [r[0].key for r in rows], "image_ids": [r[0].image_id for r in rows],
                "groups": [r[0].group for r in rows],
                "has_pixels": torch.tensor([r[1] is not None for r in rows], dtype=torch.bool),
                "same_image": torch.tensor([r[2] for r in rows], dtype=torch.bool),
                "image_ok": torch.tensor([r[3] in (None, "no caption") for r in rows], dtype=torch.bool),
                "caption_ok": torch.tensor([r[3] is None for r in rows], dtype=torch.bool),
                "ids": torch.from_numpy(tokenizer([r[0].caption or "" for r in rows])) if rows
                else torch.zeros(0, self.context_length, dtype=torch.long),
                "skipped": dict(Counter(r[3] for r in rows if r[3]))}


def unit_loader(source: Source, units: list[int], preprocess: dict, context_length: int, workers: int,
                chunk: int = 256) -> DataLoader:
    return DataLoader(UnitSamples(source, units, preprocess, context_length, chunk), batch_size=None,
                      num_workers=workers, prefetch_factor=2 if workers else None)


def fill_same_images(image: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Give rows marked same_image the embedding of the row before them (their picture's first row)."""
    for i in np.flatnonzero(same):
        if i > 0:
            image[i] = image[i - 1]
    return image
