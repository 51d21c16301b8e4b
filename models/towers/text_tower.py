"""Text tower: a causal Transformer over CLIP BPE ids, pooled at the end-of-text token like CLIP."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pocketclip.models.towers.blocks import Block
from pocketclip.models.towers.configs import TextConfig


class TextTower(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        token_dim = cfg.token_dim or cfg.width
        self.token_embedding = nn.Embedding(cfg.vocab_size, token_dim)
        self.token_up = nn.Linear(token_dim, cfg.width, bias=False) if cfg.token_dim else None
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(cfg.context_length, cfg.width))
        self.blocks = nn.ModuleList(
            Block(cfg.width, cfg.heads, cfg.mlp_ratio, cfg.act, cfg.ln_eps) for _ in range(cfg.layers))
        self.ln_final = nn.LayerNorm(cfg.width, eps=cfg.ln_eps)
        self.proj = nn.Parameter(cfg.width ** -0.5 * torch.randn(cfg.width, cfg.embed_dim))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        # Boolean (True = may attend): a float -inf mask would be a weight that CoreML palettizes.
        causal = torch.ones(cfg.context_length, cfg.context_length, dtype=torch.bool).tril()
        self.register_buffer("causal_mask", causal, persistent=False)

    def forward_features(self, ids: torch.Tensor) -> torch.Tensor:
        """Unnormalised joint-space features; ids (B, T) with T <= context_length.

        The mask is causal, so the pooled end token never sees what follows it: a batch may be cut
        to its longest caption during training and gives exactly the same features as length 77.
        """
        T = ids.shape[1]
        x = self.token_embedding(ids)  # (B, T, token_dim)
        if self.token_up is not None:
            x = self.token_up(x)  # (B, T, width)
        full = T == self.cfg.context_length  # slicing a whole buffer exports as an alias CoreML rejects
        x = x + (self.positional_embedding if full else self.positional_embedding[:T])
        mask = self.causal_mask if full else self.causal_mask[:T, :T]
        for block in self.blocks:
            x = block(x, mask)
        x = self.ln_final(x)
        end = (ids == self.cfg.eot_id).int().argmax(dim=-1)  # (B,) first end-of-text position
        pooled = x[torch.arange(x.shape[0]), end]  # (B, width)
        return pooled @ self.proj  # (B, embed_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.forward_features(ids), dim=-1)
