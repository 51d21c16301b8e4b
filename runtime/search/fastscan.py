"""The desktop's PQ candidate stage in faiss, built from the bundle's codebooks and the store's own codes.

numpy's look-up-table scan is the reference (runtime/search/pq.py) and the fallback; faiss scans the same codes
with SIMD: IndexPQFastScan keeps 4-bit look-up tables in registers (K = 16, packed nibbles), IndexPQ
scans 8-bit codes (K = 256). Nothing is trained or encoded here: the ProductQuantizer's centroids are
the bundle's codebooks, and the codes are the stored bytes (faiss's PQ code layout is the store's: one
byte per sub-space, or two 4-bit codes a byte with the even sub-space in the low nibble), so the
candidates come from exactly the codes a phone computes.

Fast-scan rounds its look-up tables to 8 bits, so its scores are close to, not equal to, the float ones;
callers re-rank its candidates (exactly, or by the float tables in `pq` mode).
"""
from __future__ import annotations

import numpy as np

from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.search.pq import PQScanner

try:
    import faiss
except ImportError:  # the runtime works without it: numpy scans the same codes
    faiss = None

FAISS_CODEWORDS = {16: 4, 256: 8}  # K -> bits per code that faiss's scanners take


class FaissScanner:
    """A faiss index over stored codes (N, code_bytes), row-major as the store keeps them."""

    def __init__(self, books: Codebooks, rows: np.ndarray):
        if faiss is None or books.codewords not in FAISS_CODEWORDS:
            raise ValueError(f"faiss scans K = 16 or 256 codewords, not {books.codewords}" if faiss else
                             "faiss is not installed")
        if rows.ndim != 2 or rows.shape[1] != books.code_bytes:
            raise ValueError(f"codes {rows.shape} do not fit {books.code_bytes} bytes a photo")
        bits = FAISS_CODEWORDS[books.codewords]
        pq = faiss.IndexPQ(books.dim, books.subspaces, bits, faiss.METRIC_INNER_PRODUCT)
        faiss.copy_array_to_vector(np.ascontiguousarray(books.centroids, dtype=np.float32).ravel(), pq.pq.centroids)
        pq.is_trained = True
        pq.add_sa_codes(np.ascontiguousarray(rows, dtype=np.uint8))  # IndexFastScan has no add_sa_codes ...
        # ... but builds from an IndexPQ, packing its codes into 32-vector SIMD blocks.
        self.index = faiss.IndexPQFastScan(pq, 32) if bits == 4 else pq
        self.books = books

    def __len__(self) -> int:
        return self.index.ntotal

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, faiss's approximate scores) of the n best, best first."""
        n = min(n, len(self))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, rows = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), n)
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def top(self, query: np.ndarray, n: int) -> np.ndarray:
        return self.search(query, n)[0]


def candidate_stage(books: Codebooks, rows: np.ndarray) -> FaissScanner | PQScanner:
    """faiss when it is installed and takes these codebooks, else numpy's scan (column-major copy)."""
    if faiss is not None and books.codewords in FAISS_CODEWORDS:
        return FaissScanner(books, rows)
    return PQScanner(books, np.ascontiguousarray(np.asarray(rows).T))
