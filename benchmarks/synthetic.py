"""Synthetic photo embeddings for the search benchmarks: real embeddings as a base, noise along their own
covariance, so the vectors keep the power-law spectrum of a model's (recall depends heavily on that)."""
from __future__ import annotations

import numpy as np


def synthetic(base: np.ndarray, n: int, noise: float, seed: int = 0, chunk: int = 100_000) -> tuple[np.ndarray, float]:
    """n unit vectors, random base rows plus noise ~ N(0, noise^2 * cov(base)), as float16; and their
    mean cosine to the base row they came from (how far the noise moves them)."""
    rng = np.random.default_rng(seed)
    root = np.linalg.cholesky(np.cov(base, rowvar=False) + 1e-6 * np.eye(base.shape[1])).astype(np.float32)
    out = np.empty((n, base.shape[1]), dtype=np.float16)
    cosines = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        rows = base[rng.integers(0, len(base), m)]
        x = rows + noise * rng.standard_normal((m, base.shape[1]), dtype=np.float32) @ root.T
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start:start + m] = x
        cosines.append(np.mean(np.sum(x * rows, axis=1)))
    return out, float(np.mean(cosines))
