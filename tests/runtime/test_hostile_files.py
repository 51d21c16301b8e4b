"""Files and folders that try to break indexing: odd names, links, FIFOs, corrupt and huge images,
vanished roots, unreadable folders (the seeded fuzz of mutated photos is in test_fuzz_photos.py)."""
import io
import os
import signal
import socket
import stat
import struct
import sys
import threading
import zlib

import pytest
from PIL import Image
from tests_support import draw_photos, opens, run_measured

from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.decode import DecodeError, content_hash, load_photo
from pocketclip.runtime.indexing.indexer import RootUnavailable, index_folder
from pocketclip.runtime.indexing.walk import BYTES_PREFIX, path_from_store, path_to_store, walk_photos
from pocketclip.runtime.store import Store


@pytest.fixture
def encoder(fp32_bundle):
    return BundleEncoder(fp32_bundle, "onnx", "fp32")


def bound_store(tmp_path, encoder, name="index.db"):
    db = Store.open(tmp_path / name)
    db.bind_model(encoder.bundle.fingerprint, encoder.bundle.manifest["model"]["embed_dim"], "x")
    return db


class Hung(BaseException):
    """Not an OSError (the indexer takes those for unreadable files): a run past its time ends here."""


def run(folder, db, encoder, timeout=60, **kwargs):
    """index_folder with an alarm, so that a run blocked on a file fails the test instead of hanging it."""
    lines = []

    def expire(signum, frame):
        raise Hung(f"indexing {folder} did not end within {timeout} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(timeout)
    try:
        report = index_folder(folder, db, encoder, batch_size=8, log=lines.append, **kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return report, "".join(f"{line}\n" for line in lines)


def statuses(db):
    return {r["path"]: r["status"] for r in db["photos"].rows}


def vectors(db):
    return dict(db.execute("SELECT p.path, e.vector FROM embeddings e JOIN photos p ON p.id = e.photo_id"))


# 1. names that are not UTF-8 ----------------------------------------------------------------------

@pytest.mark.parametrize("name", [b"plain.jpg", "ünï 📷.jpg".encode(), b"bad_\xff.jpg", b"mixed_\xc3\xa9\xe9.jpg",
                                  b"100%.jpg", b"%FF.jpg", b".bytes:x.jpg", b"dir/\xfe\xff/a.jpg"])
def test_store_paths_round_trip_exactly(name):
    stored = path_to_store(name)
    stored.encode("utf-8")  # SQLite text: must encode
    assert os.fsencode(path_from_store(stored)) == name
    assert path_to_store(os.fsdecode(name)) == stored
    try:
        valid = not name.decode().startswith(BYTES_PREFIX)
    except UnicodeDecodeError:
        valid = False
    assert (stored == name.decode()) if valid else stored.startswith(BYTES_PREFIX)
    assert path_to_store(b"bad_\xff.jpg") == ".bytes:bad_%FF.jpg" != path_to_store(b"bad_%FF.jpg")


def test_a_name_that_is_not_utf8_is_indexed_and_reopened(tmp_path, photo_folder, encoder):
    raw = os.path.join(os.fsencode(photo_folder), b"bad_\xff.jpg")
    with open(raw, "wb") as f:
        f.write((photo_folder / "photo_001.jpg").read_bytes()[:-2] + b"\xff\xd9")  # not a duplicate of 001
    db = bound_store(tmp_path, encoder)
    report, _ = run(photo_folder, db, encoder)
    assert report.errors == 0 and report.embedded == 25
    stored = path_to_store(b"bad_\xff.jpg")
    assert statuses(db)[stored] == "ok"
    reopened = photo_folder / path_from_store(stored)
    with open(raw, "rb") as f:
        assert os.path.samefile(reopened, raw) and reopened.read_bytes() == f.read()
    again, _ = run(photo_folder, db, encoder)
    assert (again.embedded, again.unchanged, again.deleted) == (0, 25, 0)


# 2. links that cannot be resolved ---------------------------------------------------------------

def test_looping_dangling_and_escaping_links_are_skipped(tmp_path, photo_folder, encoder):
    (photo_folder / "loop.jpg").symlink_to("loop.jpg")
    (photo_folder / "a.jpg").symlink_to("b.jpg")
    (photo_folder / "b.jpg").symlink_to("a.jpg")
    (photo_folder / "dangling.jpg").symlink_to(photo_folder / "nowhere.jpg")
    (photo_folder / "inside.jpg").symlink_to(photo_folder / "photo_004.jpg")
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((photo_folder / "photo_004.jpg").read_bytes())
    (photo_folder / "escape.jpg").symlink_to(outside)
    db = bound_store(tmp_path, encoder)
    report, log = run(photo_folder, db, encoder)
    paths = statuses(db)
    assert report.errors == 0 and len(paths) == 25 and paths["inside.jpg"] == "ok"
    assert not {"loop.jpg", "a.jpg", "b.jpg", "dangling.jpg", "escape.jpg"} & set(paths)
    assert "skipping loop.jpg: link loops" in log and "skipping a.jpg: link loops" in log
    assert "skipping dangling.jpg: broken link" in log and "escape" not in log


# 3. FIFOs, sockets and devices are never opened -------------------------------------------------

def test_fifos_sockets_and_devices_are_never_opened(tmp_path, photo_folder, encoder):
    fifo = photo_folder / "x.jpg"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(photo_folder / "s.jpg"))
    specials = {"x.jpg", "s.jpg"}
    try:
        os.mknod(photo_folder / "null.jpg", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        specials.add("null.jpg")
    except OSError:
        pass  # no device nodes in this sandbox
    def release():  # a reader blocked in open() (a decoding thread, say) is let go by a writer
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass  # nobody was waiting

    timer = threading.Timer(30, release)
    timer.start()
    try:
        db = bound_store(tmp_path, encoder)
        report, log = run(photo_folder, db, encoder, timeout=40)
        timer.cancel()
        assert report.embedded == 24 and not specials & set(statuses(db))
        assert "skipping x.jpg: not a regular file (FIFO)" in log and "skipping s.jpg: not a regular file" in log
        for name in specials:
            with pytest.raises(DecodeError, match="not a regular file"):
                load_photo(photo_folder / name, encoder.bundle.preprocess)
            with pytest.raises(OSError, match="not a regular file"):
                content_hash(photo_folder / name)
    finally:
        sock.close()


# 4. every decoder failure is a DecodeError -------------------------------------------------------

def test_a_corrupt_heic_is_a_decode_error_whatever_pillow_heif_raises(tmp_path, encoder):
    import pillow_heif

    pillow_heif.register_heif_opener()
    from pocketclip.models.data.demo_world import sample

    buffer = io.BytesIO()
    sample(3, "gallery", 64)[0].save(buffer, format="HEIF")
    data = buffer.getvalue()
    path = tmp_path / "corrupt.heic"
    reasons = set()
    for at in range(len(data)):  # every byte flipped (pillow-heif raises EOFError, RuntimeError, ...)
        for mask in (0x01, 0xFF):
            path.write_bytes(data[:at] + bytes([data[at] ^ mask]) + data[at + 1:])
            try:
                load_photo(path, encoder.bundle.preprocess)
            except DecodeError as exc:
                assert "\n" not in str(exc) and str(exc)
                reasons.add(str(exc))
    assert any("EOFError" in reason for reason in reasons)  # what used to escape load_photo


@pytest.mark.parametrize("exc", [EOFError("Decoder plugin generated an error"), RuntimeError("heif: bad box\nline 2"),
                                 KeyError("exif"), IndexError(), struct.error("unpack requires 4 bytes"),
                                 zlib.error("invalid distance"), RecursionError("deep")])
def test_any_decoder_exception_becomes_a_one_line_decode_error(tmp_path, photo_folder, encoder, monkeypatch, exc):
    def explode(*args, **kwargs):
        raise exc

    monkeypatch.setattr(Image, "open", explode)
    with pytest.raises(DecodeError) as caught:
        load_photo(photo_folder / "photo_001.jpg", encoder.bundle.preprocess)
    assert "\n" not in str(caught.value) and type(exc).__name__ in str(caught.value)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_interrupts_are_not_swallowed(photo_folder, encoder, monkeypatch, exc):
    def explode(*args, **kwargs):
        raise exc()

    monkeypatch.setattr(Image, "open", explode)
    with pytest.raises(exc):
        load_photo(photo_folder / "photo_001.jpg", encoder.bundle.preprocess)


def test_a_memory_error_is_the_photos_error_not_the_runs(tmp_path, photo_folder, encoder, monkeypatch):
    """A decoder that runs out of memory on one photo: that photo's row records it, the run goes on."""
    real_open = Image.open
    victim = sorted(photo_folder.glob("*.jpg"))[3]

    def exhaust(path, *args, **kwargs):
        if opens(path, victim):
            raise MemoryError()
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", exhaust)
    with pytest.raises(DecodeError, match="out of memory"):
        load_photo(victim, encoder.bundle.preprocess)
    db = bound_store(tmp_path, encoder)
    report, log = run(photo_folder, db, encoder)
    assert (report.embedded, report.errors) == (23, 1) and f"{victim.name}: out of memory" in log
    assert statuses(db)[victim.name] == "error"


# 5. big photos decode, absurd ones do not --------------------------------------------------------

def png_header_only(width, height):
    """A PNG whose header claims width x height pixels, with almost no pixel data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_a_96_megapixel_panorama_decodes_and_an_absurd_image_does_not(tmp_path, encoder):
    limit = Image.MAX_IMAGE_PIXELS
    panorama = tmp_path / "panorama.jpg"
    Image.new("L", (16_000, 6_000), 128).save(panorama, quality=80)  # 96 Mpx; L keeps the test's memory small
    pixels, width, height = load_photo(panorama, encoder.bundle.preprocess)
    assert (width, height) == (16_000, 6_000) and pixels.shape == (3, 64, 64)
    absurd = tmp_path / "absurd.png"
    absurd.write_bytes(png_header_only(100_000, 100_000))
    with pytest.raises(DecodeError, match="decompression bomb"):
        load_photo(absurd, encoder.bundle.preprocess)
    with pytest.raises(DecodeError, match="decompression bomb"):  # no draft: the full decode is too big
        load_photo(panorama, encoder.bundle.preprocess, draft=False)
    assert Image.MAX_IMAGE_PIXELS == limit  # Pillow's limit for other code is as it was


# 6. a missing, empty or unreadable root; tombstones ---------------------------------------------

def test_a_missing_or_empty_root_is_refused_and_changes_nothing(tmp_path, photo_folder, encoder):
    db = bound_store(tmp_path, encoder)
    run(photo_folder, db, encoder)
    before = (statuses(db), vectors(db))
    photo_folder.rename(tmp_path / "unmounted")
    with pytest.raises(RootUnavailable, match="does not exist.*--allow-empty"):
        run(photo_folder, db, encoder)
    photo_folder.write_text("not a folder")
    with pytest.raises(RootUnavailable, match="not a folder"):
        run(photo_folder, db, encoder)
    photo_folder.unlink()
    photo_folder.mkdir()
    (photo_folder / "notes.txt").write_text("no photos here")
    with pytest.raises(RootUnavailable, match="no photo"):
        run(photo_folder, db, encoder)
    assert (statuses(db), vectors(db)) == before


def test_allow_empty_marks_deleted_and_tombstones_come_back_without_embedding(tmp_path, photo_folder, encoder):
    db = bound_store(tmp_path, encoder)
    run(photo_folder, db, encoder)
    kept = vectors(db)
    away = tmp_path / "away"
    photo_folder.rename(away)
    photo_folder.mkdir()
    report, _ = run(photo_folder, db, encoder, allow_empty=True)
    assert report.deleted == 24 and set(statuses(db).values()) == {"deleted"}
    assert db["embeddings"].count == 24  # tombstones keep their vectors ...
    assert len(db.search_arrays(encoder.bundle.fingerprint).ids) == 0  # ... which search never sees
    (away / "photo_001.jpg").rename(photo_folder / "photo_001.jpg")  # same path
    (away / "photo_002.jpg").rename(photo_folder / "elsewhere.jpg")  # another path, same content
    draw_photos(photo_folder, 1, start=40)[0].rename(photo_folder / "photo_004.jpg")  # same path, new content
    report, _ = run(photo_folder, db, encoder, allow_empty=True)
    assert (report.restored, report.embedded, report.moved) == (2, 1, 0)
    now = statuses(db)
    assert now["photo_001.jpg"] == now["elsewhere.jpg"] == now["photo_004.jpg"] == "ok" and "photo_002.jpg" not in now
    got = vectors(db)
    assert got["photo_001.jpg"] == kept["photo_001.jpg"] and got["elsewhere.jpg"] == kept["photo_002.jpg"]
    assert got["photo_004.jpg"] != kept["photo_004.jpg"]


def test_an_unreadable_folder_is_reported_and_its_photos_are_not_deleted(tmp_path, photo_folder, encoder,
                                                                          monkeypatch):
    with open(os.path.join(os.fsencode(photo_folder), b"album/bad_\xfe.jpg"), "wb") as f:
        f.write((photo_folder / "photo_001.jpg").read_bytes()[:-2] + b"\xfe\xff\xd9")
    db = bound_store(tmp_path, encoder)
    run(photo_folder, db, encoder)
    before = (statuses(db), vectors(db))
    assert before[0][".bytes:album/bad_%FE.jpg"] == "ok"
    # The tests run as root, whom permissions do not stop; so listing the folder fails here instead.
    real_scandir = os.scandir

    def refuse(path="."):
        if os.fspath(path).endswith("album"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    (photo_folder / "photo_001.jpg").unlink()
    report, log = run(photo_folder, db, encoder)
    assert "skipping album/: Permission denied" in log and report.unlisted_folders == ["album"]
    assert report.deleted == 1
    after = statuses(db)
    assert after["photo_001.jpg"] == "deleted" and after["album/photo_000.jpg"] == "ok"
    assert {p: s for p, s in after.items() if p != "photo_001.jpg"} == \
        {p: s for p, s in before[0].items() if p != "photo_001.jpg"}
    monkeypatch.setattr(os, "scandir", lambda path=".": (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    with pytest.raises(RootUnavailable, match="cannot be read"):
        run(photo_folder, db, encoder)


# 7. failed photos are retried when asked -----------------------------------------------------------

def test_a_failed_photo_is_retried_only_with_retry_errors(tmp_path, photo_folder, encoder, monkeypatch):
    """A content error (the decoder's own failure, no errno) waits for the file to change or for
    retry_errors; an environment error (permission) is retried on every run (test_indexer.py)."""
    locked = photo_folder / "photo_010.jpg"
    real_open = Image.open

    def refuse(path, *args, **kwargs):  # a decoder that fails on this file's content, this once
        if opens(path, locked):
            raise OSError("broken data stream when reading image file")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", refuse)
    db = bound_store(tmp_path, encoder)
    first, _ = run(photo_folder, db, encoder)
    assert first.errors == 1 and statuses(db)["photo_010.jpg"] == "error"
    monkeypatch.setattr(Image, "open", real_open)  # a fixed decoder: size and mtime unchanged
    again, _ = run(photo_folder, db, encoder)
    assert (again.skipped_errors, again.embedded) == (1, 0) and statuses(db)["photo_010.jpg"] == "error"
    retried, _ = run(photo_folder, db, encoder, retry_errors=True)
    assert (retried.skipped_errors, retried.embedded, retried.unchanged) == (0, 1, 23)
    row = next(db["photos"].rows_where("path = 'photo_010.jpg'"))
    assert row["status"] == "ok" and row["error"] is None


# 8. control characters in names ------------------------------------------------------------------

def test_control_characters_in_names_are_indexed(tmp_path, photo_folder, encoder):
    good = (photo_folder / "photo_007.jpg").read_bytes()
    names = ["new\nline.jpg", "tab\there.jpg", "bell\x07.jpg", "cr\r.jpg", "esc\x1b[31m.jpg"]
    for i, name in enumerate(names):
        (photo_folder / name).write_bytes(good[:-2] + bytes([i]) + b"\xff\xd9")
    assert {p.path for p in walk_photos(photo_folder)} >= set(names)
    db = bound_store(tmp_path, encoder)
    report, _ = run(photo_folder, db, encoder)
    got = statuses(db)
    assert report.errors == 0 and all(got[name] == "ok" for name in names)


# Fuzz: mutated photos of every format -------------------------------------------------------------


# 10. pictures of extreme shape are bounded before any pixel is made ------------------------------

@pytest.mark.parametrize("width, height", [(1_000_000, 1), (3, 200_000)])
def test_a_thin_picture_is_decoded_within_a_bounded_memory(tmp_path, encoder, width, height):
    """A 1,000,000 x 1 PNG (3 KB) used to be scaled whole to the model's height (2.1 GB); only the square the
    crop keeps is computed now. Peak memory of a process that decodes it, against one that decodes nothing."""
    path = tmp_path / f"thin_{width}x{height}.png"
    Image.new("RGB", (width, height), (200, 30, 30)).save(path)
    assert path.stat().st_size < 400_000
    probe = ("import sys\n"
             "from pocketclip.runtime.bundle.manifest import load_bundle\n"
             "from pocketclip.runtime.indexing.decode import load_photo\n"
             "spec = load_bundle(sys.argv[1]).preprocess\n"
             "if sys.argv[2] != '-':\n"
             "    pixels, w, h = load_photo(sys.argv[2], spec)\n"
             "    assert pixels.shape == (3, spec['size'], spec['size'])\n"
             "    assert (w, h) == (int(sys.argv[3]), int(sys.argv[4]))\n")
    peak = {}
    for name, target in (("idle", "-"), ("thin", str(path))):
        done, peak[name] = run_measured([sys.executable, "-c", probe, str(encoder.bundle.root), target, str(width),
                                         str(height)], timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    assert peak["thin"] - peak["idle"] < 200, peak


def test_a_thin_picture_is_indexed_like_any_other(tmp_path, photo_folder, encoder):
    Image.new("RGB", (1_000_000, 1), (10, 200, 10)).save(photo_folder / "strip.png")
    db = bound_store(tmp_path, encoder)
    report, log = run(photo_folder, db, encoder)
    assert (report.embedded, report.errors) == (25, 0), log
    assert statuses(db)["strip.png"] == "ok"
