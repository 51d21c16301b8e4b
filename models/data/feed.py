"""The training loop's side of streaming: epochs of RankStream batches with a resumable position.

`batches(state)` yields (batch, state after it); a checkpoint stores that state, and a run restarted
from it continues with the very next batch. Every step the ranks agree (one all_reduce) whether any
of them still has data this epoch; one that ran out feeds an all-invalid batch meanwhile.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from pocketclip.models.data.loader import RankStream, StreamSpec, empty_batch
from pocketclip.models.data.sources import DataError, Source
from pocketclip.models.data.teacher_cache import TeacherCache


class StreamFeed:
    def __init__(self, source: Source, spec: StreamSpec, rank: int, world: int, workers: int = 0,
                 cache: TeacherCache | None = None, device: torch.device = torch.device("cpu")):
        self.source, self.spec, self.rank, self.world = source, spec, rank, world
        self.workers, self.cache, self.device = workers, cache, device

    def _loader(self, epoch: int, start: int) -> DataLoader:
        stream = RankStream(self.source, self.spec, epoch, self.rank, self.world, start, self.cache)
        # Forked workers never touch the GPU (they decode on the CPU), so forking after CUDA is set up is safe.
        return DataLoader(stream, batch_size=None, num_workers=self.workers,
                          prefetch_factor=4 if self.workers else None, pin_memory=self.device.type == "cuda")

    def _any(self, has: bool) -> bool:
        if self.world == 1:
            return has
        flag = torch.tensor([int(has)], device=self.device if dist.get_backend() == "nccl" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def batches(self, state: dict | None = None) -> Iterator[tuple[dict, dict]]:
        state = dict(state or {})
        epoch, position = int(state.get("epoch", 0)), int(state.get("batch", 0))
        skipped = Counter(state.get("skipped", {}))
        seen = int(state.get("samples", 0))
        if state.get("world", self.world) != self.world:
            raise ValueError(f"this run was checkpointed with {state['world']} ranks; resume it with as many "
                             f"(the order of samples depends on the rank count, not on --workers)")
        dim = self.cache.dim if self.cache else 0
        while True:
            it = iter(self._loader(epoch, position))
            fresh = position == 0
            while True:
                batch = next(it, None)
                if not self._any(batch is not None):
                    if fresh:
                        raise DataError(f"{self.source.spec}: an epoch gave no batches (no samples on any rank)")
                    break
                fresh = False
                if batch is None:
                    batch = empty_batch(self.spec, dim)
                skipped.update(batch["skipped"])
                seen += int(batch["valid"].sum())
                position += 1
                yield batch, {"epoch": epoch, "batch": position, "skipped": dict(skipped), "samples": seen,
                              "world": self.world}
            epoch, position = epoch + 1, 0
