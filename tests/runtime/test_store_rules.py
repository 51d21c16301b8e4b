"""The store's rules on the paths the main ones do not take: another program's SQLite file, read-only media,
binding an empty store, every write raising the generation, and what status and the row reads answer.
No bundle: every test here runs in well under a second (benchmarks/mutation.py runs them per mutant)."""
import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from pocketclip.runtime.store import ModelMismatch, NotAStore, Store, StoreError, StoreTooNew, to_blob
from pocketclip.runtime.store import schema


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sqlite_file(path, *statements) -> Path:
    con = sqlite3.connect(path)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()
    return path


def unit(seed, dim=4):
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def with_photos(db, statuses, model="m", dim=4):
    db.bind_model(model, dim, "x")
    for i, status in enumerate(statuses, 1):
        db.write_batch(model, [(None, {"path": f"p{i}.jpg", "status": status, "content_hash": f"h{i}",
                                       "indexed_at": f"2026-01-0{i}T00:00:00+00:00"}, to_blob(unit(i, dim)), None)])
    return db


# ---- another program's file -----------------------------------------------------------------------------

@pytest.mark.parametrize("statements", [
    ["CREATE TABLE notes(text)", "INSERT INTO notes VALUES ('keep me')"],  # tables, no application id
    ["PRAGMA application_id = 1234"],  # an application id of its own, no tables yet
    ["PRAGMA application_id = 1234", "CREATE TABLE meta(key, value)"],
    # our three table names, but not our migrations: a look-alike
    ["CREATE TABLE meta(key, value)", "CREATE TABLE photos(id)", "CREATE TABLE embeddings(photo_id)"],
])
@pytest.mark.parametrize("readonly", [False, True])
def test_another_programs_sqlite_file_is_refused_untouched(tmp_path, statements, readonly):
    other = sqlite_file(tmp_path / "notes.db", *statements)
    before = digest(other)
    with pytest.raises(NotAStore, match="another program"):
        Store.open(other, readonly=readonly)
    assert digest(other) == before and not Path(f"{other}-wal").exists()


def test_a_store_a_phone_wrote_without_the_application_id_is_ours(tmp_path):
    path = tmp_path / "phone.db"
    with_photos(Store.open(path), ["ok"]).close()
    sqlite_file(path, "PRAGMA application_id = 0")
    db = Store.open(path, readonly=True)
    assert db.ok_ids() == {1}
    db.close()
    Store.open(path).close()  # a writer marks it as ours again
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID


def test_an_empty_file_becomes_a_store_but_is_not_one_to_read(tmp_path):
    path = tmp_path / "new.db"
    path.write_bytes(b"")
    with pytest.raises(NotAStore, match="empty"):
        Store.open(path, readonly=True)
    with pytest.raises(StoreError, match="no store at"):
        Store.open(tmp_path / "missing.db", readonly=True)
    with pytest.raises(StoreError, match="is a folder"):
        Store.open(tmp_path)
    db = Store.open(path)
    assert db.meta()["schema_version"] == str(schema.SCHEMA_VERSION) and db.generation() == 0
    assert db.photo_rows() == {} and db.status()["ok"] == 0


def test_a_newer_store_is_refused_read_only_too(tmp_path):
    path = tmp_path / "n.db"
    Store.open(path).close()
    newer = schema.SCHEMA_VERSION + 1
    sqlite_file(path, f"UPDATE meta SET value = '{newer}' WHERE key = 'schema_version'")
    for readonly in (False, True):
        with pytest.raises(StoreTooNew, match=f"schema version {newer}"):
            Store.open(path, readonly=readonly)


def test_a_file_that_is_not_sqlite_is_one_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"not a database at all, just text" * 200)
    for readonly in (False, True):
        with pytest.raises(StoreError, match="garbage.db"):
            Store.open(path, readonly=readonly)


def in_a_thread(call):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def test_the_schema_keeps_paths_unique_and_finds_photos_by_content(tmp_path):
    db = Store.open(tmp_path / "s.db")
    indexes = {tuple(i.columns): i.unique for i in db["photos"].indexes}
    assert indexes[("path",)] and not indexes[("content_hash",)]
    db["photos"].insert({"path": "a.jpg", "status": "ok"})
    with pytest.raises(sqlite3.IntegrityError):
        db["photos"].insert({"path": "a.jpg", "status": "ok"})
    assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID


def test_readers_and_writers_wait_ten_seconds_for_a_lock_and_readers_work_from_any_thread(tmp_path):
    path = tmp_path / "s.db"
    writer = with_photos(Store.open(path), ["ok"])
    reader = Store.open(path, readonly=True)
    for db in (writer, reader):
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert in_a_thread(reader.ok_ids) == {1}


# ---- read-only media ------------------------------------------------------------------------------------

class FailsWhenUsed:
    """A connection as SQLite gives one on read-only media: opening is lazy, the first statement fails."""

    def execute(self, *args):
        raise sqlite3.OperationalError("unable to open database file")


@pytest.fixture(params=["connect", "first statement"])
def read_only_media(monkeypatch, request):
    """SQLite as it behaves on read-only media: a `mode=ro` open of a WAL store fails (no -shm file can be
    made), at the connect or at the first statement; only an `immutable=1` open reads it. (The tests run as
    root, whom a read-only folder does not stop.)"""
    real = sqlite3.connect
    opened = []

    def connect(database, *args, **kwargs):
        opened.append(str(database))
        if "mode=ro" in str(database):
            if request.param == "connect":
                raise sqlite3.OperationalError("unable to open database file")
            return FailsWhenUsed()
        return real(database, *args, **kwargs)

    monkeypatch.setattr(schema.sqlite3, "connect", connect)
    return opened


def test_read_only_media_is_read_as_immutable(tmp_path, read_only_media):
    path = tmp_path / "media.db"
    db = with_photos(Store.open(path), ["ok", "deleted", "ok"])
    generation = db.generation()
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    Path(f"{path}-wal").write_bytes(b"")  # an empty log holds nothing to apply
    before = digest(path)
    ro = Store.open(path, readonly=True)
    assert read_only_media[-1].endswith("?immutable=1")
    assert ro.generation() == generation and ro.ok_ids() == {1, 3} and ro.searchable_count("m") == 2
    assert list(ro.search_arrays("m").ids) == [1, 3]
    assert in_a_thread(ro.ok_ids) == {1, 3}  # a server searches from its worker threads
    ro.close()
    assert digest(path) == before


def test_read_only_media_with_an_unapplied_log_is_refused(tmp_path, read_only_media):
    path = tmp_path / "media.db"
    db = with_photos(Store.open(path), ["ok"])
    db.conn.execute("PRAGMA wal_autocheckpoint = 0")
    db.write_batch("m", [(None, {"path": "late.jpg", "status": "ok"}, to_blob(unit(9)), None)])
    assert Path(f"{path}-wal").stat().st_size > 0
    with pytest.raises(StoreError, match="write-ahead log"):
        Store.open(path, readonly=True)


# ---- binding ---------------------------------------------------------------------------------------------

def test_an_empty_store_bound_to_another_model_takes_the_new_one(tmp_path):
    db = Store.open(tmp_path / "s.db")
    db.bind_model("model-a", 4, "pre-a", precision="fp32")
    generation = db.generation()
    db.bind_model("model-b", 8, "pre-b", precision="int8")  # no vectors: nothing can mix, nothing to drop
    meta = db.meta()
    assert (meta["model_fingerprint"], meta["dim"], meta["preprocess_sha256"], meta["precision"]) == \
        ("model-b", "8", "pre-b", "int8")
    assert db.generation() == generation


@pytest.mark.parametrize("change", [{"fingerprint": "model-b"}, {"dim": 8}, {"preprocess_sha256": "pre-b"},
                                    {"precision": "int8"}])
def test_a_store_with_vectors_refuses_any_other_binding(tmp_path, change):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "ok"])
    db.bind_model("m", 4, "x", precision="fp32")
    wanted = {"fingerprint": "m", "dim": 4, "preprocess_sha256": "x", "precision": "fp32"} | change
    with pytest.raises(ModelMismatch, match="--reindex"):
        db.bind_model(**wanted)
    assert db["embeddings"].count == 2 and db.meta()["model_fingerprint"] == "m"
    db.bind_model("m", 4, "x")  # the same model, precision not said: nothing changes
    assert db["embeddings"].count == 2 and db.meta()["precision"] == "fp32"
    generation = db.generation()
    db.bind_model(**wanted, reindex=True)
    assert db["embeddings"].count == 0 and db.generation() == generation + 1
    (key, value), = change.items()
    assert db.meta()["model_fingerprint" if key == "fingerprint" else key] == str(value)


class ArgmaxCodes:
    """Codebooks as the store uses them: one byte a vector, the index of its largest value."""
    dim = 4

    def __init__(self):
        self.calls = []

    def code_blobs(self, vectors):
        self.calls.append(len(vectors))
        return [bytes([int(np.argmax(v))]) for v in vectors]


def test_codebooks_encode_every_usable_vector_in_chunks(tmp_path):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "deleted", "ok", "ok", "error"])
    db.execute("UPDATE embeddings SET vector = x'00' WHERE photo_id = 4")  # a blob of the wrong length
    db.execute("INSERT INTO photos (id, path, status) VALUES (0, 'p0.jpg', 'ok')")  # a row id 0, as another tool may
    db.execute("INSERT INTO embeddings (photo_id, model, vector) VALUES (0, 'm', ?)", [to_blob(unit(0))])
    books, start = ArgmaxCodes(), db.generation()
    assert db.bind_codebooks(books, "sha", "m", chunk=2) == 5 and books.calls == [2, 2, 1]
    codes = dict(db.execute("SELECT photo_id, pq_code FROM embeddings"))
    assert codes == {i: bytes([int(np.argmax(unit(i)))]) for i in (0, 1, 2, 3, 5)} | {4: None}
    assert db.meta()["pq_codebooks_sha256"] == "sha" and db.generation() == start + 1
    assert db.ids_with_code() == {0, 1, 2, 3, 5}
    arrays = db.search_arrays("m")  # with the codes, unless asked without
    assert arrays.ids.tolist() == [0, 1, 3] and arrays.codes.tobytes() == codes[0] + codes[1] + codes[3]
    assert db.search_arrays("m", with_codes=False).codes is None
    assert db.bind_codebooks(books, "sha", "m") == 0 and db.generation() == start + 1
    assert db.bind_codebooks(None, None, "m") == 0 and db.generation() == start + 2
    assert db.ids_with_code() == set() and "pq_codebooks_sha256" not in db.meta()
    assert db.bind_codebooks(None, None, "m") == 0 and db.generation() == start + 2  # nothing left to clear


# ---- writes and reads ------------------------------------------------------------------------------------

def test_every_write_to_photos_or_vectors_raises_the_generation(tmp_path):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "ok", "ok"])
    steps = [lambda: db.update_photo(1, {"mtime_ns": 5, "path": "moved.jpg"}),
             lambda: db.write_batch("m", [(2, {"status": "error", "error": "bad"}, None, None)]),
             lambda: db.mark_deleted([3], "2026-02-01T00:00:00+00:00"),
             lambda: db.purge_tombstones("2026-03-01T00:00:00+00:00")]
    for step in steps:
        before = db.generation()
        step()
        assert db.generation() == before + 1
    before = db.generation()
    db.mark_deleted([], "2026-02-01T00:00:00+00:00")
    assert db.purge_tombstones("2026-03-01T00:00:00+00:00") == 0
    assert db.generation() == before  # nothing written, nothing raised
    assert db.photo_rows()["moved.jpg"]["mtime_ns"] == 5 and db.path_of(1) == "moved.jpg"


def test_an_error_drops_the_photos_vector_and_meta_goes_with_the_batch(tmp_path):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "ok"])
    db.set_meta({"decoding": "{}"})
    db.write_batch("m", [(1, {"status": "error", "error": "cannot decode"}, None, None),
                         (None, {"path": "new.jpg", "status": "ok"}, to_blob(unit(7)), b"\x01")],
                   {"decoding": None, "root": "/photos"})
    assert db.ids_with_vector("m") == {2, 3} and db.path_of(3) == "new.jpg"
    assert db.execute("SELECT pq_code FROM embeddings WHERE photo_id = 3").fetchone()[0] == b"\x01"
    assert "decoding" not in db.meta() and db.meta()["root"] == "/photos"
    with pytest.raises(ValueError, match="not a meta key"):
        db.set_meta({"colour": "red"})
    db.clear_meta("root")
    db.clear_meta("root")  # not there: nothing happens
    assert "root" not in db.meta()


def test_tombstones_are_purged_before_a_date_only(tmp_path):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "ok", "ok"])
    db.mark_deleted([1], "2026-01-01T00:00:00+00:00")
    db.mark_deleted([2], "2026-02-01T00:00:00+00:00")
    assert db.purge_tombstones("2026-01-15T00:00:00+00:00") == 1
    assert set(db.photo_rows()) == {"p2.jpg", "p3.jpg"} and db.ids_with_vector("m") == {2, 3}
    assert db.purge_tombstones("2026-02-01T00:00:00+00:00") == 0  # not before: kept


def test_reads_answer_for_ok_photos_only(tmp_path):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "deleted", "error", "ok"])
    assert db.ok_ids() == {1, 4} and db.ok_photo(1)["path"] == "p1.jpg"
    assert db.ok_photo(2) is None and db.ok_photo(3) is None and db.ok_photo(99) is None
    assert db.path_of(2) == "p2.jpg" and db.path_of(99) is None
    assert np.allclose(db.photo_vector("m", 4), unit(4), atol=1e-3)
    assert db.photo_vector("m", 2) is None and db.photo_vector("other", 4) is None
    assert db.searchable_count("m") == 2 and db.searchable_count("other") == 0
    assert set(db.photo_rows()) == {"p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg"}


def test_status_counts_what_a_user_is_shown(tmp_path):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "ok", "ok", "error", "deleted"])
    db.execute("UPDATE embeddings SET vector = NULL WHERE photo_id = 2")
    db.execute("UPDATE embeddings SET pq_code = x'01' WHERE photo_id IN (1, 5)")  # 5 is a tombstone
    db.set_meta({"root": "/photos"})
    status = db.status()
    assert {k: status[k] for k in ("ok", "error", "deleted", "fingerprint", "root", "pq_codes", "unusable_vectors",
                                   "last_indexed")} == {
        "ok": 3, "error": 1, "deleted": 1, "fingerprint": "m", "root": "/photos", "pq_codes": 1,
        "unusable_vectors": 1, "last_indexed": "2026-01-05T00:00:00+00:00"}
    files = [Path(db.path), Path(f"{db.path}-wal")]
    assert status["bytes"] == sum(f.stat().st_size for f in files if f.exists()) > Path(db.path).stat().st_size


def test_a_store_a_writer_left_before_its_migrations_reads_as_empty(tmp_path):
    """Our application id, no tables yet (a writer killed between marking the file and migrating it)."""
    path = sqlite_file(tmp_path / "s.db", f"PRAGMA application_id = {schema.APPLICATION_ID}")
    db = Store.open(path, readonly=True)
    assert db.meta() == {} and db.photo_rows() == {}
    status = db.status()
    assert (status["ok"], status["error"], status["deleted"], status["pq_codes"], status["unusable_vectors"],
            status["last_indexed"], status["fingerprint"]) == (0, 0, 0, 0, 0, None, None)
    db.close()
    assert Store.open(path).meta()["schema_version"] == str(schema.SCHEMA_VERSION)  # a writer migrates it


def test_status_of_a_library_with_no_failures(tmp_path):
    status = with_photos(Store.open(tmp_path / "s.db"), ["ok", "ok"]).status()
    assert (status["ok"], status["error"], status["deleted"]) == (2, 0, 0)
    status = with_photos(Store.open(tmp_path / "t.db"), ["error", "deleted"]).status()
    assert (status["ok"], status["error"], status["deleted"]) == (0, 1, 1)


def test_the_search_copy_is_written_and_mapped_through_the_store(tmp_path):
    db = with_photos(Store.open(tmp_path / "s.db"), ["ok", "deleted", "ok"])
    folder = db.write_copy("m")
    assert folder == Path(f"{tmp_path / 's.db'}.index") / f"g{db.generation()}" and (folder / "copy.json").is_file()
    arrays = db.open_copy("m")
    assert arrays.mapped and arrays.ids.tolist() == [1, 3] and arrays.paths is None
    assert db.open_copy("other") is None


def test_a_reader_sees_what_a_writer_committed_before_any_checkpoint(tmp_path):
    """Searching while an index run writes: the reader opens the store read-only, through its write-ahead log."""
    path = tmp_path / "s.db"
    writer = with_photos(Store.open(path), ["ok"])
    writer.conn.execute("PRAGMA wal_autocheckpoint = 0")
    writer.write_batch("m", [(None, {"path": "new.jpg", "status": "ok"}, to_blob(unit(5)), None)])
    assert Path(f"{path}-wal").stat().st_size > 0
    reader = Store.open(path, readonly=True)
    assert reader.ok_ids() == {1, 2} and reader.path_of(2) == "new.jpg"
    assert not list(Path.cwd().glob("file:*"))  # the read-only open is a URI, not a file of that name
