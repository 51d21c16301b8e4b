"""What an indexing run must not delete: most of a library gone at once is withheld (a small one may lose most of
its photos); a root that is missing, emptied, unreadable or a file changes nothing unless allowed; what the walk could
not look at is counted and left alone. Real files, the stand-in encoder of indexing_support.py, no bundle."""
import errno
import os
import shutil
from pathlib import Path

import pytest
from indexing_support import Clock, index, picture, row, small_library

from pocketclip.runtime.indexing.indexer import RootUnavailable
from pocketclip.runtime.store import Store


@pytest.fixture
def library(tmp_path):
    return small_library(tmp_path)


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
