"""Product quantization for the compressed index: codes, asymmetric distances, exact re-rank.

Vectors are cut into M sub-vectors; each is replaced by the index of its nearest of K codewords. With
16 < K <= 256 a code is one byte per sub-space (M bytes a photo); with K <= 16 two 4-bit codes share a
byte, the even sub-space in the low nibble (M / 2 bytes a photo, faiss's PQ4 layout, so the store's
codes go into faiss unchanged). A query is not quantized (asymmetric distance): per query,
a (M, K) table of inner products between its sub-vectors and every codeword turns scoring a photo
into M table look-ups. Codes are kept column-major, one contiguous array per sub-space, which the
design measured ~1.7x faster to scan than row-major. Candidates are then re-ranked exactly on the
full vectors (LightningDOT's retrieve-then-re-rank).

numpy has no SIMD look-up kernel (faiss's fast-scan is one, runtime/fastscan.py), so the scan halves
its gathers instead: two sub-spaces' codes make one index into a table of summed inner products
(K*K entries), measured 1.8x faster than one gather per sub-space on one core. For 4-bit codes the
packed byte already is that index (16*16 = 256 entries), so the stored bytes are scanned as they are.
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

    @property
    def nibbles(self) -> bool:
        """True when a code is 4 bits (K <= 16): two sub-spaces per byte."""
        return self.codewords <= 16

    @property
    def code_bytes(self) -> int:
        """Bytes per photo: embeddings.pq_code's length."""
        return (self.subspaces + 1) // 2 if self.nibbles else self.subspaces

    def pack(self, codes: np.ndarray) -> np.ndarray:
        """(M, N) codes -> (code_bytes, N) stored bytes: byte j = code 2j | code 2j+1 << 4 for 4-bit codes."""
        if not self.nibbles:
            return codes
        padded = codes if self.subspaces % 2 == 0 else np.vstack([codes, np.zeros((1, codes.shape[1]), np.uint8)])
        return (padded[0::2] | (padded[1::2] << 4)).astype(np.uint8)

    def unpack(self, stored: np.ndarray) -> np.ndarray:
        """(code_bytes, N) stored bytes -> (M, N) codes, one per sub-space."""
        if not self.nibbles:
            return stored
        codes = np.empty((2 * stored.shape[0], stored.shape[1]), dtype=np.uint8)
        codes[0::2], codes[1::2] = stored & 0x0F, stored >> 4
        return codes[:self.subspaces]

    def stored_codes(self, vectors: np.ndarray) -> np.ndarray:
        """(N, dim) -> (code_bytes, N) column-major stored bytes (what PQScanner scans)."""
        return self.pack(self.encode(vectors))

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
    """Codebooks from a (M, K, dim / M) float32 .npy; K <= 256 so that a code fits a byte (or a nibble)."""
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
    """ADC over many stored codes (code_bytes, N), column-major: pairs of sub-spaces share one look-up
    (see the module docstring)."""

    def __init__(self, books: Codebooks, stored: np.ndarray):
        if stored.ndim != 2 or stored.shape[0] != books.code_bytes or stored.dtype != np.uint8:
            raise ValueError(f"codes {stored.dtype} {stored.shape} do not fit {books.code_bytes} bytes a photo")
        self.books = books
        if books.nibbles:  # the packed byte is the pair's index already (a memory map is scanned as it is)
            self.pairs, self.single, self.side = stored, stored[:0], 16
        else:
            even = books.subspaces - books.subspaces % 2
            self.pairs = (stored[1:even:2].astype(np.uint16) * books.codewords) + stored[0:even:2]  # (M // 2, N)
            self.single, self.side = stored[even:], books.codewords  # the last sub-space when M is odd

    def __len__(self) -> int:
        return self.pairs.shape[1] if len(self.pairs) else self.single.shape[1]

    def scores(self, query: np.ndarray) -> np.ndarray:
        tables = self.books.lookup_tables(query)
        if tables.shape[1] < self.side or len(tables) % 2:  # 4-bit codes of K < 16 or odd M: pad with zeros
            rows = len(tables) % 2 if self.books.nibbles else 0
            tables = np.pad(tables, ((0, rows), (0, self.side - tables.shape[1])))
        even = len(self.pairs) * 2
        # index = low + side * high, low the even sub-space: table[high, low] = T[2j+1][high] + T[2j][low]
        paired = (tables[1:even:2, :, None] + tables[0:even:2, None, :]).reshape(len(self.pairs), -1)
        scores = np.zeros(len(self), dtype=np.float32)
        for table, column in zip(paired, self.pairs):
            scores += np.take(table, column)
        return scores + adc_scores(tables[even:], self.single) if len(self.single) else scores

    def top(self, query: np.ndarray, n: int) -> np.ndarray:
        """Rows of the n best codes by ADC, best first."""
        return top(self.scores(query), n)


def rerank(pool: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact scores of the candidate rows (float16 or float32 vectors), the k best of them."""
    exact = vectors[pool].astype(np.float32) @ np.asarray(query, dtype=np.float32)
    order = top(exact, k)
    return pool[order], exact[order]


def search_pq(scanner: PQScanner, query: np.ndarray, k: int, vectors: np.ndarray | None = None,
              candidates: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores) of the k best: by PQ alone, or PQ for `candidates` then exact on `vectors`."""
    if vectors is None:
        approx = scanner.scores(query)
        best = top(approx, k)
        return best, approx[best]
    return rerank(scanner.top(query, max(k, candidates)), vectors, query, k)


def recall_at_10(books: Codebooks, vectors: np.ndarray, queries: np.ndarray, candidates: int | None) -> float:
    """Mean share of the exact top-10 that pq (candidates None) or pq+rerank finds, one query at a time."""
    scanner = PQScanner(books, books.stored_codes(vectors))
    exact = [top(vectors @ query, 10) for query in queries]
    found = [search_pq(scanner, query, 10, vectors if candidates else None, candidates or 0)[0]
             for query in queries]
    return round(mean_overlap(found, exact), 4)
