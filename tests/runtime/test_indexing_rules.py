"""The indexer's side effects that the scenarios do not read back: the generation that makes a search copy stale
after a touch, a move or a restore; a photo that turns undecodable losing its vector; byte-identical files and
which row a new path takes; progress and timestamps. Real files, a stand-in encoder (a fixed random projection of
the pixels), no bundle: each test runs in about a second."""
import errno
import hashlib
import json
import os
import shutil
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pocketclip.runtime.indexing import indexer, source
from pocketclip.runtime.indexing.indexer import RootUnavailable, index_folder, index_library
from pocketclip.runtime.indexing.decode import DecodeError
from pocketclip.runtime.indexing.source import FolderSource, load_in_parts, photo_facts
from pocketclip.runtime.store import Store

SPEC = {"size": 8, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
PROJECTION = np.random.default_rng(0).normal(size=(3 * 8 * 8, 8)).astype(np.float32)


def embed(photos, pixels):
    vectors = pixels.reshape(len(pixels), -1) @ PROJECTION
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Clock:
    """indexed_at stamps one minute apart, from 2026-01-01; `jump` moves the days on."""

    def __init__(self):
        self.moment = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> str:
        self.moment += timedelta(minutes=1)
        return self.moment.isoformat(timespec="seconds")

    def jump(self, days):
        self.moment += timedelta(days=days)


def picture(path, seed, size=24):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i, name in enumerate(["a.png", "b.png", "c.png", "d.png"]):
        picture(root / name, i)
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", 8, "x")
    return root, db, Clock()


def index(root, db, clock, lines=None, **kwargs):
    return index_library(db, FolderSource(root), "m", SPEC, embed, batch_size=2, workers=1, clock=clock,
                         log=(lines.append if lines is not None else None), **kwargs)


def row(db, path):
    return db.photo_rows()[path]


def served(db):
    """What a search reads: the memory-mapped copy when it is of the store's generation, else the store's rows."""
    arrays = db.open_copy("m")
    return arrays if arrays is not None else db.search_arrays("m")


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


def test_a_photo_that_turns_undecodable_loses_its_vector_and_stays_an_error(library):
    root, db, clock = library
    index(root, db, clock)
    a = row(db, "a.png")["id"]
    (root / "a.png").write_bytes(b"this is no longer a picture")
    lines = []
    assert index(root, db, clock, lines).errors == 1
    assert a not in db.ids_with_vector("m") and db.execute("SELECT count(*) FROM embeddings WHERE photo_id = ?",
                                                            [a]).fetchone()[0] == 0
    assert lines == ["skipping a.png: not an image Pillow can read"]
    os.utime(root / "a.png", ns=(1, 7_000_000_000))  # touched, still not a picture
    report = index(root, db, clock)
    assert (report.errors, report.touched) == (1, 0)
    assert row(db, "a.png")["status"] == "error" and db.status()["ok"] == 3
    assert db.searchable_count("m") == 3 and a not in served(db).ids


def test_an_undecodable_file_renamed_is_still_an_error_not_a_photo(library):
    root, db, clock = library
    (root / "notes.jpg").write_text("not a photo")
    index(root, db, clock)
    (root / "notes.jpg").rename(root / "notes-renamed.jpg")
    report = index(root, db, clock)
    assert (report.moved, report.errors) == (0, 1)
    assert row(db, "notes-renamed.jpg")["status"] == "error" and db.status()["ok"] == 4


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


def test_most_of_the_library_gone_is_withheld_a_few_are_deleted(library):
    root, db, clock = library
    index(root, db, clock)
    for name in ("a.png", "b.png", "c.png"):
        (root / name).unlink()
    report = index(root, db, clock)
    assert (report.withheld, report.deleted) == (3, 0) and db.status()["ok"] == 4
    picture(root / "a.png", 0)
    picture(root / "b.png", 1)
    report = index(root, db, clock)  # one of four gone: at most half, so it is deleted
    assert (report.withheld, report.deleted) == (0, 1) and db.status()["deleted"] == 1


def test_two_of_four_gone_is_exactly_half_and_deleted(library):
    root, db, clock = library
    index(root, db, clock)
    (root / "a.png").unlink()
    (root / "b.png").unlink()
    report = index(root, db, clock)
    assert (report.withheld, report.deleted) == (0, 2)


def test_a_small_library_may_lose_most_of_its_photos(tmp_path):
    root = tmp_path / "photos"
    for i in range(3):
        picture(root / f"{i}.png", i)
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", 8, "x")
    clock = Clock()
    index(root, db, clock)
    (root / "0.png").unlink()
    (root / "1.png").unlink()
    assert index(root, db, clock).deleted == 2  # below DELETION_GUARD_FROM photos the guard does not apply


def test_a_missing_or_emptied_root_changes_nothing_unless_allowed(library):
    root, db, clock = library
    index(root, db, clock)
    generation = db.generation()
    shutil.rmtree(root)
    with pytest.raises(RootUnavailable, match="does not exist .* holds 4 photos"):
        index(root, db, clock)
    root.mkdir()
    with pytest.raises(RootUnavailable, match="holds no photo file, and the store holds 4"):
        index(root, db, clock)
    assert db.generation() == generation and db.status()["ok"] == 4
    lines = []
    report = index(root, db, clock, lines, allow_empty=True)
    assert report.deleted == 4 and db.status()["deleted"] == 4 and lines == []


def test_a_root_that_cannot_be_read_or_is_a_file_changes_nothing(library, monkeypatch):
    root, db, clock = library
    index(root, db, clock)
    generation = db.generation()

    def scandir(path="."):
        raise PermissionError(errno.EACCES, "Permission denied", None)

    with monkeypatch.context() as patched:
        patched.setattr(os, "scandir", scandir)
        with pytest.raises(RootUnavailable, match=r"cannot be read \(Permission denied\), and the store holds 4"):
            index(root, db, clock)
    real_exists = Path.exists

    def exists(path):  # a parent folder we may not search: even whether the root exists cannot be known
        if path == root:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_exists(path)

    with monkeypatch.context() as patched:
        patched.setattr(Path, "exists", exists)
        with pytest.raises(RootUnavailable, match=r"cannot be read \(Permission denied\), and the store holds 4"):
            index(root, db, clock)
    shutil.rmtree(root)
    root.write_bytes(b"a file where the library was")
    with pytest.raises(RootUnavailable, match="is not a folder, and the store holds 4"):
        index(root, db, clock)
    assert db.generation() == generation and db.status()["ok"] == 4


def test_an_empty_folder_is_fine_for_an_empty_store_a_missing_one_is_not(tmp_path):
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", 8, "x")
    (tmp_path / "empty").mkdir()
    assert index(tmp_path / "empty", db, Clock()).embedded == 0
    with pytest.raises(RootUnavailable, match="does not exist"):
        index(tmp_path / "missing", db, Clock())
    lines = []
    index(tmp_path / "missing", db, Clock(), lines, allow_empty=True)
    assert len(lines) == 1 and lines[0].startswith("skipping ./: ")


def test_failed_photos_wait_for_a_change_unless_retried(library):
    root, db, clock = library
    (root / "bad.jpg").write_text("not a photo")
    assert index(root, db, clock).errors == 1
    report = index(root, db, clock)
    assert (report.skipped_errors, report.errors) == (1, 0)
    report = index(root, db, clock, retry_errors=True)
    assert (report.skipped_errors, report.errors) == (0, 1)
    picture(root / "bad.jpg", 42)
    report = index(root, db, clock)
    assert report.embedded == 1 and row(db, "bad.jpg")["status"] == "ok" and row(db, "bad.jpg")["error"] is None


def test_bad_sizes_are_refused_before_anything_changes(library):
    root, db, clock = library
    index(root, db, clock)
    os.utime(root / "a.png", ns=(1, 3_000_000_000))  # a touch a run would record
    generation, before = db.generation(), db.photo_rows()
    for kwargs in ({"batch_size": 0}, {"workers": 0}, {"prefetch": 0}):
        with pytest.raises(ValueError, match="^batch size and workers must be at least 1"):  # not a helper's words
            index_library(db, FolderSource(root), "m", SPEC, embed, clock=clock, **{"batch_size": 2, **kwargs})
        assert db.generation() == generation and db.photo_rows() == before


class TwoReads(FolderSource):
    """The folder, hashed and decoded through content_hash and decode, which the sources below override."""

    def load(self, photo, spec, draft, wanted, facts=False):
        return load_in_parts(self, photo, spec, draft, wanted, photo_facts(photo, photo.absolute), facts)


class Crash(BaseException):
    """What a decoder that kills the process looks like to the run (never caught as a photo's error)."""


class CrashingSource(TwoReads):
    def __init__(self, folder, fatal):
        super().__init__(folder)
        self.fatal = fatal

    def decode(self, photo, spec, draft):
        if photo.path == self.fatal:
            raise Crash(photo.path)
        return super().decode(photo, spec, draft)


def test_a_photo_decoding_ahead_is_recorded_until_its_batch_is_written(library):
    """R20 with the default two batches decoding ahead: a written batch takes only its own photos off the record."""
    root, db, clock = library
    with pytest.raises(Crash):
        index_library(db, CrashingSource(root, "c.png"), "m", SPEC, embed, batch_size=1, workers=1, clock=clock)
    recorded = json.loads(db.meta()["decoding"])
    assert recorded.get("c.png") == 1 and "a.png" not in recorded and "b.png" not in recorded
    assert db.ids_with_vector("m") == {row(db, "a.png")["id"], row(db, "b.png")["id"]}


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


def test_what_the_walk_could_not_look_at_is_counted_and_left_alone(library, monkeypatch):
    root, db, clock = library
    picture(root / "album" / "e.png", 5)
    picture(root / "album" / "f.png", 6)
    index(root, db, clock)
    os.mkfifo(root / "pipe.jpg")
    (root / "a.png").unlink()
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("album"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    lines = []
    report = index(root, db, clock, lines)
    assert (report.skipped_files, report.unlisted_folders, report.deleted, report.withheld) == (1, ["album"], 1, 0)
    assert sorted(lines) == ["skipping album/: Permission denied", "skipping pipe.jpg: not a regular file (FIFO)"]
    assert row(db, "album/e.png")["status"] == "ok" and row(db, "album/f.png")["status"] == "ok"
    assert row(db, "a.png")["status"] == "deleted"
    monkeypatch.undo()
    report = index(root, db, clock)
    assert (report.skipped_files, report.unlisted_folders, report.unchanged) == (1, [], 5)


def test_decoding_records_of_photos_gone_are_dropped_and_a_broken_record_is_ignored(library):
    root, db, clock = library
    db.set_meta({"decoding": json.dumps({"gone.png": 1})})  # a run killed while decoding a photo since removed
    assert index(root, db, clock).embedded == 4
    assert "decoding" not in db.meta()
    db.set_meta({"decoding": "{not json"})
    (root / "e.png").write_bytes((root / "a.png").read_bytes()[:-1] + b"\0")
    report = index(root, db, clock)
    assert report.embedded + report.errors == 1 and "decoding" not in db.meta()


def test_index_library_embeds_32_photos_a_batch_unless_told(tmp_path):
    root = tmp_path / "photos"
    for i in range(33):
        picture(root / f"{i:02d}.png", i, size=8)
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", 8, "x")
    calls = []
    index_library(db, FolderSource(root), "m", SPEC, embed, progress=lambda done, total: calls.append(done))
    assert calls == [0, 32, 33]


def test_a_suspect_is_decoded_alone_so_an_innocent_one_is_never_quarantined(library):
    """R20: after a crash every photo of the batches in flight is a suspect; the next run decodes them one at a time,
    each recorded only while it decodes, so only the one that crashes again reaches two strikes."""
    root, db, clock = library
    for _ in range(2):
        with pytest.raises(Crash):
            index_library(db, CrashingSource(root, "b.png"), "m", SPEC, embed, batch_size=2, workers=1, clock=clock)
    report = index(root, db, clock)
    assert row(db, "b.png")["status"] == "error" and row(db, "b.png")["error"] == indexer.CRASHED
    assert [row(db, name)["status"] for name in ("a.png", "c.png", "d.png")] == ["ok"] * 3
    assert (report.embedded, report.errors, report.unchanged) == (2, 1, 1)  # a was written in the second run


class UnreadableSource(TwoReads):
    """The folder, where one photo cannot be read now (its permission, its disk)."""

    def __init__(self, folder, unreadable):
        super().__init__(folder)
        self.unreadable = unreadable

    def content_hash(self, photo):
        if photo.path == self.unreadable:
            raise DecodeError("unavailable: permission denied")
        return super().content_hash(photo)


def test_an_indexed_photo_that_cannot_be_read_now_keeps_its_row_and_says_so(library):
    root, db, clock = library
    index(root, db, clock)
    a = row(db, "a.png")["id"]
    os.utime(root / "a.png", ns=(1, 4_000_000_000))
    lines = []
    report = index_library(db, UnreadableSource(root, "a.png"), "m", SPEC, embed, workers=1, clock=clock,
                           log=lines.append)
    assert (report.errors, report.embedded) == (1, 0) and lines == ["skipping a.png: unavailable: permission denied"]
    assert row(db, "a.png")["status"] == "ok" and a in db.ids_with_vector("m")


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


@pytest.mark.parametrize("big", [False, True])
def test_a_file_that_cannot_be_read_is_unavailable_or_bad_by_its_errno(library, monkeypatch, big):
    """R10/R11 for FolderSource.load: a permission or I/O failure is tried again on the next run, any other read
    failure waits for the file to change; held whole or hashed as a stream alike."""
    root, db, clock = library
    if big:
        monkeypatch.setattr(source, "MAX_READ_BYTES", 0)
    failures = {"a.png": PermissionError(errno.EACCES, "Permission denied"),
                "b.png": IsADirectoryError(errno.EISDIR, "Is a directory")}
    real = {"read_file": source.read_file, "content_hash": source.content_hash}
    for name in real:
        monkeypatch.setattr(source, name, lambda path, name=name: (_ for _ in ()).throw(failures[path.name])
                            if path.name in failures else real[name](path))
    lines = []
    report = index(root, db, clock, lines)
    assert (report.embedded, report.errors) == (2, 2)
    assert report.bytes_read == (root / "c.png").stat().st_size * (1 + big) + (root / "d.png").stat().st_size * (1 + big)
    assert (row(db, "a.png")["status"], row(db, "a.png")["error"]) == ("error", "unavailable: permission denied")
    assert (row(db, "b.png")["status"], row(db, "b.png")["error"]) == ("error", "[Errno 21] Is a directory")
    assert lines == ["skipping a.png: unavailable: permission denied", "skipping b.png: [Errno 21] Is a directory"]
    report = index(root, db, clock)
    assert (report.errors, report.skipped_errors, report.unchanged) == (1, 1, 2)  # a.png tried again, b.png waits


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


@pytest.mark.parametrize("prefetch", [1, 2])
def test_a_batch_with_nothing_to_write_still_takes_its_photos_off_the_decoding_record(library, prefetch):
    """R20: a batch of touched photos writes no row, yet its photos leave meta `decoding`; when a later batch
    kills the run, only that batch's photos (and those read ahead) are suspects, never the touched ones."""
    root, db, clock = library
    index(root, db, clock)
    for name in ("a.png", "b.png"):
        os.utime(root / name, ns=(1, 5_000_000_000))
    picture(root / "c.png", 7)  # new content: decoded, and the decoder dies on it
    with pytest.raises(Crash):
        index_library(db, CrashingSource(root, "c.png"), "m", SPEC, embed, batch_size=2, workers=1,
                      prefetch=prefetch, clock=clock)
    assert json.loads(db.meta()["decoding"]) == {"c.png": 1}
