"""The store's memory-mappable copy: an index run writes it, searches map it while it is of the store's current
generation, and a stale one is never used (the store answers, as exact search on it does)."""
import shutil

import numpy as np
import pytest
from tests_support import draw_photos, filled_store

from pocketclip.runtime.bundle.codebooks import bundle_codebooks
from pocketclip.runtime.library import Library
from pocketclip.runtime.search.exact import StorePaths, VectorIndex
from pocketclip.runtime.store import Store
from pocketclip.runtime.store.copy import copy_folder

MODES = ("exact", "pq+rerank", "pq")


def index(db_path, folder, bundle):
    library = Library.create(db_path, folder, bundle)
    try:
        return library.index(workers=1)
    finally:
        library.close()


def check_searches(db_path, bundle, mapped: bool, photos: int) -> set[str]:
    """Every mode answers from the copy (`mapped`) or from the store's rows; exact and every-candidate pq+rerank
    give exact search's hits on the store. Returns the paths found."""
    db = Store.open(db_path, readonly=True)
    truth = VectorIndex(db, db.search_arrays(bundle.fingerprint))  # the store's rows, read directly
    assert len(truth) == photos
    found = set()
    for mode in MODES:
        library = Library.open(db_path, mode=mode, candidates=photos)
        index = library.search_index()
        assert isinstance(index.paths, StorePaths) == mapped and len(index) == photos, mode
        for photo_id in truth.ids[::5]:
            query = db.photo_vector(bundle.fingerprint, int(photo_id))
            hits = library.search_vector(query, 10)
            found |= {h.path for h in hits}
            if mode != "pq":
                want = truth.top_k(query, 10)
                assert [(h.id, h.path) for h in hits] == [(h.id, h.path) for h in want], mode
                assert np.allclose([h.score for h in hits], [h.score for h in want], atol=1e-6), mode
            else:
                assert len(hits) == 10 and hits[0].id == photo_id
        library.close()
    db.close()
    return found


def test_an_index_run_writes_the_copy_and_searches_map_it(tmp_path, photo_folder, fp32_bundle):
    db_path = tmp_path / "lib.db"
    index(db_path, photo_folder, fp32_bundle)
    db = Store.open(db_path, readonly=True)
    folder = copy_folder(db_path) / f"g{db.generation()}"
    assert db.generation() > 0 and [p.name for p in copy_folder(db_path).iterdir()] == [folder.name]
    assert sorted(p.name for p in folder.iterdir()) == ["codes.npy", "copy.json", "ids.npy", "vectors.npy"]
    arrays = db.open_copy(fp32_bundle.fingerprint)
    assert arrays.mapped and isinstance(arrays.vectors, np.memmap) and isinstance(arrays.codes, np.memmap)
    assert arrays.codes.shape == (24, bundle_codebooks(fp32_bundle).code_bytes)
    stored = db.execute("SELECT e.vector, e.pq_code FROM embeddings e ORDER BY e.photo_id").fetchall()
    assert arrays.vectors.tobytes() == b"".join(r[0] for r in stored)
    assert arrays.codes.tobytes() == b"".join(r[1] for r in stored)
    db.close()
    check_searches(db_path, fp32_bundle, mapped=True, photos=24)
    stamp = (folder / "copy.json").stat().st_mtime_ns
    index(db_path, photo_folder, fp32_bundle)  # nothing changed: same generation, the copy is kept as it is
    assert (folder / "copy.json").stat().st_mtime_ns == stamp


def test_a_stale_copy_is_not_used(tmp_path, photo_folder, fp32_bundle):
    db_path = tmp_path / "lib.db"
    index(db_path, photo_folder, fp32_bundle)
    before = Store.open(db_path, readonly=True).generation()
    shutil.copytree(copy_folder(db_path), tmp_path / "old-copy")
    removed = sorted(photo_folder.glob("*.jpg"))[:4]
    for path in removed:
        path.unlink()
    draw_photos(photo_folder, 6, start=100)
    index(db_path, photo_folder, fp32_bundle)
    assert Store.open(db_path, readonly=True).generation() > before
    # As if the run had died before rewriting the copy: the previous generation's copy is what lies beside it.
    shutil.rmtree(copy_folder(db_path))
    shutil.copytree(tmp_path / "old-copy", copy_folder(db_path))
    assert Store.open(db_path, readonly=True).open_copy(fp32_bundle.fingerprint) is None
    found = check_searches(db_path, fp32_bundle, mapped=False, photos=26)
    assert not found & {p.name for p in removed} and any("photo_10" in path for path in found)
    # searching never writes: the stale copy is still the only one (a writer replaces it)
    assert [p.name for p in copy_folder(db_path).iterdir()] == [f"g{before}"]


def test_every_write_raises_the_generation(tmp_path):
    db, vectors = filled_store(tmp_path, n=60)
    from pocketclip.models.train.pq_kmeans import fit_kmeans_codebooks

    books = fit_kmeans_codebooks(vectors, subspaces=4, codewords=16)
    start = db.generation()
    db.bind_codebooks(books, "sha-a", "m")
    assert db.generation() == start + 1
    db.bind_codebooks(books, "sha-a", "m")  # the same codebooks: nothing written
    assert db.generation() == start + 1
    db.bind_model("other", 16, "x", reindex=True)  # drops every vector
    assert db.generation() == start + 2


@pytest.mark.parametrize("damage", ["stamp", "array"])
def test_a_damaged_copy_is_ignored(tmp_path, photo_folder, fp32_bundle, damage):
    db_path = tmp_path / "lib.db"
    index(db_path, photo_folder, fp32_bundle)
    db = Store.open(db_path, readonly=True)
    folder = copy_folder(db_path) / f"g{db.generation()}"
    if damage == "stamp":
        (folder / "copy.json").write_text("{")
    else:
        np.save(folder / "ids.npy", np.arange(3))
    assert db.open_copy(fp32_bundle.fingerprint) is None
    check_searches(db_path, fp32_bundle, mapped=False, photos=24)
