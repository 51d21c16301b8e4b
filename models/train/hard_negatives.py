"""Corpus-wide hard negatives from a pre-computed teacher index.

For every caption, the images the teacher finds most similar to it (among all training images)
that do not show the caption's own scene: the confusable pictures stage 2 must learn to separate.
"""
from __future__ import annotations

import torch

from pocketclip.models.data.demo_data import PairSet
from pocketclip.models.eval.evaluate import embed_pairs


def teacher_index(teacher: torch.nn.Module, data: PairSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher embeddings of every training image and caption, computed once."""
    return embed_pairs(teacher, data)


def mine_hard_negatives(text: torch.Tensor, image: torch.Tensor, keys: list[tuple], pool: int,
                        chunk: int = 2048) -> torch.Tensor:
    """(N, pool) indices of the most similar images of another scene, per caption."""
    key_ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    scene = torch.tensor([key_ids[k] for k in keys])
    out = []
    for start in range(0, text.shape[0], chunk):
        sim = text[start:start + chunk] @ image.T  # (chunk, N)
        same = scene[start:start + chunk, None] == scene[None, :]
        sim[same] = float("-inf")  # a picture of the caption's own scene is no negative
        top = sim.topk(pool, dim=1)
        if torch.isneginf(top.values).any():
            raise ValueError(f"hard_negatives_pool {pool} is more than the images of other scenes some captions have")
        out.append(top.indices)
    return torch.cat(out)
