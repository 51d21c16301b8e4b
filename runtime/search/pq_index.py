"""Search over the store's PQ codes, and the search mode a library uses.

Codes belong to one set of codebooks: the store's meta `pq_codebooks_sha256` names it (Store.bind_codebooks
re-encodes every stored vector when a bundle brings others; nothing is re-embedded). The search mode `auto` reads the bundle's `search` section: exact below
`exact_below_photos` (a float32 matvec is then as fast and needs no approximation), pq+rerank from
there on, where scanning 16-byte codes instead of 256-byte vectors keeps memory and time flat.

Searches read the store's memory-mapped copy when it is of the store's current generation
(runtime/store/copy.py), else the store's rows; the candidate stage is faiss's scan of those codes when
faiss is installed (runtime/search/fastscan.py), numpy's otherwise.
"""
from __future__ import annotations

import math

import numpy as np

from pocketclip.runtime.bundle.codebooks import Codebooks, bundle_codebooks
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.search.exact import VectorIndex, hit_paths
from pocketclip.runtime.search.fastscan import candidate_stage
from pocketclip.runtime.search.hits import Hit, SearchIndex, ranked_hits, top
from pocketclip.runtime.search.pq import PQScanner, adc_scores, rerank
from pocketclip.runtime.store import Store, StoreError
from pocketclip.runtime.store import meta_keys as K
from pocketclip.runtime.store.copy import StoreArrays

MODES = ("auto", "exact", "pq", "pq+rerank")
# How a filter's selection is searched (PQIndex.top_k; the switch points measured by benchmarks/filtered.py
# at 1M photos, one core): exactly up to this many photos ...
EXACT_SELECTION = 5_000
# ... by a scan of the selection's own codes up to this share of the library, by the whole scan above it
SCAN_SELECTION = 0.25


class PQIndex:
    """The store's PQ codes and float16 vectors of one model (read from the store, or given as a mapped
    copy): the candidate stage scans the codes, then `candidates` are re-ranked exactly (None: PQ only)."""

    def __init__(self, store: Store, model: str, books: Codebooks, candidates: int | None = 1000,
                 arrays: StoreArrays | None = None):
        arrays = arrays if arrays is not None else store.search_arrays(model)
        if len(arrays.ids) and (arrays.codes is None or arrays.codes.shape[1] != books.code_bytes):
            raise StoreError("some photos have no PQ code of the bundle's codebooks; run `pocketclip index` "
                             "again (it encodes them from the stored vectors)")
        self.books, self.candidates = books, candidates
        self.ids, self.vectors = arrays.ids, arrays.vectors
        self.paths = hit_paths(store, arrays)
        self.codes = arrays.codes if arrays.codes is not None else np.zeros((0, books.code_bytes), np.uint8)
        self.scanner = candidate_stage(books, self.codes)

    def __len__(self) -> int:
        return len(self.ids)

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None,
              rows: np.ndarray | None = None) -> list[Hit]:
        """As VectorIndex.top_k. A filter's selection (`rows`) is scored by its size (benchmarks/filtered.py):
        up to EXACT_SELECTION photos exactly; up to SCAN_SELECTION of the library by a look-up-table scan of
        the selection's codes alone; a larger one by the whole scan, its candidates outside the selection
        dropped. Candidates are re-ranked exactly as without a filter."""
        if not len(self) or (rows is not None and not len(rows)):
            return []
        query = np.asarray(query, dtype=np.float32)
        if rows is not None and len(rows) <= EXACT_SELECTION:
            scores = self.vectors[rows].astype(np.float32) @ query
            best = top(scores, k)
            return ranked_hits(self.ids, self.paths, rows[best], scores[best], min_relative)
        if rows is not None and len(rows) <= SCAN_SELECTION * len(self):
            scanner = PQScanner(self.books, np.ascontiguousarray(np.asarray(self.codes)[rows].T))
            if self.candidates is None:  # `pq`: the float table scores are this scan's own
                scores = scanner.scores(query)
                best = top(scores, k)
                return ranked_hits(self.ids, self.paths, rows[best], scores[best], min_relative)
            best, scores = rerank(rows[scanner.top(query, max(k, self.candidates))], self.vectors, query, k)
        elif self.candidates is None:
            best, scores = self._by_tables(query, k, rows)
        else:
            best, scores = rerank(self._pool(query, max(k, self.candidates), rows), self.vectors, query, k)
        return ranked_hits(self.ids, self.paths, best, scores, min_relative)

    def _pool(self, query: np.ndarray, n: int, rows: np.ndarray | None) -> np.ndarray:
        """The scan's n best rows among `rows` (None: all): the scan is asked for n / (the selection's share)
        and its candidates outside the selection dropped, asked again for more if too few were left."""
        if rows is None:
            return self.scanner.top(query, n)
        allowed = np.zeros(len(self), dtype=bool)
        allowed[rows] = True
        ask = min(len(self), math.ceil(1.25 * n * len(self) / len(rows)))
        while True:
            found = self.scanner.top(query, ask)
            kept = found[allowed[found]]
            if len(kept) >= n or ask >= len(self):
                return kept[:n]
            ask = min(len(self), 2 * ask)

    def _by_tables(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`pq` mode: the scan proposes 4k (at least 100) and the float look-up-table scores (the manifest's
        `score`, what the phones compute) order them; faiss's own scores are rounded to 8 bits."""
        pool = np.sort(self._pool(query, max(4 * k, 100), rows))
        codes = self.books.unpack(np.ascontiguousarray(self.codes[pool].T))
        scores = adc_scores(self.books.lookup_tables(query), codes)
        order = top(scores, k)
        return pool[order], scores[order]


def choose_mode(mode: str, photos: int, has_codes: bool, exact_below: int) -> str:
    """The search mode `auto` stands for, or a clear error when PQ is asked of a store without codes."""
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "auto":
        return "pq+rerank" if photos >= exact_below and has_codes else "exact"
    if mode.startswith("pq") and not has_codes:
        raise StoreError("this store has no PQ codes: its bundle has no codebooks (export with --pq)")
    return mode


def open_index(store: Store, bundle: Bundle, mode: str = "auto", candidates: int | None = None
               ) -> tuple[str, SearchIndex]:
    """(mode used, index) for a store bound to `bundle`; settings not given come from its manifest. The
    store's memory-mapped copy is used when it is current (nothing is then read row by row)."""
    model = bundle.fingerprint
    arrays = store.open_copy(model)
    has_codes = bundle.pq_sha256 is not None and store.meta().get(K.PQ_CODEBOOKS_SHA256) == bundle.pq_sha256
    if arrays is not None:
        photos, has_codes = len(arrays.ids), has_codes and arrays.codes is not None
    else:
        photos = store.searchable_count(model)
    used = choose_mode(mode, photos, has_codes, bundle.search["exact_below_photos"])
    if arrays is None:
        arrays = store.search_arrays(model, with_codes=used != "exact")
    if used == "exact":
        return used, VectorIndex(store, arrays)
    books = bundle_codebooks(bundle)
    return used, PQIndex(store, model, books, None if used == "pq" else candidates or bundle.search["rerank_candidates"],
                         arrays)
