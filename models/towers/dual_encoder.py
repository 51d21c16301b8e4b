"""A CLIP-style dual encoder: `model.image` and `model.text` towers and a learnable temperature."""
from __future__ import annotations

import torch
from torch import nn

from pocketclip.models.towers.configs import ImageConfig, ModelConfig
from pocketclip.models.towers.hybrid_tower import HybridImageTower
from pocketclip.models.towers.image_tower import ImageTower
from pocketclip.models.towers.text_tower import TextTower

IMAGE_TOWERS = {"vit": ImageTower, "hybrid": HybridImageTower}


def image_tower(cfg: ImageConfig) -> ImageTower:
    if cfg.arch not in IMAGE_TOWERS:
        raise ValueError(f"unknown image arch {cfg.arch!r}; valid: {', '.join(IMAGE_TOWERS)}")
    return IMAGE_TOWERS[cfg.arch](cfg)


class DualEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.image = image_tower(cfg.image)
        self.text = TextTower(cfg.text)
        self.logit_scale = nn.Parameter(torch.tensor(cfg.init_logit_scale))

    def forward(self, pixels: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both towers in one call, so DistributedDataParallel sees every parameter used."""
        return self.image(pixels), self.text(ids)

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.image(pixels)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        return self.text(ids)

    def scale(self) -> torch.Tensor:
        # CLIP clamps the learned temperature at 100 to keep training stable.
        return self.logit_scale.exp().clamp(max=100.0)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameter_bytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())
