"""What every search answers with: the top-k rule, hits, the query checks and the SearchIndex protocol.

Every index (exact in exact.py, PQ in pq_index.py) answers through `SearchIndex.top_k`, so callers
never branch on the search mode.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (argpartition, then sort only those k)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


def mean_overlap(found, reference, k: int = 10) -> float:
    """Mean share of each reference top-k (rows of indices) that the found top-k also holds."""
    return float(np.mean([len(set(np.asarray(a)[:k].tolist()) & set(np.asarray(b)[:k].tolist())) / k
                          for a, b in zip(found, reference)]))


@dataclass(frozen=True)
class Hit:
    rank: int
    id: int  # the photo's id in the store
    path: str  # relative to the library's root, '/'-separated
    score: float | None  # None: no query, only filters (hits are then the newest photos first)

    def to_json(self, path: str | None = None) -> dict:
        """The hit schema `search --json` and the web API share; `path` replaces the stored one."""
        return {"rank": self.rank, "id": self.id, "path": self.path if path is None else path,
                "score": None if self.score is None else round(self.score, 6)}


def check_query(k: int, relative: float | None) -> None:
    """Refuse a k or relative cutoff that would silently return the wrong hits."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive whole number, not {k!r}")
    if relative is not None and not (math.isfinite(relative) and 0 <= relative <= 1):
        raise ValueError(f"relative must be between 0 and 1, not {relative!r}")


def ranked_hits(ids: np.ndarray, paths, best: np.ndarray, scores: np.ndarray,
                min_relative: float | None) -> list[Hit]:
    """Hits for the row indices `best` (best first); `min_relative` keeps scores >= that share of the best."""
    hits = [Hit(rank, int(ids[i]), paths[i], None if s is None else float(s))
            for rank, (i, s) in enumerate(zip(best, scores), 1)]
    if min_relative is not None and hits and hits[0].score is not None:
        hits = [h for h in hits if h.score >= min_relative * hits[0].score]
    return hits


class SearchIndex(Protocol):
    """The photos of one model, searchable by a normalised query vector. `top_k` trusts its caller
    (Library.search_vector) to have checked k and the relative cutoff once."""

    def __len__(self) -> int: ...

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None,
              rows: np.ndarray | None = None) -> list[Hit]: ...
