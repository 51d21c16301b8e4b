"""Streaming batches of pairs for training: many ranks, many loader workers, exact resume.

What a rank sees in an epoch does not depend on its number of loader workers: the epoch's units
(shards) are shuffled by (seed, epoch) and dealt to ranks round-robin; the rank's samples pass
through a shuffle buffer seeded by (seed, epoch, rank); consecutive runs of `batch_size` of them
are the rank's batches 0, 1, 2, ... Worker w of W decodes batches j with (j - start) % W == w, which
is the order torch's DataLoader takes them back in, so a run resumed at batch `start` continues with
exactly the next sample whatever --workers is. Workers split batches rather than shards for that
reason; they all read the rank's tars, in step, so the page cache serves the repeated reads, and
only the worker that owns a batch decodes its images (the expensive part).

A sample that cannot be used (undecodable image, no caption, a broken tar member) keeps its slot
with valid=False: batch shapes stay fixed for all_gather, the losses leave it out, and it is
counted once. A rank whose samples run out feeds all-invalid batches until every rank is done, so
each sample is seen exactly once per epoch across the world, however unevenly shards split.

Stage-2 hard negatives come from the shuffle buffer: for each caption, the picture of another
group whose teacher embedding is closest to the caption's teacher embedding, among the `pool` best
in the buffer (which holds `shuffle_buffer` samples of the rank's shards).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from pocketclip.models.data.decode import RandomResizedCrop, image_skip_reason, sample_pixels, skip_reason
from pocketclip.models.data.sources import RawSample, Source
from pocketclip.models.data.teacher_cache import TeacherCache
from pocketclip.runtime.bundle.tokenizer import load_tokenizer
from pocketclip.runtime.indexing.decode import DecodeError


@dataclass(frozen=True)
class StreamSpec:
    batch_size: int  # per rank
    preprocess: dict  # the model's preprocessing spec (PreprocessConfig as a dict)
    context_length: int = 77
    seed: int = 0
    shuffle_buffer: int = 1000
    hard_negatives: int = 0  # pool size; 0: no hard negatives (needs the teacher cache otherwise)
    augment: RandomResizedCrop | None = None
    embed_dim: int = 0  # teacher embedding size, for all-invalid padding batches


def rank_units(n_units: int, seed: int, epoch: int, rank: int, world: int) -> list[int]:
    order = np.random.default_rng([seed, 7, epoch]).permutation(n_units)
    return order[rank::world].tolist()


@dataclass
class _Slot:
    raw: RawSample
    t_image: np.ndarray | None
    t_text: np.ndarray | None
    negative: "_Slot | None" = None
    index: int = 0  # position in the rank's epoch stream


class RankStream(IterableDataset):
    """The rank's batches of one epoch from `start` on; each DataLoader worker builds its share."""

    def __init__(self, source: Source, spec: StreamSpec, epoch: int, rank: int, world: int, start: int = 0,
                 cache: TeacherCache | None = None):
        self.source, self.spec, self.epoch, self.rank, self.world = source, spec, epoch, rank, world
        self.start, self.cache = start, cache
        if spec.hard_negatives and cache is None:
            raise ValueError("hard negatives are mined with the teacher cache; none was given")

    def _raw(self) -> Iterator[_Slot]:
        for unit in rank_units(len(self.source.units()), self.spec.seed, self.epoch, self.rank, self.world):
            teacher = self.cache.unit(unit) if self.cache else None
            for i, raw in enumerate(self.source.samples(unit)):
                if teacher is not None:
                    teacher.check(i, raw.key)
                yield _Slot(raw, teacher.image[i] if teacher else None, teacher.text[i] if teacher else None)

    def _shuffled(self, wanted) -> Iterator[_Slot]:
        """The shuffle buffer; picks each wanted slot's hard negative among the slots still in it."""
        rng = np.random.default_rng([self.spec.seed, 8, self.epoch, self.rank])
        size, pool = max(1, self.spec.shuffle_buffer), self.spec.hard_negatives
        buf: list[_Slot] = []
        vecs = groups = None
        if pool:
            vecs = np.zeros((size, self.cache.dim), np.float32)
            groups = np.zeros(size, np.int64)
        emitted = 0
        stream = self._raw()
        done = False
        while buf or not done:
            while not done and len(buf) < size:
                slot = next(stream, None)
                if slot is None:
                    done = True
                    break
                if pool:
                    vecs[len(buf)], groups[len(buf)] = slot.t_image, slot.raw.group_id()
                buf.append(slot)
            if not buf:
                break
            k = int(rng.integers(len(buf)))
            last = len(buf) - 1
            buf[k], buf[last] = buf[last], buf[k]
            if pool:
                vecs[[k, last]], groups[[k, last]] = vecs[[last, k]], groups[[last, k]]
            slot = buf.pop()
            slot.index = emitted
            if pool and wanted(emitted // self.spec.batch_size) and buf:
                slot.negative = self._negative(slot, buf, vecs[:len(buf)], groups[:len(buf)], emitted)
            emitted += 1
            yield slot

    def _negative(self, slot: _Slot, buf: list[_Slot], vecs: np.ndarray, groups: np.ndarray, index: int) -> _Slot:
        sims = vecs @ slot.t_text.astype(np.float32)
        sims[groups == slot.raw.group_id()] = -np.inf  # a picture of the caption's own group is no negative
        pool = min(self.spec.hard_negatives, len(sims))
        best = np.argpartition(-sims, pool - 1)[:pool]
        best = best[np.isfinite(sims[best])]
        if not len(best):
            return None
        pick = np.random.default_rng([self.spec.seed, 9, self.epoch, self.rank, index]).integers(len(best))
        return buf[int(np.sort(best)[pick])]

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)

        def wanted(j: int) -> bool:
            return j >= self.start and (j - self.start) % workers == worker

        tokenizer = load_tokenizer(context_length=self.spec.context_length)
        batch: list[_Slot] = []
        for slot in self._shuffled(wanted):
            batch.append(slot)
            if len(batch) == self.spec.batch_size:
                j = slot.index // self.spec.batch_size
                if wanted(j):
                    yield self._assemble(batch, j, tokenizer)
                batch = []
        if batch:
            j = batch[0].index // self.spec.batch_size
            if wanted(j):
                yield self._assemble(batch, j, tokenizer)

    def _pixels(self, slot: _Slot, salt: int) -> tuple[np.ndarray | None, str | None]:
        rng = np.random.default_rng([self.spec.seed, 10, self.epoch, self.rank, slot.index, salt])
        try:
            return sample_pixels(slot.raw, self.spec.preprocess, self.spec.augment, rng), None
        except DecodeError:
            return None, image_skip_reason(slot.raw)

    def _assemble(self, slots: list[_Slot], j: int, tokenizer) -> dict:
        batch = empty_batch(self.spec, self.cache.dim if self.cache else 0)
        skipped: Counter = Counter()
        captions = []
        for i, slot in enumerate(slots):
            reason = skip_reason(slot.raw) if not slot.raw.error and slot.raw.image is not None else None
            pixels, why = (None, reason) if reason else self._pixels(slot, 0)
            captions.append(slot.raw.caption if pixels is not None else "")
            batch["keys"][i] = slot.raw.key
            if pixels is None:
                skipped[why] += 1
                continue
            batch["pixels"][i], batch["valid"][i] = torch.from_numpy(pixels), True
            if self.cache is not None:
                batch["t_image"][i], batch["t_text"][i] = (torch.from_numpy(slot.t_image.astype(np.float32)),
                                                           torch.from_numpy(slot.t_text.astype(np.float32)))
            if slot.negative is not None:
                neg, _ = self._pixels(slot.negative, 1)
                if neg is not None:
                    batch["neg_pixels"][i], batch["neg_valid"][i] = torch.from_numpy(neg), True
                    batch["t_neg_image"][i] = torch.from_numpy(slot.negative.t_image.astype(np.float32))
        batch["ids"][: len(slots)] = torch.from_numpy(tokenizer(captions))
        batch["position"] = j
        batch["skipped"] = dict(skipped)
        return batch


def empty_batch(spec: StreamSpec, dim: int) -> dict:
    """A batch of invalid slots: what a rank whose samples ran out feeds while the others finish."""
    b, size = spec.batch_size, int(spec.preprocess["size"])
    batch = {"pixels": torch.zeros(b, 3, size, size), "ids": torch.zeros(b, spec.context_length, dtype=torch.long),
             "valid": torch.zeros(b, dtype=torch.bool), "keys": [""] * b, "position": -1, "skipped": {}}
    if dim:
        batch["t_image"], batch["t_text"] = torch.zeros(b, dim), torch.zeros(b, dim)
    if spec.hard_negatives:
        batch["neg_pixels"], batch["neg_valid"] = torch.zeros(b, 3, size, size), torch.zeros(b, dtype=torch.bool)
        batch["t_neg_image"] = torch.zeros(b, dim)
    return batch
