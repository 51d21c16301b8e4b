"""Image tower: a ViT (patch embedding, pre-norm blocks, class-token or mean pooling, projection)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pocketclip.models.towers.blocks import Block
from pocketclip.models.towers.configs import ImageConfig


class ImageTower(nn.Module):
    def __init__(self, cfg: ImageConfig):
        super().__init__()
        assert cfg.image_size % cfg.patch_size == 0, "image_size must be a multiple of patch_size"
        assert cfg.pool in ("cls", "mean"), f"pool must be 'cls' or 'mean', not {cfg.pool!r}"
        self.cfg = cfg
        grid = cfg.image_size // cfg.patch_size
        scale = cfg.width ** -0.5
        self.patch_embed = self.make_stem(cfg)
        self.class_embedding = nn.Parameter(scale * torch.randn(cfg.width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, cfg.width))
        self.ln_pre = nn.LayerNorm(cfg.width, eps=cfg.ln_eps)
        self.blocks = nn.ModuleList(
            Block(cfg.width, cfg.heads, cfg.mlp_ratio, cfg.act, cfg.ln_eps) for _ in range(cfg.layers))
        self.ln_post = nn.LayerNorm(cfg.width, eps=cfg.ln_eps)
        self.proj = nn.Parameter(scale * torch.randn(cfg.width, cfg.embed_dim))

    def make_stem(self, cfg: ImageConfig) -> nn.Module:
        """Pixels (B, 3, H, W) to a (B, width, grid, grid) feature map: here one patch-sized convolution."""
        assert cfg.arch == "vit", f"ImageTower builds arch 'vit', not {cfg.arch!r} (use dual_encoder.image_tower)"
        return nn.Conv2d(3, cfg.width, cfg.patch_size, stride=cfg.patch_size, bias=False)

    def forward_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Unnormalised joint-space features; pixels (B, 3, H, W) already normalised."""
        x = self.patch_embed(pixels)  # (B, width, grid, grid)
        x = self.ln_pre(x.flatten(2).transpose(1, 2) + self.positional_embedding[1:])  # (B, grid*grid, width)
        # ln_pre works token by token, so normalising the class token on its own and joining it to the patch
        # tokens after ln_pre is the same function as CLIP's cat-then-normalise. It matters once quantized: a
        # cat shares one int8 scale across its inputs, and a hybrid stem's outputs are ~50x the size of the
        # class embedding, which then became noise (the trained demo hybrid's int8 .pte image cosine 0.940 -> 0.995).
        cls = self.ln_pre(self.class_embedding + self.positional_embedding[0])  # (width,)
        x = torch.cat([cls.to(x.dtype).expand(x.shape[0], 1, -1), x], dim=1)  # (B, 1+grid*grid, width)
        for block in self.blocks:
            x = block(x)
        pooled = x[:, 0] if self.cfg.pool == "cls" else x[:, 1:].mean(dim=1)  # (B, width)
        return self.ln_post(pooled) @ self.proj  # (B, embed_dim)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.forward_features(pixels), dim=-1)
