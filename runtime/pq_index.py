"""The compressed index in the store: PQ codes beside the float16 vectors, and search over them.

Codes belong to one set of codebooks: the store's meta `pq_codebooks_sha256` names it, and binding a
bundle with other codebooks re-encodes every stored vector (from its float16 blob; nothing is
re-embedded). `search --mode`: exact below EXACT_BELOW photos (a float32 matvec is then ~1 ms and
needs no approximation), pq+rerank above, where scanning 16-byte codes instead of 256-byte vectors
keeps memory and time flat.
"""
from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from runtime.pq import Codebooks, PQScanner, rerank, top
from runtime.search import Hit, VectorIndex, ranked_hits
from runtime.store import StoreError, as_stored, from_blobs, get_meta

EXACT_BELOW = 50_000
MODES = ("auto", "exact", "pq", "pq+rerank")
META_KEY = "pq_codebooks_sha256"


def code_blobs(books: Codebooks, vectors: np.ndarray) -> list[bytes]:
    """One M-byte pq_code blob per vector; vectors as stored (float16 values)."""
    return [column.tobytes() for column in np.ascontiguousarray(books.encode(as_stored(vectors)).T)]


def bind_codebooks(db: Database, books: Codebooks | None, sha256: str | None, model: str,
                   chunk: int = 50_000) -> int:
    """Make every stored code of `model` belong to these codebooks; returns how many were re-encoded."""
    if get_meta(db).get(META_KEY) == sha256 and sha256 is not None:
        return 0
    done = 0
    with db.atomic():
        if books is None:
            db.execute("UPDATE embeddings SET pq_code = NULL")
            db.execute("DELETE FROM meta WHERE key = ?", [META_KEY])
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
        db["meta"].insert({"key": META_KEY, "value": sha256}, replace=True)
    return done


def bind_bundle_codebooks(db: Database, bundle) -> int:
    """bind_codebooks with the bundle's codebooks (or none: codes are then cleared)."""
    return bind_codebooks(db, bundle.codebooks(), bundle.pq_sha256, bundle.fingerprint)


class PQIndex:
    """The store's PQ codes and float16 vectors of one model: ADC scan, then exact re-rank."""

    def __init__(self, db: Database, model: str, books: Codebooks):
        rows = db.execute("SELECT p.path, e.vector, e.pq_code FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                          "WHERE e.model = ? AND p.status = 'ok' ORDER BY p.id", [model]).fetchall()
        if any(r[2] is None or len(r[2]) != books.subspaces for r in rows):
            raise StoreError("some photos have no PQ code of the bundle's codebooks; run `pocketclip index` "
                             "again (it encodes them from the stored vectors)")
        self.paths = [r[0] for r in rows]
        self.vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), books.dim)
        codes = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.uint8).reshape(len(rows), books.subspaces)
        self.scanner = PQScanner(books, np.ascontiguousarray(codes.T))

    def __len__(self) -> int:
        return len(self.paths)

    def top_k(self, query: np.ndarray, k: int, rerank_candidates: int | None = 1000,
              min_relative: float | None = None) -> list[Hit]:
        """PQ scores for all, exact scores for the best `rerank_candidates` (None: PQ scores only)."""
        if not len(self):
            return []
        approx = self.scanner.scores(query)
        if rerank_candidates is None:
            best = top(approx, k)
            return ranked_hits(self.paths, best, approx[best], min_relative)
        best, scores = rerank(top(approx, max(k, rerank_candidates)), self.vectors, query, k)
        return ranked_hits(self.paths, best, scores, min_relative)


def choose_mode(mode: str, photos: int, has_codes: bool) -> str:
    """The search mode `auto` stands for, or a clear error when PQ is asked of a store without codes."""
    if mode == "auto":
        return "pq+rerank" if photos >= EXACT_BELOW and has_codes else "exact"
    if mode.startswith("pq") and not has_codes:
        raise StoreError("this store has no PQ codes: its bundle has no codebooks (export with --pq)")
    return mode


def open_index(db: Database, bundle, mode: str = "auto") -> tuple[str, VectorIndex | PQIndex]:
    """(mode used, index) for a store bound to `bundle`."""
    model = bundle.fingerprint
    photos = db.execute("SELECT count(*) FROM embeddings WHERE model = ?", [model]).fetchone()[0]
    has_codes = bundle.pq_sha256 is not None and get_meta(db).get(META_KEY) == bundle.pq_sha256
    used = choose_mode(mode, photos, has_codes)
    if used == "exact":
        return used, VectorIndex(db, model)
    return used, PQIndex(db, model, bundle.codebooks())
