"""PQ codes in the store: written at index time, re-encoded when the codebooks change, searched by mode."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from tests_support import filled_store

from pocketclip.cli import cli
from pocketclip.models.train.pq_kmeans import fit_kmeans_codebooks
from pocketclip.runtime.bundle.codebooks import Codebooks, bundle_codebooks
from pocketclip.runtime.search.exact import VectorIndex
from pocketclip.runtime.search.pq_index import PQIndex, choose_mode, open_index
from pocketclip.runtime.store import Store, StoreError, from_blobs


def books_for(vectors, subspaces=8, codewords=32, seed=0):
    return fit_kmeans_codebooks(vectors, subspaces=subspaces, codewords=codewords, seed=seed)


def test_binding_codebooks_encodes_every_stored_vector_once(tmp_path):
    db, vectors = filled_store(tmp_path, n=400)
    books = books_for(vectors)
    assert db.bind_codebooks(books, "sha-a", "m", chunk=64) == 400
    rows = db.execute("SELECT vector, pq_code FROM embeddings ORDER BY photo_id").fetchall()
    stored = from_blobs([r[0] for r in rows], 16)
    assert [r[1] for r in rows] == books.code_blobs(stored) and all(len(r[1]) == 8 for r in rows)
    assert db.meta()["pq_codebooks_sha256"] == "sha-a"
    assert db.bind_codebooks(books, "sha-a", "m") == 0  # same codebooks: nothing to do
    other = books_for(vectors, seed=1)
    assert db.bind_codebooks(other, "sha-b", "m") == 400
    assert db.execute("SELECT pq_code FROM embeddings WHERE photo_id = 1").fetchone()[0] == \
        other.code_blobs(stored[:1])[0]
    db.bind_codebooks(None, None, "m")
    assert db.execute("SELECT count(*) FROM embeddings WHERE pq_code IS NOT NULL").fetchone()[0] == 0
    assert "pq_codebooks_sha256" not in db.meta()


def test_rerank_of_every_candidate_is_exact_search(tmp_path):
    db, vectors = filled_store(tmp_path, n=600)
    books = books_for(vectors)
    db.bind_codebooks(books, "sha", "m")
    pq, exact = PQIndex(db, "m", books, candidates=588), VectorIndex(db, db.search_arrays("m"))
    assert len(pq) == len(exact) == 588  # deleted photos are not searched
    approximate = PQIndex(db, "m", books, candidates=None)
    for query in vectors[:5]:
        want = exact.top_k(query, 10)
        got = pq.top_k(query, 10)
        assert [(h.id, h.path) for h in got] == [(h.id, h.path) for h in want]
        assert np.allclose([h.score for h in got], [h.score for h in want], atol=1e-6)
        approx = approximate.top_k(query, 10)
        assert len(approx) == 10 and approx[0].score >= approx[-1].score


def test_a_store_without_codes_of_these_codebooks_is_refused(tmp_path):
    db, vectors = filled_store(tmp_path, n=300)
    with pytest.raises(StoreError, match="pocketclip index"):
        PQIndex(db, "m", books_for(vectors))


def test_mode_rule(fp32_bundle):
    switch = fp32_bundle.search["exact_below_photos"]  # the manifest's, as every platform reads it
    assert switch == 50_000
    assert choose_mode("auto", switch - 1, True, switch) == "exact"
    assert choose_mode("auto", switch, True, switch) == "pq+rerank"
    assert choose_mode("auto", 10**6, False, switch) == "exact"
    assert choose_mode("exact", 10**6, True, switch) == "exact"
    with pytest.raises(StoreError, match="no PQ codes"):
        choose_mode("pq", 10, False, switch)


def test_indexing_writes_codes_and_search_modes_agree(tmp_path, photo_folder, fp32_bundle):
    books = bundle_codebooks(fp32_bundle)
    assert isinstance(books, Codebooks) and books.subspaces == fp32_bundle.manifest["pq"]["subspaces"]
    db_path = str(tmp_path / "lib.db")
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(photo_folder), "--bundle", str(fp32_bundle.root), "--db", db_path,
                                 "--silent"])
    assert result.exit_code == 0, result.output
    db = Store.open(db_path)
    rows = db.execute("SELECT vector, pq_code FROM embeddings").fetchall()
    assert [r[1] for r in rows] == books.code_blobs(from_blobs([r[0] for r in rows], books.dim))
    status = json.loads(runner.invoke(cli, ["status", "--db", db_path, "--json"]).stdout)
    assert status["pq_codes"] == 24 and status["pq_codebooks_sha256"] == fp32_bundle.pq_sha256
    assert open_index(db, fp32_bundle)[0] == "exact"  # 24 photos: below the threshold

    def search(mode):
        out = runner.invoke(cli, ["search", "two red circles", "--db", db_path, "-k", "5", "--json", "--mode", mode,
                                  "--candidates", "24"])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    exact, reranked, approx = search("exact"), search("pq+rerank"), search("pq")
    assert [h["path"] for h in reranked] == [h["path"] for h in exact]
    assert len(approx) == 5 and len({h["path"] for h in approx} & {h["path"] for h in exact}) >= 3


def test_pq_search_on_a_bundle_without_codebooks_is_a_clear_error(tmp_path, photo_folder, fp32_bundle):
    import shutil

    from pocketclip.runtime.bundle.manifest import load_bundle

    plain = tmp_path / "plain"
    shutil.copytree(fp32_bundle.root, plain)
    manifest = json.loads((plain / "manifest.json").read_text())
    del manifest["pq"]
    (plain / "manifest.json").write_text(json.dumps(manifest))
    assert bundle_codebooks(load_bundle(plain)) is None
    db_path = str(tmp_path / "lib.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", str(photo_folder), "--bundle", str(plain), "--db", db_path,
                               "--silent"]).exit_code == 0
    result = runner.invoke(cli, ["search", "x", "--db", db_path, "--mode", "pq"])
    assert result.exit_code == 1 and "no PQ codes" in result.output


def test_tampered_codebooks_are_refused_by_their_hash(tmp_path, fp32_bundle):
    import shutil

    from pocketclip.runtime.bundle.manifest import BundleHashMismatch, load_bundle

    copy = tmp_path / "bundle"
    shutil.copytree(fp32_bundle.root, copy)
    path = copy / fp32_bundle.manifest["pq"]["file"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(BundleHashMismatch, match="codebooks.npy"):
        bundle_codebooks(load_bundle(copy))
