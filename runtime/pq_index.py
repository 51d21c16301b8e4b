"""The compressed index in the store: PQ codes beside the float16 vectors, and search over them.

Codes belong to one set of codebooks: the store's meta `pq_codebooks_sha256` names it, and binding a
bundle with other codebooks re-encodes every stored vector (from its float16 blob; nothing is
re-embedded). The search mode `auto` reads the bundle's `search` section: exact below
`exact_below_photos` (a float32 matvec is then ~1 ms and needs no approximation), pq+rerank from
there on, where scanning 16-byte codes instead of 256-byte vectors keeps memory and time flat.
"""
from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from pocketclip.runtime import meta_keys as K
from pocketclip.runtime.bundle import Bundle
from pocketclip.runtime.pq import Codebooks, PQScanner, bundle_codebooks, search_pq
from pocketclip.runtime.search import Hit, SearchIndex, VectorIndex, check_query, photo_rows, ranked_hits
from pocketclip.runtime.store import StoreError, as_stored, delete_meta, from_blobs, get_meta, set_meta

MODES = ("auto", "exact", "pq", "pq+rerank")


def code_blobs(books: Codebooks, vectors: np.ndarray) -> list[bytes]:
    """One M-byte pq_code blob per vector; vectors as stored (float16 values)."""
    return [column.tobytes() for column in np.ascontiguousarray(books.encode(as_stored(vectors)).T)]


def bind_codebooks(db: Database, books: Codebooks | None, sha256: str | None, model: str,
                   chunk: int = 50_000) -> int:
    """Make every stored code of `model` belong to these codebooks; returns how many were re-encoded."""
    if get_meta(db).get(K.PQ_CODEBOOKS_SHA256) == sha256 and sha256 is not None:
        return 0
    done = 0
    with db.atomic():
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
    """The store's PQ codes and float16 vectors of one model: ADC scan, then exact re-rank of
    `candidates` (None: PQ scores only)."""

    def __init__(self, db: Database, model: str, books: Codebooks, candidates: int | None = 1000):
        rows = photo_rows(db, model, "e.vector, e.pq_code")
        if any(r[3] is None or len(r[3]) != books.subspaces for r in rows):
            raise StoreError("some photos have no PQ code of the bundle's codebooks; run `pocketclip index` "
                             "again (it encodes them from the stored vectors)")
        self.candidates = candidates
        self.ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.paths = [r[1] for r in rows]
        self.vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f2").reshape(len(rows), books.dim)
        codes = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.uint8).reshape(len(rows), books.subspaces)
        self.scanner = PQScanner(books, np.ascontiguousarray(codes.T))

    def __len__(self) -> int:
        return len(self.paths)

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None) -> list[Hit]:
        check_query(k, min_relative)
        if not len(self):
            return []
        vectors = None if self.candidates is None else self.vectors
        best, scores = search_pq(self.scanner, query, k, vectors, self.candidates or 0)
        return ranked_hits(self.ids, self.paths, best, scores, min_relative)


def choose_mode(mode: str, photos: int, has_codes: bool, exact_below: int) -> str:
    """The search mode `auto` stands for, or a clear error when PQ is asked of a store without codes."""
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "auto":
        return "pq+rerank" if photos >= exact_below and has_codes else "exact"
    if mode.startswith("pq") and not has_codes:
        raise StoreError("this store has no PQ codes: its bundle has no codebooks (export with --pq)")
    return mode


def open_index(db: Database, bundle: Bundle, mode: str = "auto", candidates: int | None = None
               ) -> tuple[str, SearchIndex]:
    """(mode used, index) for a store bound to `bundle`; settings not given come from its manifest."""
    model = bundle.fingerprint
    photos = db.execute("SELECT count(*) FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                        "WHERE e.model = ? AND p.status = 'ok'", [model]).fetchone()[0]  # tombstones are not searched
    has_codes = bundle.pq_sha256 is not None and get_meta(db).get(K.PQ_CODEBOOKS_SHA256) == bundle.pq_sha256
    used = choose_mode(mode, photos, has_codes, bundle.search["exact_below_photos"])
    if used == "exact":
        return used, VectorIndex(db, model)
    if used == "pq":
        return used, PQIndex(db, model, bundle_codebooks(bundle), None)
    return used, PQIndex(db, model, bundle_codebooks(bundle), candidates or bundle.search["rerank_candidates"])
