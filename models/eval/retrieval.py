"""The standard retrieval protocol (Karpathy test splits: five captions per image).

Every caption is a text-to-image query that hits when its image is in the top K; every image is an
image-to-text query that hits when any of its captions is. Matches are by group: on Karpathy data a
group is one image; in the demo world it is one scene, whose pictures are interchangeable. Reported
as R@1/5/10 both ways and their mean, for a PyTorch model or for exported artifacts run through
the runtime's own backends.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

import numpy as np
import torch

from pocketclip.models.data.demo_data import trim_ids
from pocketclip.models.data.sources import Source, open_source
from pocketclip.models.data.unit_samples import unit_loader

KS = (1, 5, 10)
Encode = Callable[[np.ndarray], np.ndarray | torch.Tensor]


def recall_at_k(sim: torch.Tensor, query_groups: torch.Tensor, gallery_groups: torch.Tensor,
                ks: tuple[int, ...] = KS) -> dict[int, float]:
    """Share of queries (rows of sim) with an item of their own group among their top k gallery items."""
    k_max = min(max(ks), sim.shape[1])
    top = sim.topk(k_max, dim=1).indices  # (Q, k_max)
    hits = gallery_groups[top] == query_groups[:, None]
    return {k: float(hits[:, :k].any(dim=1).double().mean()) for k in ks}


def protocol(image: torch.Tensor, text: torch.Tensor, image_groups: torch.Tensor, text_groups: torch.Tensor) -> dict:
    """R@1/5/10 text->image and image->text (percent, 2 decimals) and their mean."""
    sim = text.float() @ image.float().T  # (texts, images)
    t2i = recall_at_k(sim, text_groups, image_groups)
    i2t = recall_at_k(sim.T, image_groups, text_groups)
    report = {**{f"t2i_r{k}": round(v * 100, 2) for k, v in t2i.items()},
              **{f"i2t_r{k}": round(v * 100, 2) for k, v in i2t.items()}}
    report["mean_recall"] = round(sum(report.values()) / len(report), 2)
    return report


def group_ids(groups: list) -> torch.Tensor:
    index: dict = {}
    return torch.tensor([index.setdefault(g, len(index)) for g in groups])


def evaluate_encoders(source: Source, preprocess: dict, context_length: int, encode_image: Encode,
                      encode_ids: Encode, workers: int = 2, batch: int = 256) -> dict:
    """Embed every picture once and every caption of a usable picture, then apply the protocol."""
    images, texts, image_groups, text_groups = [], [], [], []
    image_index: dict[str, int] = {}
    skipped: Counter = Counter()
    for chunk in unit_loader(source, list(range(len(source.units()))), preprocess, context_length, workers, batch):
        skipped.update(chunk["skipped"])
        rows = chunk["has_pixels"].numpy()
        if rows.any():
            images.append(torch.as_tensor(encode_image(chunk["pixels"][rows].numpy())).float())
        for i in np.flatnonzero(rows):
            image_index[chunk["image_ids"][i]] = len(image_index)
            image_groups.append(chunk["groups"][i])
        captions = (chunk["caption_ok"] & chunk["image_ok"]).numpy()
        captions &= np.array([image_id in image_index for image_id in chunk["image_ids"]], dtype=bool)
        if captions.any():
            texts.append(torch.as_tensor(encode_ids(chunk["ids"][captions].numpy())).float())
            text_groups += [chunk["groups"][i] for i in np.flatnonzero(captions)]
    if not images or not texts:
        raise ValueError(f"{source.spec}: no usable image-caption pairs to evaluate on")
    ids = group_ids(image_groups + text_groups)
    report = protocol(torch.cat(images), torch.cat(texts), ids[: len(image_groups)], ids[len(image_groups):])
    return {"data": source.spec, "images": len(image_groups), "captions": len(text_groups),
            "skipped": dict(skipped), **report}


def evaluate_source(model: torch.nn.Module, spec: str, images: str | None = None, split: str = "test",
                    workers: int = 2) -> dict:
    """A PyTorch model on a data source by the protocol."""
    @torch.no_grad()
    def image(pixels: np.ndarray) -> torch.Tensor:
        return model.image(torch.from_numpy(pixels))

    @torch.no_grad()
    def text(ids: np.ndarray) -> torch.Tensor:
        return model.text(trim_ids(torch.from_numpy(ids), model.cfg.text.eot_id))

    source = open_source(spec, images, split)
    cfg = model.cfg
    return {"model": cfg.name, **evaluate_encoders(source, dataclasses.asdict(cfg.preprocess), cfg.text.context_length,
                                                   image, text, workers)}


def evaluate_bundle(bundle_path: str, artifacts: list[str], spec: str, images: str | None = None,
                    split: str = "test", workers: int = 2) -> dict:
    """Exported artifacts by the protocol, through the runtime's backends (what a phone runs).

    A tower no named artifact covers runs its fp32 artifact of the same format, so one quantized
    tower's cost is measured alone."""
    from pocketclip.runtime.bundle.encoders import artifact_encoder, artifact_entry
    from pocketclip.runtime.bundle.manifest import BundleError, load_bundle

    bundle = load_bundle(bundle_path)
    chosen: dict[str, dict] = {}
    for file in artifacts:
        entry = artifact_entry(bundle, file)
        if entry["tower"] in chosen:
            raise BundleError(f"two {entry['tower']} artifacts named: {chosen[entry['tower']]['file']} and {file}")
        chosen[entry["tower"]] = entry
    fmt = next(iter(chosen.values()))["format"] if chosen else "onnx"
    for tower in ("image", "text"):
        chosen.setdefault(tower, bundle.artifact(tower, fmt, "fp32"))
    encode_image, encode_text = artifact_encoder(bundle, chosen["image"]), artifact_encoder(bundle, chosen["text"])
    source = open_source(spec, images, split)
    report = evaluate_encoders(source, bundle.preprocess, bundle.manifest["text"]["context_length"],
                               encode_image, encode_text, workers)
    return {"model": bundle.manifest["model"]["name"], "artifacts": {t: e["file"] for t, e in chosen.items()},
            **report}
