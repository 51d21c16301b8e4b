"""Indexing real files: incremental, move-aware, hostile-file-proof, and resumable after SIGKILL."""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from tests_support import draw_photos

from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.indexer import index_folder
from pocketclip.runtime.store import Store


@pytest.fixture
def encoder(fp32_bundle):
    return BundleEncoder(fp32_bundle, "onnx", "fp32")


def run(folder, db, encoder, **kwargs):
    lines = []
    report = index_folder(folder, db, encoder, batch_size=8, log=lines.append, **kwargs)
    return report, "".join(f"{line}\n" for line in lines)


def store(tmp_path, encoder, name="index.db"):
    db = Store.open(tmp_path / name)
    db.bind_model(encoder.bundle.fingerprint, encoder.bundle.manifest["model"]["embed_dim"], "x")
    return db


def test_second_run_embeds_nothing(tmp_path, photo_folder, encoder):
    db = store(tmp_path, encoder)
    first, _ = run(photo_folder, db, encoder)
    assert first.embedded == 24 and db["embeddings"].count == 24
    second, _ = run(photo_folder, db, encoder)
    assert (second.embedded, second.unchanged) == (0, 24)
    paths = {r["path"] for r in db["photos"].rows}
    assert "album/photo_000.jpg" in paths and all("\\" not in p for p in paths)


def test_vectors_match_the_golden_path(tmp_path, photo_folder, encoder):
    from pocketclip.runtime.indexing.decode import load_photo
    from pocketclip.runtime.store import from_blobs

    db = store(tmp_path, encoder)
    run(photo_folder, db, encoder, draft=False)
    row = next(db["photos"].rows_where("path = ?", ["photo_001.jpg"]))
    blob = next(db["embeddings"].rows_where("photo_id = ?", [row["id"]]))["vector"]
    pixels, w, h = load_photo(photo_folder / "photo_001.jpg", encoder.bundle.preprocess, draft=False)
    expected = encoder.encode_pixels(pixels[None])[0]
    stored = from_blobs([blob], len(expected))[0]
    assert np.abs(stored - expected).max() < 1e-3  # float16 storage
    assert abs(np.linalg.norm(stored) - 1) < 1e-3 and (w, h) == (160, 160)


def test_moved_photo_keeps_its_vector_and_deleted_is_marked(tmp_path, photo_folder, encoder):
    db = store(tmp_path, encoder)
    run(photo_folder, db, encoder)
    before = next(db["photos"].rows_where("path = ?", ["photo_001.jpg"]))
    vector = next(db["embeddings"].rows_where("photo_id = ?", [before["id"]]))["vector"]
    (photo_folder / "renamed").mkdir()
    shutil.move(photo_folder / "photo_001.jpg", photo_folder / "renamed" / "beach.jpg")
    (photo_folder / "photo_002.jpg").unlink()
    report, _ = run(photo_folder, db, encoder)
    assert (report.moved, report.deleted, report.embedded) == (1, 1, 0)
    after = next(db["photos"].rows_where("path = ?", ["renamed/beach.jpg"]))
    assert after["id"] == before["id"]
    assert next(db["embeddings"].rows_where("photo_id = ?", [after["id"]]))["vector"] == vector
    gone = next(db["photos"].rows_where("path = ?", ["photo_002.jpg"]))
    # a tombstone: marked deleted, never searched, its vector kept for a photo that comes back
    assert gone["status"] == "deleted" and len(list(db["embeddings"].rows_where("photo_id = ?", [gone["id"]]))) == 1


def test_touched_photo_is_not_embedded_again_but_an_edited_one_is(tmp_path, photo_folder, encoder):
    db = store(tmp_path, encoder)
    run(photo_folder, db, encoder)
    os.utime(photo_folder / "photo_004.jpg", ns=(1, 2_000_000_000))
    draw_photos(photo_folder, 1, start=30)[0].replace(photo_folder / "photo_005.jpg")
    report, _ = run(photo_folder, db, encoder)
    assert (report.touched, report.embedded, report.unchanged) == (1, 1, 22)


def write_hostile_files(root):
    (root / "text.jpg").write_text("this is not a photo")
    (root / "zero.jpg").write_bytes(b"")
    good = (root / "photo_007.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(good[: len(good) // 3])
    Image.new("1", (10_000, 10_000)).save(root / "bomb.png")  # 100 Mpx: over Pillow's bomb limit
    (root / "ünïcödé ñame 📷.jpg").write_bytes(good)
    (root / ".hidden.jpg").write_bytes(good)
    (root / ".DS_Store").write_bytes(b"\0\0")
    for meta in ("@eaDir", ".thumbnails"):
        (root / meta).mkdir()
        (root / meta / "thumb.jpg").write_bytes(good)
    (root / "album" / "loop").symlink_to(root)  # a folder link back to the root: must not loop
    outside = root.parent / "outside.jpg"
    outside.write_bytes(good)
    (root / "escape.jpg").symlink_to(outside)  # points out of the root: not indexed


def test_hostile_files_are_recorded_and_skipped(tmp_path, photo_folder, encoder):
    write_hostile_files(photo_folder)
    db = store(tmp_path, encoder)
    report, log = run(photo_folder, db, encoder)
    errors = {r["path"]: r["error"] for r in db["photos"].rows_where("status = 'error'")}
    assert set(errors) == {"text.jpg", "zero.jpg", "truncated.jpg", "bomb.png"}
    assert "decompression bomb" in errors["bomb.png"] and "truncated" in errors["truncated.jpg"]
    for path, reason in errors.items():
        assert f"skipping {path}: {reason}" in log and "\n" not in reason
    ok = {r["path"] for r in db["photos"].rows_where("status = 'ok'")}
    assert "ünïcödé ñame 📷.jpg" in ok and len(ok) == 25
    assert not any(p.startswith((".", "@", "escape")) or "/loop/" in p for p in ok | set(errors))
    again, log = run(photo_folder, db, encoder)  # failed files are not retried until they change
    assert (again.skipped_errors, again.errors, log) == (4, 0, "")
    (photo_folder / "text.jpg").write_bytes((photo_folder / "photo_007.jpg").read_bytes())
    fixed, _ = run(photo_folder, db, encoder)
    assert fixed.embedded == 1 and next(db["photos"].rows_where("path = 'text.jpg'"))["status"] == "ok"


def snapshot(path):
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        photos = conn.execute("SELECT id, path, size, mtime_ns, content_hash, width, height, status, error "
                              "FROM photos ORDER BY id").fetchall()
        vectors = conn.execute("SELECT photo_id, model, vector FROM embeddings ORDER BY photo_id").fetchall()
    return photos, vectors


@pytest.mark.slow
def test_sigkilled_runs_resume_to_the_same_store(tmp_path, fp32_bundle):
    """kill -9 at random points (three runs killed once some batches are in, wherever the pipeline is: reading,
    decoding, encoding or writing), then a run to the end: the store an unbroken run makes. The kills are
    further apart than the photos a run holds in flight: two deaths with the same photo in flight would
    quarantine it (R20), as they must when the photo is what kills the decoder."""
    root = tmp_path / "photos"
    draw_photos(root, 120)
    command = [sys.executable, "-m", "pocketclip.cli", "index", str(root), "--bundle", str(fp32_bundle.root),
               "--batch-size", "4", "--silent"]
    subprocess.run(command + ["--db", str(tmp_path / "straight.db")], check=True, capture_output=True, timeout=300)
    killed = tmp_path / "killed.db"
    rng = np.random.default_rng(7)
    # the last kill lands at least 25 photos before the end: a loaded machine polls the store late
    for target in (rng.integers(8, 32), rng.integers(45, 66), rng.integers(80, 96)):
        proc = subprocess.Popen(command + ["--db", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:  # wait until some batches are in, then kill
            try:
                with sqlite3.connect(killed, timeout=1) as conn:
                    if conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] >= target:
                        break
            except sqlite3.Error:
                pass
            time.sleep(rng.uniform(0.0, 0.02))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    partial = snapshot(killed)
    assert 0 < len(partial[1]) < 120, "the kills must land mid-run"
    subprocess.run(command + ["--db", str(killed)], check=True, capture_output=True, timeout=300)
    assert snapshot(killed) == snapshot(tmp_path / "straight.db")


@pytest.mark.parametrize("backend", ["pte", "torch"])
def test_other_backends_give_the_same_store(tmp_path, photo_folder, fp32_bundle, backend):
    from pocketclip.runtime.store import from_blobs

    reference = store(tmp_path, BundleEncoder(fp32_bundle, "onnx", "fp32"), "onnx.db")
    run(photo_folder, reference, BundleEncoder(fp32_bundle, "onnx", "fp32"))
    from pocketclip.models.towers.reference_tower import torch_reference

    other_encoder = BundleEncoder(fp32_bundle, backend, "fp32", reference=torch_reference)
    other = store(tmp_path, other_encoder, f"{backend}.db")
    run(photo_folder, other, other_encoder)
    dim = fp32_bundle.manifest["model"]["embed_dim"]
    a = from_blobs([r["vector"] for r in reference["embeddings"].rows_where(order_by="photo_id")], dim)
    b = from_blobs([r["vector"] for r in other["embeddings"].rows_where(order_by="photo_id")], dim)
    assert a.shape == b.shape == (24, dim) and np.abs(a - b).max() <= 1e-3  # one float16 step


def test_heic_photos_are_indexed(tmp_path, photo_folder, encoder):
    import pillow_heif

    pillow_heif.register_heif_opener()
    Image.open(photo_folder / "photo_001.jpg").save(photo_folder / "phone.heic")
    db = store(tmp_path, encoder)
    run(photo_folder, db, encoder)
    row = next(db["photos"].rows_where("path = 'phone.heic'"))
    assert row["status"] == "ok" and (row["width"], row["height"]) == (160, 160)


def test_unreadable_file_is_recorded(tmp_path, photo_folder, encoder, monkeypatch):
    # The tests run as root, whom file permissions do not stop; so the OS refusal is raised here.
    import pocketclip.runtime.indexing.decode
    import pocketclip.runtime.indexing.source

    locked = photo_folder / "photo_010.jpg"
    real_open, real_hash = pocketclip.runtime.indexing.decode.Image.open, pocketclip.runtime.indexing.source.content_hash

    def refuse(path, *args, **kwargs):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def refuse_hash(path):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_hash(path)

    monkeypatch.setattr(pocketclip.runtime.indexing.decode.Image, "open", refuse)
    monkeypatch.setattr(pocketclip.runtime.indexing.source, "content_hash", refuse_hash)
    real_read = pocketclip.runtime.indexing.source.read_file
    monkeypatch.setattr(pocketclip.runtime.indexing.source, "read_file",
                        lambda path: refuse_hash(path) and real_read(path))
    db = store(tmp_path, encoder)
    report, log = run(photo_folder, db, encoder)
    assert report.errors == 1 and "skipping photo_010.jpg: unavailable: permission denied" in log
    # An environment error is tried again on the next run (it is not waiting for the content to change) ...
    report, log = run(photo_folder, db, encoder)
    assert report.errors == 1 and report.skipped_errors == 0
    monkeypatch.undo()  # ... and once the photo can be read, it is indexed without anything else changing
    report, _ = run(photo_folder, db, encoder)
    assert report.embedded == 1 and report.errors == 0
    assert db.execute("SELECT status, error FROM photos WHERE path = 'photo_010.jpg'").fetchone() == ("ok", None)
