"""Exact search over the store: float16 vectors loaded once as float32, top-k by argpartition.

Every index (exact here, PQ in pq_index.py) answers through one Protocol, `SearchIndex.top_k`, so
callers never branch on the search mode. An index over a memory-mapped copy of the store
(runtime/store_copy.py) holds photo ids only: the paths of its hits are read from the store per query.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlite_utils import Database

from pocketclip.runtime import meta_keys as K
from pocketclip.runtime.store import from_blobs, get_meta


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (argpartition, then sort only those k)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


@dataclass(frozen=True)
class Hit:
    rank: int
    id: int  # the photo's id in the store
    path: str  # relative to the library's root, '/'-separated
    score: float

    def to_json(self, path: str | None = None) -> dict:
        """The hit schema `search --json` and the web API share; `path` replaces the stored one."""
        return {"rank": self.rank, "id": self.id, "path": self.path if path is None else path,
                "score": round(self.score, 6)}


def check_query(k: int, relative: float | None) -> None:
    """Refuse a k or relative cutoff that would silently return the wrong hits."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive whole number, not {k!r}")
    if relative is not None and not (math.isfinite(relative) and 0 <= relative <= 1):
        raise ValueError(f"relative must be between 0 and 1, not {relative!r}")


def ranked_hits(ids: np.ndarray, paths: list[str], best: np.ndarray, scores: np.ndarray,
                min_relative: float | None) -> list[Hit]:
    """Hits for the row indices `best` (best first); `min_relative` keeps scores >= that share of the best."""
    hits = [Hit(rank, int(ids[i]), paths[i], float(s)) for rank, (i, s) in enumerate(zip(best, scores), 1)]
    if min_relative is not None and hits:
        hits = [h for h in hits if h.score >= min_relative * hits[0].score]
    return hits


class SearchIndex(Protocol):
    """The photos of one model, searchable by a normalised query vector."""

    def __len__(self) -> int: ...

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None) -> list[Hit]: ...


def photo_rows(db: Database, model: str, columns: str = "e.vector") -> list[tuple]:
    """(id, path, *columns) of every 'ok' photo with a vector of `model`, in id order: what indexes load."""
    return db.execute(f"SELECT p.id, p.path, {columns} FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                      "WHERE e.model = ? AND p.status = 'ok' ORDER BY p.id", [model]).fetchall()


def photo_vector(db: Database, model: str, photo_id: int) -> np.ndarray | None:
    """The stored vector of one 'ok' photo (float32), or None."""
    row = db.execute("SELECT e.vector FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                     "WHERE e.model = ? AND p.id = ? AND p.status = 'ok'", [model, photo_id]).fetchone()
    return None if row is None else from_blobs([row[0]], len(row[0]) // 2)[0]


class StorePaths:
    """Row -> path of photo ids[row], read from the store when a hit needs it (a copy holds no paths)."""

    def __init__(self, db: Database, ids: np.ndarray):
        self.db, self.ids = db, ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, row: int) -> str:
        found = self.db.execute("SELECT path FROM photos WHERE id = ?", [int(self.ids[row])]).fetchone()
        if found is None:
            raise KeyError(f"photo {int(self.ids[row])} is no longer in the store")
        return found[0]


class VectorIndex:
    """The store's vectors of one model, in memory as one float32 matrix."""

    def __init__(self, db: Database, model: str, ids: np.ndarray | None = None, vectors: np.ndarray | None = None):
        """From the store's rows, or from given `ids` and float16 `vectors` (a mapped copy of them)."""
        if ids is None:
            dim = int(get_meta(db).get(K.DIM, 0))
            rows = photo_rows(db, model)
            self.ids = np.array([r[0] for r in rows], dtype=np.int64)
            self.paths: list[str] | StorePaths = [r[1] for r in rows]
            self.matrix = from_blobs([r[2] for r in rows], dim)  # (N, dim) float32
        else:
            self.ids, self.paths = ids, StorePaths(db, ids)
            self.matrix = np.asarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.paths)

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None) -> list[Hit]:
        """The k best photos for a normalised query; `min_relative` keeps scores >= that share of the best."""
        check_query(k, min_relative)
        if not len(self):
            return []
        scores = self.matrix @ query.astype(np.float32)  # (N,)
        best = top(scores, k)
        return ranked_hits(self.ids, self.paths, best, scores[best], min_relative)
