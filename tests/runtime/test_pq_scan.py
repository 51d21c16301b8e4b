"""The PQ scan against its definition, on codebooks drawn at random (no k-means: the whole file takes about a
second): the paired look-ups equal one look-up per sub-space for every code layout, and re-ranking is exact."""
import numpy as np
import pytest

from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.search.hits import top
from pocketclip.runtime.search.pq import PQScanner, adc_scores, recall_at_10, rerank, search_pq


def unit_rows(n, dim, seed):
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def books(subspaces, codewords, dim=24, seed=0):
    return Codebooks(np.random.default_rng(seed).normal(size=(subspaces, codewords, dim // subspaces))
                     .astype(np.float32) / np.sqrt(dim))


def by_definition(codebooks, codes, query):
    """Approximate inner products, one sub-space at a time: sum over m of <q_m, centroid[m][code]>."""
    parts = query.reshape(codebooks.subspaces, -1)
    return np.array([sum(parts[m] @ codebooks.centroids[m][codes[m, i]] for m in range(codebooks.subspaces))
                     for i in range(codes.shape[1])], dtype=np.float32)


@pytest.mark.parametrize("subspaces, codewords, dim", [(6, 64, 24), (3, 256, 24), (1, 32, 24), (6, 16, 24),
                                                       (3, 16, 24), (4, 4, 24), (3, 8, 24), (16, 4, 32), (17, 8, 34)])
def test_the_scan_is_the_sum_of_per_subspace_lookups(subspaces, codewords, dim):
    codebooks = books(subspaces, codewords, dim)
    vectors = unit_rows(300, dim, 1)
    codes = codebooks.encode(vectors)
    scanner = PQScanner(codebooks, codebooks.stored_codes(vectors))
    assert len(scanner) == 300
    for query in unit_rows(3, dim, 2):
        expected = by_definition(codebooks, codes, query)
        assert np.allclose(adc_scores(codebooks.lookup_tables(query), codes), expected, atol=1e-5)
        assert np.allclose(scanner.scores(query), expected, atol=1e-5)
        assert scanner.top(query, 5).tolist() == top(expected, 5).tolist()


def test_stored_codes_of_another_shape_are_refused():
    codebooks = books(6, 64)
    codes = codebooks.stored_codes(unit_rows(10, 24, 1))
    for bad in (codes[:5], codes.astype(np.int64), codes[0]):
        with pytest.raises(ValueError, match="bytes a photo"):
            PQScanner(codebooks, bad)


def test_rerank_scores_the_candidates_exactly():
    vectors = unit_rows(200, 24, 3)
    query = unit_rows(1, 24, 4)[0]
    pool = np.array([5, 50, 17, 120, 3])
    rows, scores = rerank(pool, vectors.astype(np.float16), query, 3)
    exact = vectors[pool].astype(np.float16).astype(np.float32) @ query
    order = np.argsort(-exact)[:3]
    assert rows.tolist() == pool[order].tolist() and np.allclose(scores, exact[order])


def test_pq_alone_and_pq_with_rerank():
    codebooks = books(6, 64)
    vectors = unit_rows(500, 24, 5)
    scanner = PQScanner(codebooks, codebooks.stored_codes(vectors))
    query = vectors[7]
    approx_rows, approx_scores = search_pq(scanner, query, 10)
    assert approx_rows.tolist() == top(scanner.scores(query), 10).tolist()
    assert np.allclose(approx_scores, scanner.scores(query)[approx_rows])
    rows, scores = search_pq(scanner, query, 10, vectors=vectors, candidates=500)  # every row: exact
    assert rows.tolist() == top(vectors @ query, 10).tolist() and rows[0] == 7
    few, _ = search_pq(scanner, query, 10, vectors=vectors, candidates=3)  # fewer candidates than k: k of them
    assert len(few) == 10


def test_recall_at_10_counts_the_exact_top_10_found():
    vectors = unit_rows(400, 24, 6)
    queries = unit_rows(5, 24, 7)
    codebooks = books(6, 64)
    assert recall_at_10(codebooks, vectors, queries, 400) == 1.0  # every candidate re-ranked
    alone = recall_at_10(codebooks, vectors, queries, None)
    few = recall_at_10(codebooks, vectors, queries, 10)
    assert 0 <= alone < 1 and alone == few  # 10 candidates re-ranked: the same 10 photos as pq alone


def test_recall_is_rounded_to_four_places():
    from pocketclip.runtime.search.hits import mean_overlap

    vectors, queries, codebooks = unit_rows(400, 24, 6), unit_rows(3, 24, 8), books(6, 64)
    scanner = PQScanner(codebooks, codebooks.stored_codes(vectors))
    found = [search_pq(scanner, query, 10)[0] for query in queries]
    exact = mean_overlap(found, [top(vectors @ query, 10) for query in queries])
    assert round(exact, 3) != round(exact, 4) != round(exact, 5)  # a third of a tenth: 0.xyzw...
    assert recall_at_10(codebooks, vectors, queries, None) == round(exact, 4)


def test_pq_with_rerank_asks_the_scan_for_1000_candidates_unless_told():
    codebooks = books(6, 64)
    vectors = unit_rows(50, 24, 9)
    asked = []

    class Counting(PQScanner):
        def top(self, query, n):
            asked.append(n)
            return super().top(query, n)

    scanner = Counting(codebooks, codebooks.stored_codes(vectors))
    search_pq(scanner, vectors[0], 10, vectors=vectors)
    search_pq(scanner, vectors[0], 10, vectors=vectors, candidates=20)
    search_pq(scanner, vectors[0], 30, vectors=vectors, candidates=20)
    assert asked == [1000, 20, 30]
