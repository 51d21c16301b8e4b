"""Duplicates: exact copies (one content hash) and near-duplicates (resized, re-encoded, cropped a little,
lightly edited: stored vectors within a cosine threshold), grouped as connected components.

Candidates come from an index, not from all pairs: faiss's flat inner-product range search up to
FLAT_UP_TO photos (exact), an inverted-file index above (each photo compared with the photos of its
NPROBE nearest lists of about 4 x sqrt(N)), so 100,000 photos take seconds on one core.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The demo model's measured threshold (benchmarks/duplicates.py: pair precision and recall on transformed
# copies); a bundle may carry its own as `search.duplicate_cosine`.
DUPLICATE_COSINE = 0.92
FLAT_UP_TO = 20_000
NPROBE = 8
CHUNK = 4096


@dataclass
class DuplicateGroup:
    kind: str  # "exact": every member has the same bytes; "near": some differ
    ids: list[int]  # the first is the group's reference: its lowest id
    scores: list[float]  # cosine of each member's stored vector with the first's

    def to_json(self, paths: dict[int, str]) -> dict:
        return {"kind": self.kind, "photos": [{"id": i, "path": paths[i], "score": round(s, 4)}
                                              for i, s in zip(self.ids, self.scores)]}


def _pairs(vectors: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j, of the rows whose inner product is above `threshold`."""
    import faiss

    n, dim = vectors.shape
    if n <= FLAT_UP_TO:
        index = faiss.IndexFlatIP(dim)
    else:
        lists = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).choice(n, size=min(n, 50 * lists), replace=False)]
        index.train(sample)
        index.nprobe = NPROBE
    index.add(vectors)
    left, right = [], []
    for start in range(0, n, CHUNK):
        limits, _, found = index.range_search(vectors[start:start + CHUNK], threshold)
        rows = np.repeat(np.arange(start, start + len(limits) - 1), np.diff(limits.astype(np.int64)))
        keep = rows < found
        left.append(rows[keep])
        right.append(found[keep])
    return (np.concatenate(left), np.concatenate(right)) if left else (np.zeros(0, int), np.zeros(0, int))


def _components(n: int, i: np.ndarray, j: np.ndarray) -> list[list[int]]:
    """Rows joined by the pairs, as groups of two or more (union-find with path halving)."""
    parent = np.arange(n)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(i.tolist(), j.tolist()):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for row in range(n):
        groups.setdefault(root(row), []).append(row)
    return [g for g in groups.values() if len(g) > 1]


def duplicate_groups(ids: np.ndarray, vectors: np.ndarray, hashes: list[str | None], threshold: float
                     ) -> list[DuplicateGroup]:
    """Groups of photos (ids in id order, their stored vectors and content hashes) that are copies of each
    other, biggest first."""
    if len(ids) < 2:
        return []
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    i, j = _pairs(x, threshold)
    same: dict[str, list[int]] = {}
    for row, digest in enumerate(hashes):
        if digest:
            same.setdefault(digest, []).append(row)
    exact = [(rows[0], other) for rows in same.values() for other in rows[1:]]
    if exact:
        i = np.concatenate([i, np.array([a for a, _ in exact])])
        j = np.concatenate([j, np.array([b for _, b in exact])])
    groups = []
    for rows in _components(len(ids), i, j):
        scores = (x[rows] @ x[rows[0]]).tolist()
        kind = "exact" if hashes[rows[0]] and all(hashes[r] == hashes[rows[0]] for r in rows) else "near"
        groups.append(DuplicateGroup(kind, [int(ids[r]) for r in rows], [float(s) for s in scores]))
    return sorted(groups, key=lambda g: (-len(g.ids), g.ids[0]))
