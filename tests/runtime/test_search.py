"""Exact search: the same top-k as a full sort, best first, at library size too; deleted photos never returned;
the top-k rule, hits and query checks at their edges."""
import numpy as np
import pytest
from tests_support import filled_store

from pocketclip.runtime.search.exact import StorePaths, VectorIndex, hit_paths
from pocketclip.runtime.search.hits import Hit, check_query, mean_overlap, ranked_hits, top


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


def test_top_1_is_the_best_photo_at_library_size(tmp_path):
    """k = 1 on hundreds of rows: numpy's argpartition is exact only with the right kth (small arrays hide it)."""
    db, vectors = filled_store(tmp_path)
    index = VectorIndex(db, db.search_arrays("m"))
    rng = np.random.default_rng(1)
    for query in rng.normal(size=(200, 16)).astype(np.float32):
        query /= np.linalg.norm(query)
        scores = index.matrix @ query
        for k in (1, 2, 3):
            best = index.top_k(query, k)
            assert [h.id for h in best] == [int(index.ids[i]) for i in np.argsort(-scores, kind="stable")[:k]]


def test_the_top_k_rule_at_its_edges():
    scores = np.array([0.1, 0.9, 0.5, 0.9, -1.0], dtype=np.float32)
    assert top(scores, 2).tolist() == [1, 3]  # ties keep their order
    assert top(scores, 10).tolist() == [1, 3, 2, 0, 4]  # k over the count: every row, best first
    assert top(scores, 0).tolist() == [] and top(scores, 0).dtype == np.int64
    assert top(scores[:0], 3).tolist() == []
    assert top(np.arange(1000, dtype=np.float32), 1).tolist() == [999]


def test_hits_and_the_relative_cutoff():
    ids, paths = np.array([10, 20, 30]), ["a.jpg", "b.jpg", "c.jpg"]
    hits = ranked_hits(ids, paths, np.array([2, 0, 1]), np.array([1.0, 0.8, 0.5]), None)
    assert [(h.rank, h.id, h.path, h.score) for h in hits] == [(1, 30, "c.jpg", 1.0), (2, 10, "a.jpg", 0.8),
                                                               (3, 20, "b.jpg", 0.5)]
    assert [h.id for h in ranked_hits(ids, paths, np.array([2, 0, 1]), np.array([1.0, 0.8, 0.5]), 0.8)] == [30, 10]
    assert ranked_hits(ids, paths, np.array([], dtype=int), np.array([]), 0.5) == []
    assert hits[0].to_json() == {"rank": 1, "id": 30, "path": "c.jpg", "score": 1.0}
    assert Hit(2, 5, "x.jpg", 0.12345678).to_json("/abs/x.jpg") == {"rank": 2, "id": 5, "path": "/abs/x.jpg",
                                                                    "score": 0.123457}
    assert len({hits[0], Hit(1, 30, "c.jpg", 1.0)}) == 1  # a value: hashable, equal by its fields, unchangeable
    with pytest.raises(AttributeError):
        hits[0].score = 2.0


@pytest.mark.parametrize("k, relative", [(0, None), (-1, None), (True, None), (2.0, None), ("3", None),
                                         (1, float("nan")), (1, -0.1), (1, 1.5), (1, float("inf"))])
def test_a_query_that_would_answer_wrongly_is_refused(k, relative):
    with pytest.raises(ValueError):
        check_query(k, relative)


def test_good_queries_pass():
    for k, relative in ((1, None), (np.int64(5), 0.0), (10, 1.0), (3, 0.5)):
        check_query(k, relative)


def test_mean_overlap_is_the_share_of_each_reference_top_k():
    assert mean_overlap([[1, 2, 3]], [[3, 2, 1]], k=3) == 1.0
    assert mean_overlap([[1, 2], [5, 6]], [[1, 9], [7, 8]], k=2) == 0.25


def test_a_mapped_copys_paths_are_read_per_hit(tmp_path):
    db, vectors = filled_store(tmp_path, n=5)
    paths = StorePaths(db, np.array([2, 4, 99]))
    assert len(paths) == 3 and paths[0] == "p1.jpg" and paths[1] == "p3.jpg"
    with pytest.raises(KeyError, match="photo 99"):
        paths[2]
    arrays = db.search_arrays("m")
    assert hit_paths(db, arrays) is arrays.paths
    arrays.paths = None
    assert isinstance(hit_paths(db, arrays), StorePaths)
    assert [h.path for h in VectorIndex(db, arrays).top_k(vectors[1], 1)] == ["p1.jpg"]
