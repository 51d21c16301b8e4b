"""Product quantization for the compressed index: codes, asymmetric distances, exact re-rank.

Vectors are cut into M sub-vectors; each is replaced by the index of its nearest of K=256 codewords
(one byte), so a photo costs M bytes. A query is not quantized (asymmetric distance): per query,
a (M, K) table of inner products between its sub-vectors and every codeword turns scoring a photo
into M table look-ups. Codes are kept column-major, one contiguous array per sub-space, which the
design measured ~1.7x faster to scan than row-major. Candidates are then re-ranked exactly on the
full vectors (LightningDOT's retrieve-then-re-rank).

numpy has no SIMD look-up kernel (faiss's fast-scan is one), so the scan halves its gathers instead:
two sub-spaces' codes make one uint16 index into a (K*K) table of summed inner products (256 KiB,
cache-resident), measured 1.8x faster than one gather per sub-space on one core.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle import Bundle, BundleError
from pocketclip.runtime.quality import mean_overlap
from pocketclip.runtime.search import top


@dataclass(frozen=True)
class Codebooks:
    centroids: np.ndarray  # (M, K, dim / M) float32

    @property
    def subspaces(self) -> int:
        return self.centroids.shape[0]

    @property
    def codewords(self) -> int:
        return self.centroids.shape[1]

    @property
    def dim(self) -> int:
        return self.centroids.shape[0] * self.centroids.shape[2]

    def split(self, vectors: np.ndarray) -> np.ndarray:
        """(N, dim) -> (M, N, dim / M)."""
        n = vectors.shape[0]
        return vectors.reshape(n, self.subspaces, -1).transpose(1, 0, 2)

    def encode(self, vectors: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """(N, dim) float -> (M, N) uint8 codes, column-major: the nearest codeword per sub-space."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"vectors of shape {vectors.shape} do not fit codebooks of dim {self.dim}")
        codes = np.empty((self.subspaces, len(vectors)), dtype=np.uint8)
        norms = np.sum(self.centroids * self.centroids, axis=2)  # (M, K)
        for start in range(0, len(vectors), chunk):
            parts = self.split(vectors[start:start + chunk])
            for m, (part, words) in enumerate(zip(parts, self.centroids)):
                # argmin |x - c|^2 = argmax (2 x.c - |c|^2), without forming the differences
                codes[m, start:start + chunk] = np.argmax(2 * part @ words.T - norms[m], axis=1)
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """(M, N) codes -> (N, dim) reconstructed vectors."""
        return np.concatenate([self.centroids[m][codes[m]] for m in range(self.subspaces)], axis=1)

    def lookup_tables(self, query: np.ndarray) -> np.ndarray:
        """(M, K) inner products of the query's sub-vectors with every codeword."""
        parts = np.asarray(query, dtype=np.float32).reshape(self.subspaces, -1)
        return np.einsum("md,mkd->mk", parts, self.centroids)


def save_codebooks(books: Codebooks, path: str | Path) -> None:
    np.save(path, np.ascontiguousarray(books.centroids, dtype="<f4"))


def load_codebooks(path: str | Path) -> Codebooks:
    """Codebooks from a (M, K, dim / M) float32 .npy; K <= 256 so that a code is one byte."""
    centroids = np.load(path, allow_pickle=False)
    if centroids.ndim != 3 or centroids.dtype != np.float32 or not 1 < centroids.shape[1] <= 256:
        raise ValueError(f"{path}: expected float32 (M, K<=256, d) codebooks, got {centroids.dtype} "
                         f"{centroids.shape}")
    if not np.isfinite(centroids).all():
        raise ValueError(f"{path}: codebooks hold NaN or infinite values")
    return Codebooks(centroids)


def bundle_codebooks(bundle: Bundle) -> Codebooks | None:
    """The bundle's PQ codebooks after the sha256 check, or None when it has none."""
    if "pq" not in bundle.manifest:
        return None
    path = bundle.verified(bundle.manifest["pq"]["file"])
    try:
        books = load_codebooks(path)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: not usable codebooks ({exc})") from None
    if books.dim != bundle.embed_dim:
        raise BundleError(f"{bundle.root}: codebooks of dim {books.dim} for embeddings of dim {bundle.embed_dim}")
    return books


def adc_scores(tables: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Approximate inner product of the query with every coded vector: M look-ups each."""
    scores = np.zeros(codes.shape[1], dtype=np.float32)
    for table, column in zip(tables, codes):
        scores += np.take(table, column)
    return scores


class PQScanner:
    """ADC over many codes: pairs of sub-spaces share one uint16 look-up (see the module docstring)."""

    def __init__(self, books: Codebooks, codes: np.ndarray):
        if codes.ndim != 2 or codes.shape[0] != books.subspaces or codes.dtype != np.uint8:
            raise ValueError(f"codes {codes.dtype} {codes.shape} do not fit {books.subspaces} sub-spaces")
        self.books, self.k = books, books.codewords
        even = books.subspaces - books.subspaces % 2
        self.pairs = (codes[0:even:2].astype(np.uint16) * self.k) + codes[1:even:2]  # (M // 2, N)
        self.single = codes[even:]  # the last sub-space when M is odd

    def __len__(self) -> int:
        return self.pairs.shape[1] if len(self.pairs) else self.single.shape[1]

    def scores(self, query: np.ndarray) -> np.ndarray:
        tables = self.books.lookup_tables(query)
        even = len(self.pairs) * 2
        paired = (tables[0:even:2, :, None] + tables[1:even:2, None, :]).reshape(len(self.pairs), -1)
        scores = np.zeros(len(self), dtype=np.float32)
        for table, column in zip(paired, self.pairs):
            scores += np.take(table, column)
        return scores + adc_scores(tables[even:], self.single) if len(self.single) else scores


def rerank(pool: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact scores of the candidate rows (float16 or float32 vectors), the k best of them."""
    exact = vectors[pool].astype(np.float32) @ np.asarray(query, dtype=np.float32)
    order = top(exact, k)
    return pool[order], exact[order]


def search_pq(scanner: PQScanner, query: np.ndarray, k: int, vectors: np.ndarray | None = None,
              candidates: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores) of the k best: by PQ alone, or PQ for `candidates` then exact on `vectors`."""
    approx = scanner.scores(query)
    if vectors is None:
        best = top(approx, k)
        return best, approx[best]
    return rerank(top(approx, max(k, candidates)), vectors, query, k)


def recall_at_10(books: Codebooks, vectors: np.ndarray, queries: np.ndarray, candidates: int | None) -> float:
    """Mean share of the exact top-10 that pq (candidates None) or pq+rerank finds, one query at a time."""
    scanner = PQScanner(books, books.encode(vectors))
    exact = [top(vectors @ query, 10) for query in queries]
    found = [search_pq(scanner, query, 10, vectors if candidates else None, candidates or 0)[0]
             for query in queries]
    return round(mean_overlap(found, exact), 4)
