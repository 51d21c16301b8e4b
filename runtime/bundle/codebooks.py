"""A bundle's product-quantization codebooks: loading them (after the sha256 check), encoding vectors.

Vectors are cut into M sub-vectors; each is replaced by the index of its nearest of K codewords. With
16 < K <= 256 a code is one byte per sub-space (M bytes a photo); with K <= 16 two 4-bit codes share a
byte, the even sub-space in the low nibble (M / 2 bytes a photo, faiss's PQ4 layout, so the store's
codes go into faiss unchanged). Scanning codes is search's business (runtime/search/pq.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.manifest import Bundle, BundleError


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

    def code_blobs(self, vectors: np.ndarray) -> list[bytes]:
        """One pq_code blob per vector (code_bytes each), encoded from the vectors as the store holds them
        (rounded through float16)."""
        stored = np.asarray(vectors, dtype="<f2").astype(np.float32)
        return [row.tobytes() for row in np.ascontiguousarray(self.stored_codes(stored).T)]

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

