"""faiss's candidate stage runs on the bundle's codebooks and the store's own codes: on the golden set its codes
are the golden (phone) codes and its top-10 is numpy's, for 8-bit (IndexPQ) and 4-bit (IndexPQFastScan) codes."""
import faiss
import numpy as np
import pytest

from pocketclip.runtime.bundle.codebooks import bundle_codebooks
from pocketclip.runtime.indexing.binding import bind_store
from pocketclip.runtime.library import bundle_binding
from pocketclip.runtime.parity.golden import load_golden
from pocketclip.runtime.search import fastscan
from pocketclip.runtime.search.fastscan import FaissScanner
from pocketclip.runtime.search.pq import PQScanner, adc_scores
from pocketclip.runtime.search.pq_index import PQIndex
from pocketclip.runtime.store import Store, now, to_blob


@pytest.fixture(params=["fp32_bundle", "pq4_bundle"], ids=["8bit", "4bit"])
def golden_pq(request):
    """(bundle, codebooks, golden set, golden codes (code_bytes, G), golden PQ top-10 (C, 10))."""
    bundle = request.getfixturevalue(request.param)
    books = bundle_codebooks(bundle)
    codes = np.load(bundle.verified("golden/pq_codes.npy"))
    return bundle, books, load_golden(bundle), codes, np.load(bundle.verified("golden/pq_top10.npy"))


def test_the_bundles_have_the_code_formats(golden_pq):
    bundle, books, golden, codes, _ = golden_pq
    assert codes.shape == (books.code_bytes, len(golden.gallery_image_ref))
    assert bundle.manifest["pq"]["bytes_per_photo"] == books.code_bytes == 16
    assert ("low nibble = even sub-space" in bundle.manifest["pq"]["code"]) == books.nibbles
    assert isinstance(FaissScanner(books, codes.T).index, faiss.IndexPQFastScan if books.nibbles else faiss.IndexPQ)


def test_faiss_encodes_the_golden_codes(golden_pq):
    """Given the bundle's codebooks, faiss's own encoder computes the codes a phone computes, byte for byte."""
    _, books, golden, codes, _ = golden_pq
    index = FaissScanner(books, codes.T).index
    assert np.array_equal(index.sa_encode(golden.gallery_image_ref).T, codes)


def test_the_fastscan_blocks_hold_the_stored_codes(pq4_bundle):
    books = bundle_codebooks(pq4_bundle)
    codes = np.load(pq4_bundle.verified("golden/pq_codes.npy"))
    index = FaissScanner(books, codes.T).index
    packer = index.get_CodePacker()
    blocks = faiss.rev_swig_ptr(index.codes.get(), index.codes.size()).reshape(-1, packer.block_size)
    assert np.array_equal(np.stack([packer.unpack_1(blocks, i) for i in range(codes.shape[1])]), codes.T)


def test_faiss_top10_is_numpys(golden_pq):
    """IndexPQ scores with float tables: numpy's top-10 exactly. Fast-scan rounds its tables to 8 bits: its
    scores stay within that rounding of numpy's, and whatever it ranks differently is a near-tie by numpy's."""
    _, books, golden, codes, expected = golden_pq
    scanner = FaissScanner(books, codes.T)
    for c, query in enumerate(golden.gallery_text_ref):
        tables = books.lookup_tables(query)
        adc = adc_scores(tables, books.unpack(codes))
        rows, approx = scanner.search(query, 10)
        if not books.nibbles:
            assert rows.tolist() == expected[c].tolist(), c
            assert np.allclose(approx, adc[rows], atol=1e-5)
            continue
        rounding = books.subspaces * float(np.max(tables.max(1) - tables.min(1))) / 255  # one step a look-up
        assert np.all(np.abs(approx - adc[rows]) <= rounding), c
        assert np.all(adc[rows] >= adc[expected[c]][-1] - 2 * rounding), c
        assert len(set(rows) & set(expected[c])) >= 8, c


def golden_store(bundle, path):
    """A store of the golden gallery's picture embeddings (photo i + 1 = gallery row i), codes written by it."""
    db = Store.open(path)
    db.bind_model(bundle.fingerprint, bundle.embed_dim, bundle.preprocess_sha256)  # codes come after the rows
    with db.atomic():
        for i, vector in enumerate(load_golden(bundle).gallery_image_ref):
            db["photos"].insert({"id": i + 1, "path": f"g/{i:03d}.png", "status": "ok", "indexed_at": now()})
            db["embeddings"].insert({"photo_id": i + 1, "model": bundle.fingerprint, "vector": to_blob(vector)})
    bind_store(db, bundle_binding(bundle, "gallery"))
    return db


@pytest.mark.parametrize("engine", ["faiss", "numpy"])
def test_pq_mode_gives_numpys_top10_through_the_store(golden_pq, tmp_path, monkeypatch, engine):
    """PQ mode on a store: faiss (or numpy without it) proposes, the float look-up tables order, as the
    reference does (the store's codes are of the float16 vectors, so they are compared with their own ranking)."""
    bundle, books, golden, _, _ = golden_pq
    if engine == "numpy":
        monkeypatch.setattr(fastscan, "faiss", None)
    db = golden_store(bundle, tmp_path / "golden.db")
    index = PQIndex(db, bundle.fingerprint, books, candidates=None)
    assert isinstance(index.scanner, FaissScanner if engine == "faiss" else PQScanner)
    stored = books.unpack(np.ascontiguousarray(index.codes.T))
    assert np.array_equal(stored, books.encode(golden.gallery_image_ref.astype(np.float16).astype(np.float32)))
    for c, query in enumerate(golden.gallery_text_ref):
        reference = np.argsort(-adc_scores(books.lookup_tables(query), stored), kind="stable")[:10]
        assert [h.id - 1 for h in index.top_k(query, 10)] == reference.tolist(), c
