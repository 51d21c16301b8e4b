"""Contrastive training from scratch (how the demo teacher is made): CLIP's symmetric loss."""
from __future__ import annotations

from pathlib import Path

import torch

from pocketclip.models.configs import resolve_config
from pocketclip.models.demo_data import PairSet, trim_ids
from pocketclip.models.dual_encoder import DualEncoder
from pocketclip.models.losses import clip_loss
from pocketclip.models.training import Schedule, batch_indices, distributed, gather, rank_slice, train


def train_contrastive(recipe: dict, data: PairSet, out: Path) -> DualEncoder:
    torch.manual_seed(recipe["seed"])
    model = DualEncoder(resolve_config(recipe["model"]))
    schedule = Schedule(**recipe["schedule"])
    rank, world = distributed()
    eot = model.cfg.text.eot_id

    def loss_fn(module: torch.nn.Module, step: int) -> tuple[torch.Tensor, dict]:
        idx = rank_slice(batch_indices(recipe["seed"], step, len(data), schedule.batch_size), rank, world)
        image, text = module(data.pixels(idx), trim_ids(data.ids[idx], eot))
        scale = model.scale()
        return clip_loss(gather(image), gather(text), scale), {"temp": 1 / scale.item()}

    return train(model, loss_fn, schedule, out, {"recipe": recipe}, desc=f"train {model.cfg.name}")
