"""A recipe's `data` section -> what the training kinds read, and the options of one run.

In memory (the demo recipes): {"train_size", "test_size", "seed"}: demo-world splits as tensors.
Streamed: {"source": "shards:PATTERN" | "karpathy:FILE" | "csv:FILE" | "jsonl:FILE" | "demo[:N]",
"images": DIR, "split": "train", "shuffle_buffer": 2000, "augment": {"scale": [0.5, 1]} (off when
absent), "teacher_cache": DIR, "demo_shards": {"folder", "count", "per_shard"}} - the last writes
the demo world as shards first (once) and trains from them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from pocketclip.models.data.decode import RandomResizedCrop
from pocketclip.models.data.demo_data import CACHE_DIR, PairSet, load_split
from pocketclip.models.data.demo_shards import write_demo_shards
from pocketclip.models.data.loader import StreamSpec
from pocketclip.models.data.sources import Source, open_source
from pocketclip.models.data.teacher_cache import TeacherCache, build_teacher_cache, cache_folder
from pocketclip.models.towers.checkpoint import fingerprint
from pocketclip.models.towers.configs import ModelConfig, resolve_config
from pocketclip.models.train.loop import autocast_dtype, distributed, resolve_device


@dataclass(frozen=True)
class RunOptions:
    """How one run executes (not what it learns): the command line's --device, --precision, --workers."""
    device: str = "auto"
    precision: str = "auto"  # autocast on GPUs: bf16 where supported, else fp16; fp32 on CPU
    workers: int = 2  # loader processes per rank

    @property
    def device_obj(self) -> torch.device:
        return resolve_device(self.device)


@dataclass(frozen=True)
class StreamData:
    source: Source
    shuffle_buffer: int
    augment: RandomResizedCrop | None
    cache_root: Path

    def spec(self, model: ModelConfig, global_batch: int, world: int, seed: int, cache: TeacherCache | None,
             hard_negatives: int = 0) -> StreamSpec:
        if global_batch % world:
            raise ValueError(f"batch_size {global_batch} does not split evenly over {world} ranks")
        return StreamSpec(global_batch // world, dataclasses.asdict(model.preprocess), model.text.context_length,
                          seed, self.shuffle_buffer, hard_negatives, self.augment, cache.dim if cache else 0)


def open_training_data(recipe: dict) -> PairSet | StreamData:
    data = recipe["data"]
    if "source" not in data and "demo_shards" not in data:
        preprocess = resolve_config(recipe["model"]).preprocess
        return load_split("train", data["train_size"], preprocess, data["seed"])
    spec = data.get("source")
    if "demo_shards" in data:
        shards = data["demo_shards"]
        folder = Path(shards["folder"]).expanduser()
        folder = folder if folder.is_absolute() else CACHE_DIR / folder
        rank, _ = distributed()
        if rank == 0:  # the others find the shards complete once rank 0 reached the first barrier
            write_demo_shards(folder, shards["count"], "train", shards.get("per_shard", 2000), data.get("seed", 0))
        _barrier()
        spec = f"shards:{folder}/train-{{00000..{(shards['count'] - 1) // shards.get('per_shard', 2000):05d}}}.tar"
    source = open_source(spec, data.get("images"), data.get("split", "train"))
    root = Path(data.get("teacher_cache", CACHE_DIR / "teacher")).expanduser()
    return StreamData(source, int(data.get("shuffle_buffer", 2000)), RandomResizedCrop.from_recipe(data.get("augment")),
                      root)


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def teacher_cache_for(teacher: torch.nn.Module, data: StreamData, opts: RunOptions) -> TeacherCache:
    rank, world = distributed()
    preprocess = dataclasses.asdict(teacher.cfg.preprocess)
    folder = cache_folder(data.cache_root, fingerprint(teacher), data.source, preprocess, teacher.cfg.text.context_length)
    return build_teacher_cache(teacher, data.source, folder, preprocess, teacher.cfg.text.context_length, rank, world,
                               opts.workers, opts.device_obj, autocast_dtype(opts.precision))
