"""Exact search over the store: float16 vectors loaded once as float32, top-k by argpartition."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from runtime.store import from_blobs, get_meta


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (argpartition, then sort only those k)."""
    k = min(k, len(scores))
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


@dataclass(frozen=True)
class Hit:
    rank: int
    path: str
    score: float


def ranked_hits(paths: list[str], best: np.ndarray, scores: np.ndarray, min_relative: float | None) -> list[Hit]:
    """Hits for the indices `best` (best first); `min_relative` keeps scores >= that share of the best."""
    hits = [Hit(rank, paths[i], float(s)) for rank, (i, s) in enumerate(zip(best, scores), 1)]
    if min_relative is not None and hits:
        hits = [h for h in hits if h.score >= min_relative * hits[0].score]
    return hits


class VectorIndex:
    """The store's vectors of one model, in memory as one float32 matrix."""

    def __init__(self, db: Database, model: str):
        dim = int(get_meta(db).get("dim", 0))
        rows = db.execute("SELECT p.path, e.vector FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                          "WHERE e.model = ? AND p.status = 'ok' ORDER BY p.id", [model]).fetchall()
        self.paths = [r[0] for r in rows]
        self.matrix = from_blobs([r[1] for r in rows], dim)  # (N, dim) float32

    def __len__(self) -> int:
        return len(self.paths)

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None) -> list[Hit]:
        """The k best photos for a normalised query; `min_relative` keeps scores >= that share of the best."""
        if not len(self):
            return []
        scores = self.matrix @ query.astype(np.float32)  # (N,)
        best = top(scores, k)
        return ranked_hits(self.paths, best, scores[best], min_relative)
