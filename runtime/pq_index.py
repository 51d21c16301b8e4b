"""The compressed index in the store: PQ codes beside the float16 vectors, and search over them.

Codes belong to one set of codebooks: the store's meta `pq_codebooks_sha256` names it, and binding a
bundle with other codebooks re-encodes every stored vector (from its float16 blob; nothing is
re-embedded). The search mode `auto` reads the bundle's `search` section: exact below
`exact_below_photos` (a float32 matvec is then as fast and needs no approximation), pq+rerank from
there on, where scanning 16-byte codes instead of 256-byte vectors keeps memory and time flat.

Searches read the store's memory-mapped copy when it is of the store's current generation
(runtime/store_copy.py), else the store's rows; the candidate stage is faiss's scan of those codes when
faiss is installed (runtime/fastscan.py), numpy's otherwise.
"""
from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from pocketclip.runtime import meta_keys as K
from pocketclip.runtime.bundle import Bundle
from pocketclip.runtime.fastscan import candidate_stage
from pocketclip.runtime.pq import Codebooks, adc_scores, bundle_codebooks, rerank, top
from pocketclip.runtime.search import Hit, SearchIndex, StorePaths, VectorIndex, check_query, ranked_hits
from pocketclip.runtime.store import (StoreError, as_stored, bump_generation, delete_meta, from_blobs, get_meta,
                                      set_meta)
from pocketclip.runtime.store_copy import StoreArrays, open_copy, read_store

MODES = ("auto", "exact", "pq", "pq+rerank")


def code_blobs(books: Codebooks, vectors: np.ndarray) -> list[bytes]:
    """One pq_code blob per vector (books.code_bytes: M bytes, or M / 2 for 4-bit codes); vectors as stored
    (float16 values)."""
    return [row.tobytes() for row in np.ascontiguousarray(books.stored_codes(as_stored(vectors)).T)]


def bind_codebooks(db: Database, books: Codebooks | None, sha256: str | None, model: str,
                   chunk: int = 50_000) -> int:
    """Make every stored code of `model` belong to these codebooks; returns how many were re-encoded."""
    if get_meta(db).get(K.PQ_CODEBOOKS_SHA256) == sha256 and (sha256 is not None or not db.execute(
            "SELECT 1 FROM embeddings WHERE pq_code IS NOT NULL LIMIT 1").fetchone()):
        return 0  # (no codebooks and no codes: nothing changes, so the generation stays)
    done = 0
    with db.atomic():
        bump_generation(db)
        if books is None:
            db.execute("UPDATE embeddings SET pq_code = NULL")
            delete_meta(db, K.PQ_CODEBOOKS_SHA256)
            return 0
        last = -1
        while True:  # in chunks of photo ids, so a 1M-photo store is never all in memory twice
            rows = db.execute("SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id > ? "
                              "ORDER BY photo_id LIMIT ?", [model, last, chunk]).fetchall()
            if not rows:
                break
            blobs = code_blobs(books, from_blobs([r[1] for r in rows], books.dim))
            db.conn.executemany("UPDATE embeddings SET pq_code = ? WHERE photo_id = ? AND model = ?",
                                [(blob, r[0], model) for blob, r in zip(blobs, rows)])
            done += len(rows)
            last = rows[-1][0]
        set_meta(db, {K.PQ_CODEBOOKS_SHA256: sha256})
    return done


def bind_bundle_codebooks(db: Database, bundle: Bundle) -> int:
    """bind_codebooks with the bundle's codebooks (or none: codes are then cleared)."""
    return bind_codebooks(db, bundle_codebooks(bundle), bundle.pq_sha256, bundle.fingerprint)


class PQIndex:
    """The store's PQ codes and float16 vectors of one model (read from the store, or given as a mapped
    copy): the candidate stage scans the codes, then `candidates` are re-ranked exactly (None: PQ only)."""

    def __init__(self, db: Database, model: str, books: Codebooks, candidates: int | None = 1000,
                 arrays: StoreArrays | None = None):
        arrays = arrays if arrays is not None else read_store(db, model)
        if len(arrays.ids) and (arrays.codes is None or arrays.codes.shape[1] != books.code_bytes):
            raise StoreError("some photos have no PQ code of the bundle's codebooks; run `pocketclip index` "
                             "again (it encodes them from the stored vectors)")
        self.books, self.candidates = books, candidates
        self.ids, self.vectors = arrays.ids, arrays.vectors
        self.paths = arrays.paths if arrays.paths is not None else StorePaths(db, arrays.ids)
        self.codes = arrays.codes if arrays.codes is not None else np.zeros((0, books.code_bytes), np.uint8)
        self.scanner = candidate_stage(books, self.codes)

    def __len__(self) -> int:
        return len(self.ids)

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None) -> list[Hit]:
        check_query(k, min_relative)
        if not len(self):
            return []
        if self.candidates is None:
            best, scores = self._by_tables(query, k)
        else:
            best, scores = rerank(self.scanner.top(query, max(k, self.candidates)), self.vectors, query, k)
        return ranked_hits(self.ids, self.paths, best, scores, min_relative)

    def _by_tables(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`pq` mode: the scan proposes 4k (at least 100) and the float look-up-table scores (the manifest's
        `score`, what the phones compute) order them; faiss's own scores are rounded to 8 bits."""
        pool = np.sort(self.scanner.top(query, max(4 * k, 100)))
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


def open_index(db: Database, bundle: Bundle, mode: str = "auto", candidates: int | None = None,
               db_path: str | None = None) -> tuple[str, SearchIndex]:
    """(mode used, index) for a store bound to `bundle`; settings not given come from its manifest. With
    `db_path`, the store's copy beside it is mapped when it is current (nothing is read row by row)."""
    model = bundle.fingerprint
    arrays = open_copy(db, db_path, model) if db_path is not None else None
    has_codes = bundle.pq_sha256 is not None and get_meta(db).get(K.PQ_CODEBOOKS_SHA256) == bundle.pq_sha256
    if arrays is not None:
        photos, has_codes = len(arrays.ids), has_codes and arrays.codes is not None
    else:  # tombstones are not searched
        photos = db.execute("SELECT count(*) FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                            "WHERE e.model = ? AND p.status = 'ok'", [model]).fetchone()[0]
    used = choose_mode(mode, photos, has_codes, bundle.search["exact_below_photos"])
    if used == "exact":
        return used, VectorIndex(db, model) if arrays is None else VectorIndex(db, model, arrays.ids, arrays.vectors)
    books = bundle_codebooks(bundle)
    return used, PQIndex(db, model, books, None if used == "pq" else candidates or bundle.search["rerank_candidates"],
                         arrays)
