"""Product quantization: codes round-trip, look-up tables equal decoded dot products, re-rank recovers recall."""
import numpy as np
import pytest

from pocketclip.models.train.pq_kmeans import fit_kmeans_codebooks
from pocketclip.runtime.bundle.codebooks import Codebooks, load_codebooks, save_codebooks
from pocketclip.runtime.search.hits import top
from pocketclip.runtime.search.pq import PQScanner, adc_scores, search_pq


def embeddings(n, dim=64, seed=0):
    """Drawn like embeddings: a power-law spectrum, then L2-normalised."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32) / np.sqrt(np.arange(1, dim + 1, dtype=np.float32))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def fitted():
    vectors = embeddings(4000)
    return vectors, fit_kmeans_codebooks(vectors, subspaces=16, codewords=64)


def test_codes_are_one_byte_per_subspace_column_major(fitted):
    vectors, books = fitted
    codes = books.encode(vectors)
    assert codes.shape == (16, 4000) and codes.dtype == np.uint8 and codes[0].flags["C_CONTIGUOUS"]
    error = np.linalg.norm(books.decode(codes) - vectors, axis=1).mean()
    shuffled = np.linalg.norm(books.decode(np.roll(codes, 1, axis=1)) - vectors, axis=1).mean()
    assert error < 0.5 * shuffled


def test_lookup_tables_equal_dot_products_with_the_reconstruction(fitted):
    vectors, books = fitted
    codes = books.encode(vectors[:100])
    query = embeddings(1, seed=9)[0]
    expected = books.decode(codes) @ query
    assert np.allclose(adc_scores(books.lookup_tables(query), codes), expected, atol=1e-5)


def test_rerank_recovers_the_exact_top_10(fitted):
    vectors, books = fitted
    scanner = PQScanner(books, books.encode(vectors))
    recall_pq, recall_rerank = [], []
    for query in embeddings(20, seed=3):
        exact = set(top(vectors @ query, 10))
        recall_pq.append(len(exact & set(search_pq(scanner, query, 10)[0])) / 10)
        found, scores = search_pq(scanner, query, 10, vectors=vectors, candidates=200)
        recall_rerank.append(len(exact & set(found)) / 10)
        assert np.all(np.diff(scores) <= 0)
    assert np.mean(recall_rerank) >= 0.95 and np.mean(recall_rerank) > np.mean(recall_pq)


def test_bad_shapes_fail_clearly():
    with pytest.raises(ValueError, match="not divisible"):
        fit_kmeans_codebooks(embeddings(300, dim=30), subspaces=16)
    with pytest.raises(ValueError, match="cannot fit"):
        fit_kmeans_codebooks(embeddings(10), subspaces=8)
    assert Codebooks(np.zeros((8, 256, 4), np.float32)).dim == 32


@pytest.mark.parametrize("subspaces", [8, 7])
def test_paired_scan_equals_one_lookup_per_subspace(subspaces):
    vectors = embeddings(1000, dim=56)
    books = fit_kmeans_codebooks(vectors, subspaces=subspaces, codewords=256)
    codes = books.encode(vectors)
    query = embeddings(1, dim=56, seed=5)[0]
    assert np.allclose(PQScanner(books, codes).scores(query), adc_scores(books.lookup_tables(query), codes),
                       atol=1e-5)
    assert len(PQScanner(books, codes)) == 1000


def test_codebooks_file_round_trip_and_refusals(tmp_path, fitted):
    _, books = fitted
    save_codebooks(books, tmp_path / "c.npy")
    assert np.array_equal(load_codebooks(tmp_path / "c.npy").centroids, books.centroids)
    np.save(tmp_path / "bad.npy", np.zeros((4, 300, 2), np.float32))
    with pytest.raises(ValueError, match="K<=256"):
        load_codebooks(tmp_path / "bad.npy")
    with pytest.raises(ValueError, match="do not fit"):
        books.encode(np.zeros((3, 10), np.float32))


@pytest.mark.parametrize("subspaces,codewords", [(8, 16), (7, 16), (8, 4)])
def test_4bit_codes_pack_two_a_byte_low_nibble_even(subspaces, codewords):
    vectors = embeddings(600, dim=56)
    books = fit_kmeans_codebooks(vectors, subspaces=subspaces, codewords=codewords)
    codes = books.encode(vectors)
    stored = books.stored_codes(vectors)
    assert books.nibbles and books.code_bytes == (subspaces + 1) // 2 and stored.shape == (books.code_bytes, 600)
    assert np.array_equal(stored[0], codes[0] | (codes[1] << 4)) and np.array_equal(books.unpack(stored), codes)
    if subspaces % 2:  # the last byte's high nibble is left 0
        assert np.array_equal(stored[-1], codes[-1])
    query = embeddings(1, dim=56, seed=7)[0]
    assert np.allclose(PQScanner(books, stored).scores(query), adc_scores(books.lookup_tables(query), codes),
                       atol=1e-5)


def test_8bit_codes_stay_one_byte_a_subspace(fitted):
    vectors, books = fitted  # 64 codewords
    assert not books.nibbles and books.code_bytes == 16
    assert np.array_equal(books.stored_codes(vectors[:50]), books.encode(vectors[:50]))
    with pytest.raises(ValueError, match="bytes a photo"):
        PQScanner(books, books.encode(vectors[:50])[:8])
