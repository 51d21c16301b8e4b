"""The design's quality bars (the parity contract) and the measurements they are judged on.

The exporter refuses an artifact that misses them; `pocketclip parity` reports them; both use this.
"""
from __future__ import annotations

import time

import numpy as np

from pocketclip.runtime.bundle.backends import run_batched
from pocketclip.runtime.parity.golden import Golden
from pocketclip.runtime.search.hits import mean_overlap

# The design's quality bars (docs/architecture.md; recorded in each artifact's manifest entry).
BARS = {
    "fp32": {"cosine_min": 0.99999, "max_abs": 1e-4},
    "fp16": {"cosine_min": 0.999},
    "int8": {"cosine_min": {"image": 0.99, "text": 0.98}, "top10_overlap_min": 0.9},
}


def top_k_overlap(text: np.ndarray, images: np.ndarray, ref_text: np.ndarray, ref_images: np.ndarray,
                  k: int = 10) -> float:
    """Mean share of each caption's top-k images that the reference top-k also holds."""
    got = np.argsort(-(text @ images.T), axis=1)[:, :k]
    ref = np.argsort(-(ref_text @ ref_images.T), axis=1)[:, :k]
    return mean_overlap(got, ref, k)


def cosines(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays."""
    got, ref = np.atleast_2d(got), np.atleast_2d(ref)
    return np.sum(got * ref, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))


def agreement(got: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    cos = cosines(got, ref)
    norms = np.linalg.norm(got, axis=1)
    return {"cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
            "max_abs": float(np.abs(got - ref).max()), "norm_error_max": float(np.abs(norms - 1).max()),
            "finite": bool(np.isfinite(got).all())}


def bar_for(precision: str, tower: str) -> dict[str, float]:
    key = "int8" if precision == "int8" or precision.startswith("palettized") else precision
    bar = dict(BARS[key])
    if isinstance(bar.get("cosine_min"), dict):
        bar["cosine_min"] = bar["cosine_min"][tower]
    return bar


def misses(measured: dict, bar: dict) -> list[str]:
    """Every bar `measured` misses, and by how much (empty when all are met)."""
    missed = []
    if not measured.get("finite", True):
        missed.append("outputs are not finite")
    if measured.get("norm_error_max", 0) > 1e-5:
        missed.append(f"L2 norm off by {measured['norm_error_max']:.2e} (bar 1e-5)")
    if "cosine_min" in bar and measured["cosine_min"] < bar["cosine_min"]:
        missed.append(f"cosine {measured['cosine_min']:.6f} < {bar['cosine_min']}")
    if "max_abs" in bar and measured["max_abs"] > bar["max_abs"]:
        missed.append(f"max abs diff {measured['max_abs']:.2e} > {bar['max_abs']:.0e}")
    if measured.get("batch_vs_single_max_abs", 0) > 1e-5:
        missed.append(f"batch differs from singletons by {measured['batch_vs_single_max_abs']:.2e} (bar 1e-5)")
    if "top10_overlap_min" in bar and measured.get("top10_overlap", 1.0) < bar["top10_overlap_min"]:
        missed.append(f"top-10 overlap {measured['top10_overlap']:.3f} < {bar['top10_overlap_min']}")
    return missed


def median_ms(fn, example, repeats: int = 20, warmup: int = 1) -> float:
    """Median wall time of one call `fn(example)`, in milliseconds."""
    for _ in range(warmup):
        fn(example)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(example)
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1000, 3)


def measure_tower(tower, kind: str, golden: Golden, fixed_batch: int | None, pixels: np.ndarray | None = None,
                  ids: np.ndarray | None = None) -> dict:
    """Run one tower on the golden inputs (or on `pixels`/`ids` standing in for them, e.g. decoded on
    this machine) and the golden gallery; the numbers its bars are judged on."""
    if kind == "image":
        inputs = np.concatenate([golden.pixels if pixels is None else pixels, golden.gallery_pixels])
        ref = np.concatenate([golden.image_ref, golden.gallery_image_ref])
    else:
        inputs = np.concatenate([golden.ids if ids is None else ids, golden.gallery_ids])
        ref = np.concatenate([golden.text_ref, golden.gallery_text_ref])
    got = run_batched(tower, inputs, fixed_batch, ref.shape[1])
    result = agreement(got, ref)
    if kind == "image":
        gallery = got[-len(golden.gallery_pixels):]
        result["top10_overlap"] = top_k_overlap(golden.gallery_text_ref, gallery, golden.gallery_text_ref,
                                                golden.gallery_image_ref)
    else:
        gallery = got[-len(golden.gallery_ids):]
        result["top10_overlap"] = top_k_overlap(gallery, golden.gallery_image_ref, golden.gallery_text_ref,
                                                golden.gallery_image_ref)
    if fixed_batch is None and len(inputs) >= 4:
        singles = np.concatenate([tower(inputs[i:i + 1]) for i in range(4)])
        result["batch_vs_single_max_abs"] = float(np.abs(tower(inputs[:4]) - singles).max())
    result["cpu_ms_one_thread"] = median_ms(tower, inputs[:1])
    return {k: round(v, 7) if isinstance(v, float) else v for k, v in result.items()}
