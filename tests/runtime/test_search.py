"""Exact search: the same top-k as a full sort, best first; deleted photos never returned."""
import numpy as np
from tests_support import filled_store

from pocketclip.runtime.search.exact import VectorIndex


def test_top_k_equals_a_full_sort(tmp_path):
    db, vectors = filled_store(tmp_path)
    index = VectorIndex(db, db.search_arrays("m"))
    assert len(index) == 490
    query = vectors[3]
    hits = index.top_k(query, 10)
    stored = index.matrix @ query
    expected = np.argsort(-stored, kind="stable")[:10]
    assert [h.path for h in hits] == [index.paths[i] for i in expected]
    assert [h.rank for h in hits] == list(range(1, 11)) and hits[0].path == "p3.jpg"
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert not any(h.path == "p7.jpg" for h in index.top_k(vectors[7], 490))


def test_relative_cutoff_and_small_stores(tmp_path):
    db, vectors = filled_store(tmp_path, n=5)
    index = VectorIndex(db, db.search_arrays("m"))
    hits = index.top_k(vectors[0], 10, min_relative=0.99)
    assert [h.path for h in hits] == ["p0.jpg"]
    assert len(index.top_k(vectors[0], 10)) == 5
    assert VectorIndex(db, db.search_arrays("other-model")).top_k(vectors[0], 3) == []
