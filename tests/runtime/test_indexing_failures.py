"""Photos that fail and runs that die: an undecodable photo loses its vector and waits for a change unless retried;
one that cannot be read now keeps its row; a read failure is unavailable or bad by its errno; and the decoding
record (R20) by which a crash's suspects are decoded alone, so an innocent photo is never quarantined. Real files,
the stand-in encoder of indexing_support.py, no bundle."""
import errno
import json
import os

import pytest
from indexing_support import SPEC, TwoReads, embed, index, picture, row, served, small_library

from pocketclip.runtime.indexing import indexer, source
from pocketclip.runtime.indexing.decode import DecodeError
from pocketclip.runtime.indexing.indexer import index_library


@pytest.fixture
def library(tmp_path):
    return small_library(tmp_path)


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


def test_decoding_records_of_photos_gone_are_dropped_and_a_broken_record_is_ignored(library):
    root, db, clock = library
    db.set_meta({"decoding": json.dumps({"gone.png": 1})})  # a run killed while decoding a photo since removed
    assert index(root, db, clock).embedded == 4
    assert "decoding" not in db.meta()
    db.set_meta({"decoding": "{not json"})
    (root / "e.png").write_bytes((root / "a.png").read_bytes()[:-1] + b"\0")
    report = index(root, db, clock)
    assert report.embedded + report.errors == 1 and "decoding" not in db.meta()


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
