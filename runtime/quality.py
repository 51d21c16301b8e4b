"""The design's quality bars (the parity contract) and the measurements they are judged on.

The exporter refuses an artifact that misses them; `pocketclip parity` reports them; both use this.
"""
from __future__ import annotations

import numpy as np

# The design's quality bars (shared/DESIGN.md, "Quality bars").
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
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, ref)]))


def agreement(got: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    cos = np.sum(got * ref, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
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
