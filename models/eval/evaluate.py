"""Retrieval quality on the held-out demo split (R@1/5/10 both ways), model size and CPU latency per tower."""
from __future__ import annotations

import numpy as np
import torch

from pocketclip.models.data.demo_data import PairSet
from pocketclip.models.eval.retrieval import group_ids, protocol
from pocketclip.models.towers.dual_encoder import DualEncoder, count_parameters, parameter_bytes
from pocketclip.runtime.parity.quality import median_ms


@torch.no_grad()
def embed_pairs(model: torch.nn.Module, data: PairSet, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, D) image and (N, D) text embeddings of a pair set, with the eager model."""
    images, texts = [], []
    for start in range(0, len(data), batch_size):
        part = slice(start, start + batch_size)
        images.append(model.image(data.pixels(part)))
        texts.append(model.text(data.ids[part]))
    return torch.cat(images), torch.cat(texts)


def retrieval_metrics(image: torch.Tensor, text: torch.Tensor, keys: list[tuple]) -> dict[str, float]:
    """R@1/5/10 both ways on pairs: query i's pair is item i; an item of the same scene also counts.

    Demo scenes are drawn from a finite attribute space, so two pictures can fit one caption equally;
    counting only the index would punish a correct answer.
    """
    groups = group_ids(keys)
    report = protocol(image, text, groups, groups)
    report.pop("mean_recall")
    return report


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
