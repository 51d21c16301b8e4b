"""Contrastive training from scratch (how the demo teacher is made): CLIP's symmetric loss."""
from __future__ import annotations

from pathlib import Path

import torch

from pocketclip.models.data.demo_data import PairSet, trim_ids
from pocketclip.models.data.feed import StreamFeed
from pocketclip.models.towers.configs import resolve_config
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.models.train.data_options import RunOptions, StreamData
from pocketclip.models.train.loop import Schedule, batch_indices, distributed, gather, gather_mask, rank_slice, train
from pocketclip.models.train.losses import clip_loss


def train_contrastive(recipe: dict, data: PairSet | StreamData, out: Path, opts: RunOptions
                      ) -> tuple[DualEncoder, dict | None]:
    torch.manual_seed(recipe["seed"])
    model = DualEncoder(resolve_config(recipe["model"]))
    schedule = Schedule(**recipe["schedule"])
    rank, world = distributed()
    eot = model.cfg.text.eot_id
    feed = None
    if isinstance(data, StreamData):
        spec = data.spec(model.cfg, schedule.batch_size, world, recipe["seed"], None)
        feed = StreamFeed(data.source, spec, rank, world, opts.workers, None, opts.device_obj)

    def loss_fn(module: torch.nn.Module, step: int, batch: dict | None) -> tuple[torch.Tensor, dict]:
        if batch is None:
            idx = rank_slice(batch_indices(recipe["seed"], step, len(data), schedule.batch_size), rank, world)
            batch = {"pixels": data.pixels(idx).to(opts.device_obj), "ids": data.ids[idx].to(opts.device_obj)}
        image, text = module(batch["pixels"], trim_ids(batch["ids"], eot))
        image, text = gather(image), gather(text)
        if "valid" in batch:
            valid = gather_mask(batch["valid"])
            image, text = image[valid], text[valid]
        scale = model.scale()
        return clip_loss(image, text, scale), {"temp": 1 / scale.item()}

    model, state = train(model, loss_fn, schedule, out, {"recipe": recipe}, f"train {model.cfg.name}", feed,
                         opts.precision)
    return model, ({"train": state} if state else None)
