"""Nothing lost at the edges: a disk that fills while the search copy is written, the writer lock through
every spelling of the store's path, a read-only copy with an unmerged write-ahead log, poisoned rows and
manifests, and a foreign SQLite file or a read-only folder given as the store."""
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pocketclip.cli import cli
from pocketclip.runtime.bundle.manifest import BundleError, load_bundle
from pocketclip.runtime.library import Library
from pocketclip.runtime.store import Store, StoreError, StoreLocked
from pocketclip.runtime.store import copy as store_copy

POCKETCLIP = Path(sys.executable).with_name("pocketclip")


def index(db, folder, bundle, **kwargs):
    library = Library.create(db, folder, bundle)
    lines = []
    try:
        report = library.index(log=lines.append, **kwargs)
    finally:
        library.close()
    return report, lines


# 2. a disk that fills while the search copy is written ------------------------------------------

def test_a_full_disk_while_the_copy_is_written_is_one_line_and_leaves_nothing(tmp_path, photo_folder, fp32_bundle,
                                                                             monkeypatch):
    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_copy.os, "posix_fallocate", no_space)
    db = tmp_path / "lib.db"
    report, lines = index(db, photo_folder, fp32_bundle)
    assert report.embedded == 24
    assert [line for line in lines if "search copy" in line] == [
        f"no search copy beside {db}: [Errno 28] No space left on device"]
    assert not any(store_copy.copy_folder(db).glob("*/*.npy")), "nothing half-written is left behind"
    monkeypatch.undo()
    hits = Library.open(db).search_text("a red star", k=3)  # the store answers without its copy
    assert len(hits) == 3


def test_the_free_space_is_checked_before_anything_is_mapped(tmp_path, photo_folder, fp32_bundle, monkeypatch):
    monkeypatch.setattr(store_copy.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 100, 100))
    db = tmp_path / "lib.db"
    _, lines = index(db, photo_folder, fp32_bundle)
    assert any("the disk has 100 bytes free, the search copy needs" in line for line in lines), lines
    assert not list(store_copy.copy_folder(db).iterdir())


def test_a_killed_writers_partial_copy_is_removed_by_the_next_run(tmp_path, photo_folder, fp32_bundle, monkeypatch):
    """Removed first, even when this run cannot write its own copy (the leftover may be what filled the disk)."""
    db = tmp_path / "lib.db"
    index(db, photo_folder, fp32_bundle)
    leftover = store_copy.copy_folder(db) / ".partial-99999"
    leftover.mkdir()
    (leftover / "vectors.npy").write_bytes(b"\0" * 4096)
    (photo_folder / "photo_001.jpg").touch()  # a new generation: the copy is written again
    with monkeypatch.context() as patched:
        patched.setattr(store_copy.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 0))
        _, lines = index(db, photo_folder, fp32_bundle)
    assert not leftover.exists() and any("no search copy" in line for line in lines)
    (photo_folder / "photo_002.jpg").touch()
    index(db, photo_folder, fp32_bundle)
    assert [p.name for p in store_copy.copy_folder(db).iterdir()] == [f"g{Store.open(db, readonly=True).generation()}"]


# 3. the writer lock, whatever the path's spelling ------------------------------------------------

def test_a_second_writer_is_refused_through_any_spelling_of_the_path(tmp_path, photo_folder, fp32_bundle):
    db = tmp_path / "lib.db"
    index(db, photo_folder, fp32_bundle)
    (tmp_path / "sub").mkdir()
    os.link(db, tmp_path / "hl.db")
    (tmp_path / "sl.db").symlink_to(db)
    spellings = {"hard link": tmp_path / "hl.db", "symlink": tmp_path / "sl.db",
                 "dot-dot": tmp_path / "sub" / ".." / "lib.db"}
    first = Library.create(db, photo_folder, fp32_bundle)
    try:
        for spelling, other in spellings.items():
            with pytest.raises(StoreLocked, match=rf"is being indexed by .*\(pid {os.getpid()}"):
                Library.create(other, photo_folder, fp32_bundle)
        done = subprocess.run([str(POCKETCLIP), "index", str(photo_folder), "--bundle", str(fp32_bundle.root),
                               "--db", str(spellings["hard link"]), "--silent"], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 1 and f"(pid {os.getpid()}" in done.stderr and "being indexed by" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert first.index().unchanged == 24  # the first writer is unharmed
    finally:
        first.close()
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    count, distinct = check.execute("SELECT count(*), count(DISTINCT key) FROM meta").fetchone()
    assert count == distinct, "no meta key written twice"


# 4. a read-only copy whose write-ahead log was never merged --------------------------------------

def test_a_read_only_copy_with_an_unmerged_wal_is_refused_in_one_line(tmp_path, photo_folder, fp32_bundle):
    db = tmp_path / "lib.db"
    index(db, photo_folder, fp32_bundle)
    writer = sqlite3.connect(db)  # a writer that dies before it checkpoints: its changes are only in the WAL
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE photos SET status = 'deleted' WHERE id <= 5")
    writer.commit()
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(db, media / "lib.db")
    shutil.copy(f"{db}-wal", media / "lib.db-wal")
    writer.close()
    assert (media / "lib.db-wal").stat().st_size > 0
    script = (f"mount -o remount,ro,bind {media} 2>/dev/null || mount --bind {media} {media} && "
              f"mount -o remount,ro,bind {media} && "
              f"{POCKETCLIP} status --db {media / 'lib.db'} --json; echo exit=$?")
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if "unshare" in out.stderr and "exit=" not in out.stdout:
        pytest.skip(f"no user namespaces here: {out.stderr.strip()}")
    assert "exit=1" in out.stdout, out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "write-ahead log" in lines[0] and "read-only" in lines[0], out.stderr


# 5. poisoned rows and manifests ------------------------------------------------------------------

@pytest.mark.parametrize("poison", ["NULL", "x'00'"])
def test_an_unusable_vector_is_not_searched_and_is_embedded_again(tmp_path, photo_folder, fp32_bundle, poison):
    db = tmp_path / "lib.db"
    index(db, photo_folder, fp32_bundle)
    con = sqlite3.connect(db)
    con.execute(f"UPDATE embeddings SET vector = {poison} WHERE photo_id = 3")
    con.commit()
    con.close()
    shutil.rmtree(store_copy.copy_folder(db))  # the store itself answers
    searched = subprocess.run([str(POCKETCLIP), "search", "a red star", "--db", str(db), "--json", "-k", "30"],
                              capture_output=True, text=True, timeout=300)
    assert searched.returncode == 0, searched.stderr
    assert 3 not in {hit["id"] for hit in json.loads(searched.stdout)} and len(json.loads(searched.stdout)) == 23
    assert Library.open(db).status()["unusable_vectors"] == 1
    report, _ = index(db, photo_folder, fp32_bundle)
    assert (report.embedded, report.unchanged) == (1, 23)
    assert Library.open(db).status()["unusable_vectors"] == 0


@pytest.mark.parametrize("field, value, message", [
    (("text", "context_length"), 3, "text.context_length 3 does not fit text_onnx_fp32.onnx"),
    (("preprocess", "size"), 8, "preprocess.size 8 does not fit image_onnx_fp32.onnx"),
    (("preprocess", "size"), 2048, "preprocess.size 2048 does not fit image_onnx_fp32.onnx"),
])
def test_a_manifest_value_the_graphs_do_not_take_is_refused_at_load(tmp_path, fp32_bundle, photo_folder, field,
                                                                    value, message):
    bundle = tmp_path / "bundle"
    shutil.copytree(fp32_bundle.root, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest[field[0]][field[1]] = value
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle)
    db = tmp_path / "lib.db"
    result = CliRunner().invoke(cli, ["index", str(photo_folder), "--bundle", str(bundle), "--db", str(db)])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not db.exists() or not Store.open(db, readonly=True).meta(), "nothing was bound"


def test_a_graph_that_disagrees_with_its_manifest_entry_is_refused(tmp_path, fp32_bundle):
    """Both the manifest's value and the artifact's recorded shape changed: the graph itself says no."""
    from pocketclip.runtime.bundle.encoders import BundleEncoder

    bundle = tmp_path / "bundle"
    shutil.copytree(fp32_bundle.root, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["text"]["context_length"] = 5
    for entry in manifest["artifacts"]:
        if entry["tower"] == "text":
            entry["inputs"][0]["shape"] = [entry["inputs"][0]["shape"][0], 5]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"cannot load this text tower \(its input is .*77.*the manifest says"):
        BundleEncoder(load_bundle(bundle), "onnx", "fp32")


# 7. foreign files and read-only folders ----------------------------------------------------------

def test_a_foreign_sqlite_file_with_our_table_names_is_refused_untouched(tmp_path, photo_folder, fp32_bundle):
    foreign = tmp_path / "other.db"
    con = sqlite3.connect(foreign)
    con.executescript("CREATE TABLE meta (key TEXT, value TEXT); CREATE TABLE photos (id INTEGER, path TEXT);"
                      "CREATE TABLE embeddings (photo_id INTEGER); INSERT INTO meta VALUES ('owner', 'someone');")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    result = CliRunner().invoke(cli, ["index", str(photo_folder), "--bundle", str(fp32_bundle.root), "--db",
                                      str(foreign)])
    assert result.exit_code == 1 and "another program" in result.output
    assert foreign.read_bytes() == before and not Path(f"{foreign}-wal").exists()
    with pytest.raises(StoreError, match="another program"):
        Store.open(foreign, readonly=True)


def test_a_store_in_a_read_only_folder_says_the_folder_is_the_problem(tmp_path, photo_folder, fp32_bundle):
    db = tmp_path / "ro" / "lib.db"
    db.parent.mkdir()
    index(db, photo_folder, fp32_bundle)
    script = (f"mount --bind {db.parent} {db.parent} && mount -o remount,ro,bind {db.parent} && "
              f"{POCKETCLIP} index {photo_folder} --bundle {fp32_bundle.root} --db {db} --silent; echo exit=$?")
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if "unshare" in out.stderr and "exit=" not in out.stdout:
        pytest.skip(f"no user namespaces here: {out.stderr.strip()}")
    assert "exit=1" in out.stdout, out.stdout + out.stderr
    line = out.stderr.strip()
    assert "not a pocketclip store" not in line and "writable" in line and len(line.splitlines()) == 1, line
