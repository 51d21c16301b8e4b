"""Product quantization for the compressed index: codes, asymmetric distances, exact re-rank.

Vectors are cut into M sub-vectors; each is replaced by the index of its nearest of K=256 codewords
(one byte), so a photo costs M bytes. A query is not quantized (asymmetric distance): per query,
a (M, K) table of inner products between its sub-vectors and every codeword turns scoring a photo
into M table look-ups. Codes are kept column-major, one contiguous array per sub-space, which the
design measured ~1.7x faster to scan than row-major. Candidates are then re-ranked exactly on the
full vectors (LightningDOT's retrieve-then-re-rank).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime.search import top


@dataclass(frozen=True)
class Codebooks:
    centroids: np.ndarray  # (M, K, dim / M) float32

    @property
    def subspaces(self) -> int:
        return self.centroids.shape[0]

    @property
    def dim(self) -> int:
        return self.centroids.shape[0] * self.centroids.shape[2]

    def split(self, vectors: np.ndarray) -> np.ndarray:
        """(N, dim) -> (M, N, dim / M)."""
        n = vectors.shape[0]
        return vectors.reshape(n, self.subspaces, -1).transpose(1, 0, 2)

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """(N, dim) float -> (M, N) uint8 codes, column-major: the nearest codeword per sub-space."""
        parts = self.split(np.asarray(vectors, dtype=np.float32))
        codes = np.empty(parts.shape[:2], dtype=np.uint8)
        for m, (part, words) in enumerate(zip(parts, self.centroids)):
            # argmin |x - c|^2 = argmax (2 x.c - |c|^2), without forming the differences
            codes[m] = np.argmax(2 * part @ words.T - np.sum(words * words, axis=1), axis=1)
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """(M, N) codes -> (N, dim) reconstructed vectors."""
        return np.concatenate([self.centroids[m][codes[m]] for m in range(self.subspaces)], axis=1)

    def lookup_tables(self, query: np.ndarray) -> np.ndarray:
        """(M, K) inner products of the query's sub-vectors with every codeword."""
        parts = np.asarray(query, dtype=np.float32).reshape(self.subspaces, -1)
        return np.einsum("md,mkd->mk", parts, self.centroids)


def adc_scores(tables: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Approximate inner product of the query with every coded vector: M look-ups each."""
    scores = np.zeros(codes.shape[1], dtype=np.float32)
    for table, column in zip(tables, codes):
        scores += table[column]
    return scores


def search_pq(codebooks: Codebooks, codes: np.ndarray, query: np.ndarray, k: int,
              vectors: np.ndarray | None = None, candidates: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores) of the k best: by PQ alone, or PQ for `candidates` then exact on `vectors`."""
    approx = adc_scores(codebooks.lookup_tables(query), codes)
    if vectors is None:
        best = top(approx, k)
        return best, approx[best]
    pool = top(approx, max(k, candidates))
    exact = vectors[pool] @ np.asarray(query, dtype=np.float32)
    order = top(exact, k)
    return pool[order], exact[order]
