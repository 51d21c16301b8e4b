"""What an indexing run keeps and records that the scenarios do not read back: the generation that makes a search
copy stale after a touch, a move or a restore; byte-identical files and which row a new path takes; progress,
timestamps and tombstones; batch sizes and the defaults; each photo read once. Real files, the stand-in encoder of
indexing_support.py, no bundle: each test runs in about a second."""
import hashlib
import os
import shutil
from types import SimpleNamespace

import pytest
from indexing_support import SPEC, Clock, TwoReads, embed, index, picture, row, served, small_library

from pocketclip.runtime.indexing import indexer, source
from pocketclip.runtime.indexing.indexer import RootUnavailable, index_folder, index_library
from pocketclip.runtime.indexing.source import FolderSource
from pocketclip.runtime.store import Store


@pytest.fixture
def library(tmp_path):
    return small_library(tmp_path)


def test_a_touch_a_move_and_a_restore_each_make_the_search_copy_stale(library):
    root, db, clock = library
    index(root, db, clock)
    db.write_copy("m")
    os.utime(root / "a.png", ns=(1, 5_000_000_000))
    generation = db.generation()
    assert index(root, db, clock).touched == 1
    assert db.generation() > generation and db.open_copy("m") is None
    db.write_copy("m")
    (root / "b.png").rename(root / "b-renamed.png")
    generation = db.generation()
    assert index(root, db, clock).moved == 1
    assert db.generation() > generation and db.open_copy("m") is None
    kept = (root / "c.png").read_bytes()
    (root / "c.png").unlink()
    assert index(root, db, clock).deleted == 1
    c = row(db, "c.png")["id"]
    db.write_copy("m")
    assert c not in served(db).ids  # a tombstone is not searched
    (root / "c.png").write_bytes(kept)
    report = index(root, db, clock)
    assert (report.restored, report.embedded) == (1, 0)
    assert c in served(db).ids, "the restored photo must be found: a copy from before it came back is stale"


def test_a_photo_renamed_after_a_reindex_is_embedded_in_the_same_run(library):
    root, db, clock = library
    index(root, db, clock)
    db.bind_model("m", 8, "other-preprocessing", reindex=True)  # every vector dropped
    (root / "d.png").rename(root / "d-renamed.png")
    report = index(root, db, clock)
    assert (report.embedded, report.moved) == (4, 0)
    assert db.searchable_count("m") == 4 and row(db, "d-renamed.png")["id"] in db.ids_with_vector("m")


def test_byte_identical_files_each_keep_a_row_and_a_new_copy_takes_a_vanished_one(library):
    root, db, clock = library
    shutil.copyfile(root / "a.png", root / "a-copy.png")
    report = index(root, db, clock)
    assert report.embedded == 5 and db.searchable_count("m") == 5
    a, copy = row(db, "a.png")["id"], row(db, "a-copy.png")["id"]
    assert a != copy and row(db, "a.png")["content_hash"] == row(db, "a-copy.png")["content_hash"]
    # One copy gone, a third one added: it takes the vanished copy's row and vector, nothing is embedded.
    (root / "a-copy.png").rename(root / "a-third.png")
    report = index(root, db, clock)
    assert (report.moved, report.embedded, report.deleted) == (1, 0, 0)
    assert row(db, "a-third.png")["id"] == copy and row(db, "a.png")["id"] == a
    assert row(db, "a.png")["status"] == "ok" and "a-copy.png" not in db.photo_rows()


def test_a_new_copy_prefers_a_vanished_photo_to_a_tombstone_then_the_lowest_id(library):
    root, db, clock = library
    for name in ("x1.png", "x2.png", "x3.png"):
        shutil.copyfile(root / "a.png", root / name)
    index(root, db, clock)
    ids = {name: row(db, name)["id"] for name in ("x1.png", "x2.png", "x3.png")}
    (root / "x1.png").unlink()
    assert index(root, db, clock).deleted == 1  # x1: a tombstone, the lowest id
    (root / "x2.png").unlink()
    (root / "x3.png").unlink()
    shutil.copyfile(root / "a.png", root / "y.png")
    report = index(root, db, clock)
    assert (report.moved, report.restored, report.embedded) == (1, 0, 0)
    assert row(db, "y.png")["id"] == ids["x2.png"]  # a vanished photo before a tombstone, then the lowest id
    assert row(db, "x1.png")["status"] == "deleted" and row(db, "x3.png")["status"] == "deleted"


def test_progress_counts_each_batch_and_stamps_are_the_runs(library):
    root, db, clock = library
    picture(root / "e.png", 9)
    calls = []
    index(root, db, clock, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
    stamps = {path: r["indexed_at"] for path, r in db.photo_rows().items()}
    assert stamps["a.png"] == "2026-01-01T00:01:00+00:00" and stamps["e.png"] == "2026-01-01T00:03:00+00:00"
    calls.clear()
    index(root, db, clock, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 0)]  # nothing to embed, said once
    os.utime(root / "a.png", ns=(1, 9_000_000_000))
    kept = (root / "b.png").read_bytes()
    (root / "b.png").unlink()
    index(root, db, clock)
    assert row(db, "a.png")["indexed_at"] == stamps["a.png"]  # a touch is not a new indexing
    deleted_at = row(db, "b.png")["indexed_at"]
    assert deleted_at > stamps["e.png"] and row(db, "b.png")["status"] == "deleted"
    (root / "b.png").write_bytes(kept)
    index(root, db, clock)
    assert row(db, "b.png")["status"] == "ok" and row(db, "b.png")["indexed_at"] > deleted_at  # restored now
    (root / "c.png").rename(root / "c-moved.png")
    index(root, db, clock)
    assert row(db, "c-moved.png")["indexed_at"] == stamps["c.png"]  # a move is not a new indexing


def test_tombstones_are_purged_after_thirty_days(library):
    root, db, clock = library
    index(root, db, clock)
    (root / "a.png").unlink()
    index(root, db, clock)
    clock.jump(29)
    assert index(root, db, clock).purged == 0 and "a.png" in db.photo_rows()
    clock.jump(1)  # thirty days and a few minutes
    assert index(root, db, clock).purged == 1 and "a.png" not in db.photo_rows()


def test_bad_sizes_are_refused_before_anything_changes(library):
    root, db, clock = library
    index(root, db, clock)
    os.utime(root / "a.png", ns=(1, 3_000_000_000))  # a touch a run would record
    generation, before = db.generation(), db.photo_rows()
    for kwargs in ({"batch_size": 0}, {"workers": 0}, {"prefetch": 0}):
        with pytest.raises(ValueError, match="^batch size and workers must be at least 1"):  # not a helper's words
            index_library(db, FolderSource(root), "m", SPEC, embed, clock=clock, **{"batch_size": 2, **kwargs})
        assert db.generation() == generation and db.photo_rows() == before


def test_one_photo_a_batch_one_worker_nothing_ahead(library):
    root, db, clock = library
    calls = []
    report = index_library(db, FolderSource(root), "m", SPEC, embed, batch_size=1, workers=1, prefetch=1, clock=clock,
                           progress=lambda done, total: calls.append(done))
    assert report.embedded == 4 and calls == [0, 1, 2, 3, 4]


class RecordingSource(TwoReads):
    """The folder, with the draft flag each decode was asked for."""

    def __init__(self, folder):
        super().__init__(folder)
        self.drafts = []

    def decode(self, photo, spec, draft):
        self.drafts.append(draft)
        return super().decode(photo, spec, draft)


def fake_encoder():
    """What index_folder needs of a BundleEncoder: the bundle's fingerprint and preprocessing, encode_pixels."""
    return SimpleNamespace(bundle=SimpleNamespace(fingerprint="m", preprocess=SPEC),
                           encode_pixels=lambda pixels: embed(None, pixels))


def test_the_defaults_batches_of_32_drafts_on_failures_waiting(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    for i in range(33):
        picture(root / f"{i:02d}.png", i, size=16)
    (root / "bad.jpg").write_text("not a photo")
    sources = []
    monkeypatch.setattr(indexer, "FolderSource", lambda folder: sources.append(RecordingSource(folder)) or sources[-1])
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", 8, "x")
    calls = []
    report = index_folder(root, db, fake_encoder(), progress=lambda done, total: calls.append((done, total)))
    assert (report.embedded, report.errors) == (33, 1) and calls == [(0, 34), (32, 34), (34, 34)]
    assert set(sources[0].drafts) == {True}
    report = index_folder(root, db, fake_encoder())
    assert (report.skipped_errors, report.errors, report.unchanged) == (1, 0, 33)  # failures wait for a change
    calls.clear()
    (root / "bad.jpg").write_text("still not a photo")
    index_library(db, RecordingSource(root), "m", SPEC, embed, progress=lambda done, total: calls.append(done))
    assert calls == [0, 1]
    source = RecordingSource(root)
    picture(root / "new.png", 99)
    index_library(db, source, "m", SPEC, embed)
    assert source.drafts == [True]
    shutil.rmtree(root)
    with pytest.raises(RootUnavailable):  # not allowed to empty the store unless asked
        index_folder(root, db, fake_encoder())


def test_index_library_embeds_32_photos_a_batch_unless_told(tmp_path):
    root = tmp_path / "photos"
    for i in range(33):
        picture(root / f"{i:02d}.png", i, size=8)
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", 8, "x")
    calls = []
    index_library(db, FolderSource(root), "m", SPEC, embed, progress=lambda done, total: calls.append(done))
    assert calls == [0, 32, 33]


def vectors(db):
    return dict(db.execute("SELECT p.path, e.vector FROM photos p JOIN embeddings e ON e.photo_id = p.id").fetchall())


def test_each_photo_is_read_once_and_a_file_too_big_to_hold_is_hashed_as_a_stream(library, tmp_path, monkeypatch):
    """FolderSource.load: bytes_read counts each photo's bytes once (hashed and decoded from the same read, or only
    hashed when it keeps its vector); a file over MAX_READ_BYTES is hashed as a stream and decoded from disk (two
    reads, both counted), and its row and vector are the same."""
    root, db, clock = library
    size = {path.name: path.stat().st_size for path in root.iterdir()}
    assert index(root, db, clock).bytes_read == sum(size.values())
    assert row(db, "a.png")["content_hash"] == hashlib.blake2b((root / "a.png").read_bytes(), digest_size=16).hexdigest()
    assert index(root, db, clock).bytes_read == 0  # unchanged: not opened
    os.utime(root / "a.png", ns=(1, 5_000_000_000))
    report = index(root, db, clock)
    assert (report.touched, report.bytes_read) == (1, size["a.png"])
    for limit in (size["a.png"], size["a.png"] - 1):  # a file of exactly the limit is still held whole
        streamed = Store.open(tmp_path / f"streamed-{limit}.db")
        streamed.bind_model("m", 8, "x")
        monkeypatch.setattr(source, "MAX_READ_BYTES", limit)
        report = index(root, streamed, Clock())
        assert report.bytes_read == sum(n if n <= limit else 2 * n for n in size.values())
        assert report.embedded == 4 and vectors(streamed) == vectors(db)
        kept = ("content_hash", "width", "height", "status")
        assert {path: [r[k] for k in kept] for path, r in streamed.photo_rows().items()} == \
            {path: [r[k] for k in kept] for path, r in db.photo_rows().items()}


def test_a_photo_that_keeps_its_vector_is_read_to_be_hashed_never_decoded(library):
    """R4, R5: a touched photo (its own row's hash) and a moved one (a vanished row's hash) are read once, for
    the hash; decoding them would only cost time."""
    root, db, clock = library
    index(root, db, clock)
    os.utime(root / "a.png", ns=(1, 5_000_000_000))
    (root / "b.png").rename(root / "b-moved.png")
    source = RecordingSource(root)
    report = index_library(db, source, "m", SPEC, embed, batch_size=2, workers=1, clock=clock)
    assert (report.touched, report.moved, report.embedded) == (1, 1, 0) and source.drafts == []


class DecodeSpy(FolderSource):
    """The folder, read once per photo by FolderSource.load; `decoded`: the photos decoded by a second read."""

    def __init__(self, folder):
        super().__init__(folder)
        self.decoded = []

    def decode(self, photo, spec, draft):
        self.decoded.append(photo.path)
        return super().decode(photo, spec, draft)


def test_two_new_copies_of_a_vanished_photo_one_takes_its_row_the_other_is_read_again(library):
    """R5 and R7 in one batch: both copies are read for the hash only (the hash is a vanished row's); the first
    takes the row and vector, the second is then decoded by a second read, its one case, and embedded."""
    root, db, clock = library
    index(root, db, clock)
    a = row(db, "a.png")["id"]
    (root / "a.png").rename(root / "a1.png")
    shutil.copyfile(root / "a1.png", root / "a2.png")
    picture(root / "e.png", 9)
    source = DecodeSpy(root)
    report = index_library(db, source, "m", SPEC, embed, batch_size=4, workers=1, clock=clock)
    assert (report.moved, report.embedded, report.deleted) == (1, 2, 0) and source.decoded == ["a2.png"]
    # bytes_read counts the library's bytes, each photo once: the second read of a2.png is not counted again
    assert report.bytes_read == sum((root / name).stat().st_size for name in ("a1.png", "a2.png", "e.png"))
    assert row(db, "a1.png")["id"] == a and {a, row(db, "a2.png")["id"], row(db, "e.png")["id"]} <= db.ids_with_vector("m")
