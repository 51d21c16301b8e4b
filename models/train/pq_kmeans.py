"""The classic product-quantization baseline: k-means codebooks per sub-space (scikit-learn)."""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from pocketclip.runtime.bundle.codebooks import Codebooks


def fit_kmeans_codebooks(vectors: np.ndarray, subspaces: int, codewords: int = 256, seed: int = 0,
                         max_train: int = 100_000) -> Codebooks:
    """K-means codebooks fitted on (a sample of) the stored vectors, one per sub-space."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape[1] % subspaces:
        raise ValueError(f"dim {vectors.shape[1]} is not divisible into {subspaces} sub-spaces")
    if len(vectors) < codewords:
        raise ValueError(f"{len(vectors)} vectors cannot fit {codewords} codewords")
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), size=min(max_train, len(vectors)), replace=False)]
    parts = sample.reshape(len(sample), subspaces, -1)
    centroids = np.stack([
        KMeans(n_clusters=codewords, n_init=1, max_iter=50, random_state=seed).fit(parts[:, m]).cluster_centers_
        for m in range(subspaces)]).astype(np.float32)
    return Codebooks(centroids)
