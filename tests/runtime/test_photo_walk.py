"""Finding photos without a bundle: the walk's rules (what it lists, in what order, what it passes over and what it
reports instead of opening) and stored names that round-trip whatever their bytes. Small files, no model: the whole
file runs in a second (benchmarks/mutation.py runs it per mutant)."""
import errno
import os

import pytest

from pocketclip.runtime.indexing.walk import (
    BYTES_PREFIX,
    NotRegularFile,
    Skipped,
    check_regular,
    path_from_store,
    path_to_store,
    stored_file,
    walk_photos,
)


# ---- the walk --------------------------------------------------------------------------------------------

def test_the_walk_lists_photo_files_in_order_and_passes_over_the_rest(tmp_path):
    root = tmp_path / "photos"
    for name in ("b.jpg", "a.PNG", "album/c.heic", "album/deeper/d.webp", ".hidden.jpg", "notes.txt", "Thumbs.db",
                 "@eaDir/thumb.jpg", ".thumbnails/t.jpg", ".secret/e.jpg", "lost+found/f.jpg"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x" * len(name))
    (root / "album" / "inside.jpg").symlink_to(root / "b.jpg")  # a link to a photo inside the root counts
    (tmp_path / "outside.jpg").write_bytes(b"outside")
    (root / "escape.jpg").symlink_to(tmp_path / "outside.jpg")  # ... one pointing out of it does not
    (root / "linked-album").symlink_to(root / "album")  # folders behind links are never entered
    skipped = []
    photos = list(walk_photos(root, skipped))
    assert [p.path for p in photos] == ["a.PNG", "b.jpg", "album/c.heic", "album/inside.jpg", "album/deeper/d.webp"]
    assert skipped == []
    inside = photos[3]
    assert inside.size == len("b.jpg") and inside.absolute == root / "album" / "inside.jpg"
    assert photos[1].size == 5 and photos[1].mtime_ns == (root / "b.jpg").stat().st_mtime_ns


def test_what_cannot_be_looked_at_is_reported_not_opened(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "x.jpg").write_bytes(b"x")
    (root / "ok.jpg").write_bytes(b"ok")
    (root / "loop.jpg").symlink_to("loop.jpg")
    (root / "dangling.jpg").symlink_to("nowhere.jpg")
    os.mkfifo(root / "fifo.jpg")
    (root / "folder.jpg").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):  # the tests run as root, whom permissions do not stop: the OS refusal is raised here
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    skipped = []
    assert [p.path for p in walk_photos(root, skipped)] == ["ok.jpg"]
    assert sorted(skipped, key=lambda s: s.path) == [
        Skipped("dangling.jpg", "broken link", False), Skipped("fifo.jpg", "not a regular file (FIFO)", False),
        Skipped("locked", "Permission denied", True), Skipped("loop.jpg", "link loops", False)]


def test_a_missing_root_is_the_one_thing_skipped(tmp_path):
    skipped = []
    assert list(walk_photos(tmp_path / "missing", skipped)) == []
    assert len(skipped) == 1 and skipped[0].path == "" and skipped[0].folder
    assert str(tmp_path / "missing") in skipped[0].reason  # the reason names the folder that is not there
    assert list(walk_photos(tmp_path / "missing")) == []  # no list given: nothing to report into


def test_every_reason_is_one_line_of_at_most_200_characters(tmp_path, monkeypatch):
    skipped = []
    list(walk_photos(tmp_path / ("x" * 150) / ("y" * 100), skipped))
    assert len(skipped[0].reason) == 200 and skipped[0].reason.startswith("[Errno 2] No such file or directory")
    root = tmp_path / "photos"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"a")
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda path, *a, **k: (_ for _ in ()).throw(OSError("z\n" * 300))
                        if str(path).endswith("a.jpg") else real_lstat(path, *a, **k))
    skipped = []
    assert list(walk_photos(root, skipped)) == [] and skipped == [Skipped("a.jpg", "z " * 100, False)]
    monkeypatch.setattr(os, "scandir", lambda path=".": (_ for _ in ()).throw(OSError("w" * 300)))
    skipped = []
    assert list(walk_photos(root, skipped)) == [] and skipped == [Skipped("", "w" * 200, True)]


def test_a_file_gone_between_the_listing_and_its_look_is_not_a_broken_link(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"a")
    (root / "b.jpg").write_bytes(b"b")
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if str(path).endswith("a.jpg"):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    skipped = []
    assert [p.path for p in walk_photos(root, skipped)] == ["b.jpg"]
    assert skipped == [Skipped("a.jpg", "No such file or directory", False)]


def test_a_dangling_link_out_of_the_root_is_reported_too(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "gone.jpg").symlink_to(tmp_path / "elsewhere" / "gone.jpg")
    skipped = []
    assert list(walk_photos(root, skipped)) == [] and skipped == [Skipped("gone.jpg", "broken link", False)]


def test_what_the_walk_yields_are_values(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"a")
    photo = next(walk_photos(tmp_path))
    item = Skipped("x", "why", False)
    assert len({photo, photo}) == 1 and len({item, Skipped("x", "why", False)}) == 1
    for value, field in ((photo, "size"), (item, "reason")):
        with pytest.raises(AttributeError):
            setattr(value, field, 0)
    (tmp_path / "link.jpg").symlink_to(tmp_path / "a.jpg")
    with pytest.raises(NotRegularFile, match=r"\(unknown kind\)"):
        check_regular(os.lstat(tmp_path / "link.jpg"))


def test_an_unreadable_root_is_reported_as_the_root(tmp_path, monkeypatch):
    real_scandir = os.scandir

    def scandir(path="."):
        raise PermissionError(errno.EACCES, "Permission denied", None)

    monkeypatch.setattr(os, "scandir", scandir)
    skipped = []
    assert list(walk_photos(tmp_path, skipped)) == []
    assert skipped == [Skipped("", "Permission denied", True)]
    monkeypatch.setattr(os, "scandir", real_scandir)


# ---- names -----------------------------------------------------------------------------------------------

NAMES = [b"plain.jpg", "ünï 📷.jpg".encode(), b"bad_\xff.jpg", b"50%_\xff.jpg", b"%FF_\xff.jpg", b"%25_\xfe.jpg",
         b"\x80.jpg", b"\x7f\x80\x81.jpg", b"100%.jpg", b".bytes:x.jpg", b".bytes:%41\xff.jpg"]


@pytest.mark.parametrize("name", NAMES)
def test_a_stored_name_gives_back_the_files_exact_bytes(name):
    stored = path_to_store(name)
    stored.encode("utf-8")  # SQLite text: must encode
    assert os.fsencode(path_from_store(stored)) == name
    assert path_to_store(os.fsdecode(name)) == stored
    try:
        plain = not name.decode("utf-8").startswith(BYTES_PREFIX)
    except UnicodeDecodeError:
        plain = False
    assert stored == name.decode("utf-8") if plain else stored.startswith(BYTES_PREFIX)


def test_escapes_are_one_to_one():
    assert path_to_store(b"bad_\xff.jpg") == ".bytes:bad_%FF.jpg"
    assert path_to_store(b"50%_\xff.jpg") == ".bytes:50%25_%FF.jpg"
    assert path_to_store(b"\x80.jpg") == ".bytes:%80.jpg"
    assert path_to_store(b".bytes:a.jpg") == ".bytes:.bytes:a.jpg"
    assert len({path_to_store(name) for name in NAMES}) == len(NAMES)


def test_odd_names_are_found_and_reopened_by_their_stored_path(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    for i, name in enumerate(NAMES[2:]):
        with open(os.path.join(os.fsencode(root), name), "wb") as f:
            f.write(bytes([i]) * 10)
    found = {photo.path: photo for photo in walk_photos(root)}
    assert len(found) == sum(not name.startswith(b".") for name in NAMES[2:])  # ".bytes:..." names are hidden
    for i, name in enumerate(NAMES[2:]):
        if name.startswith(b"."):
            continue
        stored = path_to_store(name)
        assert stored_file(root, stored).read_bytes() == bytes([i]) * 10 and found[stored].size == 10
