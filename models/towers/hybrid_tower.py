"""Hybrid image tower: convolution stages shrink the grid, then the ViT's attention blocks (MobileCLIP/FastViT idea).

Attention cost grows with the token count, convolutions' with the pixels they touch: cheap strided
convolutions take 224 px down to a 7x7 grid, so the transformer sees CLIP B/32's 50 tokens while the
early layers see every pixel. Only plain layers (Conv2d, BatchNorm2d, ReLU), which ExecuTorch/XNNPACK,
ONNX and CoreML all take: batch norm folds into the convolution at export (PT2E's prepare, ONNX
Runtime's graph optimiser, CoreML's converter), ReLU fuses into the int8 convolution.
"""
from __future__ import annotations

import torch
from torch import nn

from pocketclip.models.towers.configs import ImageConfig
from pocketclip.models.towers.image_tower import ImageTower


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out))


class ConvBlock(nn.Module):
    """Residual: depthwise 3x3 mixes space, then a 1x1 expand / ReLU / 1x1 project mixes channels."""

    def __init__(self, channels: int, expand: int):
        super().__init__()
        self.spatial = conv_bn(channels, channels, 3, groups=channels)
        self.mlp = nn.Sequential(nn.Conv2d(channels, channels * expand, 1), nn.ReLU(),
                                 nn.Conv2d(channels * expand, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.spatial(x))  # (B, C, H, W)


class ConvStem(nn.Module):
    """Stages of (stride-2 3x3 conv, BN, ReLU, then residual blocks), and a 1x1 conv to the attention width."""

    def __init__(self, cfg: ImageConfig):
        super().__init__()
        stages, c_in = [], 3
        for c_out, depth in zip(cfg.conv_widths, cfg.conv_depths):
            stages.append(nn.Sequential(conv_bn(c_in, c_out, 3, stride=2), nn.ReLU(),
                                        *(ConvBlock(c_out, cfg.conv_expand) for _ in range(depth))))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.to_tokens = nn.Conv2d(c_in, cfg.width, 1) if c_in != cfg.width else nn.Identity()

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.to_tokens(self.stages(pixels))  # (B, width, H / 2**stages, W / 2**stages)


class HybridImageTower(ImageTower):
    """An ImageTower whose patch embedding is a ConvStem; blocks, pooling and projection are the ViT's,
    so a ViT teacher's blocks initialise it (inherit.py) and its state-dict names follow the ViT's."""

    def make_stem(self, cfg: ImageConfig) -> nn.Module:
        assert cfg.arch == "hybrid", f"HybridImageTower builds arch 'hybrid', not {cfg.arch!r}"
        stages = len(cfg.conv_widths)
        assert stages and len(cfg.conv_depths) == stages, \
            "a hybrid tower needs conv_widths and conv_depths of the same, non-zero length"
        assert cfg.patch_size == 2 ** stages, (f"a hybrid tower's patch_size is its total stride: "
                                               f"2 ** {stages} stages = {2 ** stages}, not {cfg.patch_size}")
        return ConvStem(cfg)
