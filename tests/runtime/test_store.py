"""The shared store: schema names, model binding, float16 vectors, refusing a newer store."""
import numpy as np
import pytest

from pocketclip.runtime.store import ModelMismatch, Store, StoreTooNew, from_blobs, to_blob


@pytest.fixture
def db(tmp_path):
    return Store.open(tmp_path / "photos.db")


def test_schema_has_the_contract_names(db):
    assert set(db.table_names()) >= {"meta", "photos", "embeddings"}
    assert [c.name for c in db["photos"].columns] == [
        "id", "path", "size", "mtime_ns", "content_hash", "width", "height", "status", "error", "indexed_at",
        "taken_at", "taken_offset", "taken_source", "latitude", "longitude", "place_city", "place_region",
        "place_country", "camera_make", "camera_model", "format"]
    assert [c.name for c in db["embeddings"].columns] == ["photo_id", "model", "vector", "pq_code"]
    assert db["embeddings"].pks == ["photo_id", "model"]
    assert db.journal_mode == "wal"
    assert db.meta()["schema_version"] == "2"


def test_reopening_applies_no_migration_twice(tmp_path):
    Store.open(tmp_path / "a.db")
    db = Store.open(tmp_path / "a.db")
    assert db["_sqlite_migrations"].count == 2


def test_another_model_is_refused_unless_reindexing(db):
    db.bind_model("model-a", 4, "pre")
    db["photos"].insert({"id": 1, "path": "x.jpg", "status": "ok"})
    db["embeddings"].insert({"photo_id": 1, "model": "model-a", "vector": to_blob(np.ones(4) / 2)})
    with pytest.raises(ModelMismatch, match="--reindex"):
        db.bind_model("model-b", 4, "pre")
    db.bind_model("model-b", 4, "pre", reindex=True)
    assert db["embeddings"].count == 0 and db.meta()["model_fingerprint"] == "model-b"


def test_vectors_are_little_endian_float16(db):
    v = np.array([0.5, -0.25, 0.125, 1.0], dtype=np.float32)
    blob = to_blob(v)
    assert blob == np.array(v, dtype="<f2").tobytes() and len(blob) == 8
    assert np.array_equal(from_blobs([blob, blob], 4), np.stack([v, v]))
    assert from_blobs([], 4).shape == (0, 4)


def test_a_newer_store_is_refused(tmp_path):
    db = Store.open(tmp_path / "n.db")
    db["meta"].insert({"key": "schema_version", "value": "99"}, replace=True)
    with pytest.raises(StoreTooNew, match="reads up to 2"):
        Store.open(tmp_path / "n.db")
