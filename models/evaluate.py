"""Retrieval quality (R@1/5/10 both ways on a held-out split), model size and CPU latency per tower."""
from __future__ import annotations

import numpy as np
import torch

from pocketclip.models.demo_data import PairSet
from pocketclip.models.dual_encoder import DualEncoder, count_parameters, parameter_bytes
from pocketclip.runtime.quality import median_ms


@torch.no_grad()
def embed_pairs(model: torch.nn.Module, data: PairSet, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, D) image and (N, D) text embeddings of a pair set, with the eager model."""
    images, texts = [], []
    for start in range(0, len(data), batch_size):
        part = slice(start, start + batch_size)
        images.append(model.image(data.pixels(part)))
        texts.append(model.text(data.ids[part]))
    return torch.cat(images), torch.cat(texts)


def recall_at_k(sim: torch.Tensor, query_keys: list[tuple], gallery_keys: list[tuple],
                ks: tuple[int, ...] = (1, 5, 10)) -> dict[int, float]:
    """Share of queries whose top-k holds their pair; a gallery item of the same scene also counts.

    Query i's pair is gallery item i. Demo scenes are drawn from a finite attribute space, so two
    pictures can fit one caption equally; counting only the index would punish a correct answer.
    """
    top = sim.topk(max(ks), dim=1).indices.numpy()  # (Q, max k)
    hits = np.array([[gallery_keys[j] == query_keys[i] for j in row] for i, row in enumerate(top)])
    return {k: float(hits[:, :k].any(axis=1).mean()) for k in ks}


def retrieval_metrics(image: torch.Tensor, text: torch.Tensor, keys: list[tuple]) -> dict[str, float]:
    sim = text @ image.T  # (N texts, N images)
    t2i, i2t = recall_at_k(sim, keys, keys), recall_at_k(sim.T, keys, keys)
    return {**{f"t2i_r{k}": round(v * 100, 2) for k, v in t2i.items()},
            **{f"i2t_r{k}": round(v * 100, 2) for k, v in i2t.items()}}


def tower_latency(model: DualEncoder, batch: int = 1, repeats: int = 20) -> dict[str, float]:
    cfg = model.cfg
    pixels = torch.randn(batch, 3, cfg.image.image_size, cfg.image.image_size)
    ids = torch.zeros(batch, cfg.text.context_length, dtype=torch.long)
    ids[:, 0], ids[:, 1:12], ids[:, 12] = 49406, 320, cfg.text.eot_id  # a 10-word caption padded to 77
    with torch.no_grad():
        return {"image_ms": median_ms(model.image, pixels, repeats, warmup=3),
                "text_ms": median_ms(model.text, ids, repeats, warmup=3)}


def size_report(model: DualEncoder) -> dict[str, int]:
    return {"params": count_parameters(model), "bytes": parameter_bytes(model),
            "image_params": count_parameters(model.image), "text_params": count_parameters(model.text)}


def evaluate(model: DualEncoder, data: PairSet) -> dict:
    image, text = embed_pairs(model, data)
    return {"model": model.cfg.name, "pairs": len(data), **size_report(model), **tower_latency(model),
            **retrieval_metrics(image, text, data.keys)}
