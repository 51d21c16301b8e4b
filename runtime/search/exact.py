"""Exact search: the store's float16 vectors as one float32 matrix, top-k by argpartition.

An index over a memory-mapped copy of the store holds photo ids only: the paths of its hits are read
from the store per hit (StorePaths).
"""
from __future__ import annotations

import numpy as np

from pocketclip.runtime.search.hits import Hit, ranked_hits, top
from pocketclip.runtime.store import Store, StoreArrays


class StorePaths:
    """Row -> path of photo ids[row], read from the store when a hit needs it (a copy holds no paths)."""

    def __init__(self, store: Store, ids: np.ndarray):
        self.store, self.ids = store, ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, row: int) -> str:
        found = self.store.path_of(int(self.ids[row]))
        if found is None:
            raise KeyError(f"photo {int(self.ids[row])} is no longer in the store")
        return found


def hit_paths(store: Store, arrays: StoreArrays):
    """The paths of the arrays' rows: read with them, or looked up per hit for a mapped copy."""
    return arrays.paths if arrays.paths is not None else StorePaths(store, arrays.ids)


class VectorIndex:
    """The store's vectors of one model, in memory as one float32 matrix."""

    def __init__(self, store: Store, arrays: StoreArrays):
        self.ids, self.paths = arrays.ids, hit_paths(store, arrays)
        self.matrix = np.asarray(arrays.vectors, dtype=np.float32)  # (N, dim)

    def __len__(self) -> int:
        return len(self.ids)

    def top_k(self, query: np.ndarray, k: int, min_relative: float | None = None,
              rows: np.ndarray | None = None) -> list[Hit]:
        """The k best photos for a normalised query; `min_relative` keeps scores >= that share of the best;
        `rows` (ascending) limits the search to those rows (a filter's selection)."""
        if not len(self) or (rows is not None and not len(rows)):
            return []
        query = query.astype(np.float32)
        if rows is None:
            scores = self.matrix @ query  # (N,)
            best = top(scores, k)
            return ranked_hits(self.ids, self.paths, best, scores[best], min_relative)
        # a small selection is gathered; a large one costs no more than scoring every row
        scores = self.matrix[rows] @ query if len(rows) * 4 < len(self) else (self.matrix @ query)[rows]
        best = top(scores, k)
        return ranked_hits(self.ids, self.paths, rows[best], scores[best], min_relative)
