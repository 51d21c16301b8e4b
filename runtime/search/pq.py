"""Product quantization search: asymmetric distances over stored codes, exact re-rank.

Codes are the bundle's codebooks' (runtime/bundle/codebooks.py). A query is not quantized (asymmetric distance): per query,
a (M, K) table of inner products between its sub-vectors and every codeword turns scoring a photo
into M table look-ups. Codes are kept column-major, one contiguous array per sub-space, which the
design measured ~1.7x faster to scan than row-major. Candidates are then re-ranked exactly on the
full vectors (LightningDOT's retrieve-then-re-rank).

numpy has no SIMD look-up kernel (faiss's fast-scan is one, runtime/search/fastscan.py), so the scan halves
its gathers instead: two sub-spaces' codes make one index into a table of summed inner products
(K*K entries), measured 1.8x faster than one gather per sub-space on one core. For 4-bit codes the
packed byte already is that index (16*16 = 256 entries), so the stored bytes are scanned as they are.
"""
from __future__ import annotations

import numpy as np

from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.search.hits import mean_overlap, top


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
        # (pairs, side * side): spelled out, since -1 cannot be inferred when there is no pair (M = 1)
        paired = (tables[1:even:2, :, None] + tables[0:even:2, None, :]).reshape(len(self.pairs), self.side ** 2)
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
