"""Hostile stores, bundles and arguments: each a one-line error and a non-zero exit, nothing indexed lost.

(Hostile photo files are in test_hostile_files.py.)
"""
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pocketclip.cli import cli
from pocketclip.runtime.bundle.manifest import sha256_path


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output and not isinstance(result.exception, (AssertionError, TypeError,
                                                                                     KeyError, AttributeError))
    return result


def one_line_error(result, code=1):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Error:"), result.output
    return lines[-1]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, fp32_bundle):
    """A folder indexed into a store; tests copy the store before they attack it."""
    from tests_support import draw_photos

    root = tmp_path_factory.mktemp("indexed")
    draw_photos(root / "photos", 12)
    result = CliRunner().invoke(cli, ["index", str(root / "photos"), "--bundle", str(fp32_bundle.root),
                                      "--db", str(root / "lib.db"), "--silent"])
    assert result.exit_code == 0, result.output
    return root


def store_copy(indexed, tmp_path):
    db = tmp_path / "lib.db"
    con = sqlite3.connect(indexed / "lib.db")
    con.execute(f"VACUUM INTO '{db}'")  # the WAL folded in: one self-contained file
    con.close()
    return db


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---- stores --------------------------------------------------------------------------------------

def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path):
    other = tmp_path / "notes.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes(text)")
    con.commit()
    con.close()
    before = digest(other)
    for args in (["status", "--db", other], ["search", "x", "--db", other]):
        assert "not a pocketclip store" in one_line_error(invoke(*args))
    assert digest(other) == before and not Path(f"{other}-wal").exists()
    assert [r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master")] == ["notes"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "page-corrupted", "folder", "empty"])
def test_damaged_stores_are_one_line_errors(indexed, tmp_path, damage):
    db = store_copy(indexed, tmp_path)
    data = db.read_bytes()
    if damage == "garbage":
        db.write_bytes(b"\x00garbage" * 1000)
    elif damage == "truncated":
        db.write_bytes(data[:len(data) // 3])
    elif damage == "page-corrupted":
        noise = np.random.default_rng(0).integers(0, 256, len(data) - 4096, dtype=np.uint8).tobytes()
        db.write_bytes(data[:4096] + noise)  # the schema page intact, every table page garbage
    elif damage == "folder":
        db.unlink()
        db.mkdir()
    else:
        db.write_bytes(b"")
    for args in (["status", "--db", db], ["search", "a red star", "--db", db]):
        one_line_error(invoke(*args))


def test_a_newer_store_is_refused_by_search(indexed, tmp_path):
    db = store_copy(indexed, tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    assert "reads up to" in one_line_error(invoke("search", "a red star", "--db", db))


def test_search_and_status_work_on_read_only_media(indexed, tmp_path):
    """A read-only bind mount (a user namespace, so no privileges are needed); skipped where the kernel
    forbids one."""
    db = store_copy(indexed, tmp_path / "media") if (tmp_path / "media").mkdir() is None else None
    Path(f"{db}-shm").unlink(missing_ok=True)
    script = (f"mount --bind {tmp_path / 'media'} {tmp_path / 'media'} && "
              f"mount -o remount,ro,bind {tmp_path / 'media'} && touch {tmp_path / 'media'}/probe 2>/dev/null; "
              f"test ! -e {tmp_path / 'media'}/probe && "
              f"{Path(sys.executable).with_name('pocketclip')} status --db {db} --json && "
              f"{Path(sys.executable).with_name('pocketclip')} search 'a red star' --db {db} -k 3")
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if "unshare" in out.stderr and out.returncode:
        pytest.skip(f"no user namespaces here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout[:out.stdout.index("}") + 1])["ok"] == 12
    assert len(out.stdout[out.stdout.index("}") + 1:].strip().splitlines()) == 3


def test_a_second_writer_is_refused_naming_the_first(indexed, tmp_path, fp32_bundle):
    from pocketclip.runtime.library import Library

    db = store_copy(indexed, tmp_path)
    first = Library.create(db, indexed / "photos", fp32_bundle)
    try:
        message = one_line_error(invoke("index", indexed / "photos", "--bundle", fp32_bundle.root, "--db", db))
        assert "is being indexed by pocketclip (pid" in message
        assert first.index().unchanged == 12  # the first writer is unharmed
    finally:
        first.close()
    assert invoke("index", indexed / "photos", "--bundle", fp32_bundle.root, "--db", db, "--silent").exit_code == 0


def test_int8_vectors_never_join_fp32_ones(indexed, tmp_path, fp32_bundle):
    from pocketclip.runtime.store import ModelMismatch, Store

    db = store_copy(indexed, tmp_path)
    result = invoke("index", indexed / "photos", "--bundle", fp32_bundle.root, "--db", db, "--backend", "pte")
    assert result.exit_code == 0, result.output  # another backend, same precision: the same vectors
    store = Store.open(db)
    b = fp32_bundle
    with pytest.raises(ModelMismatch, match="precision"):
        store.bind_model(b.fingerprint, b.embed_dim, b.preprocess_sha256, precision="int8")
    with pytest.raises(ModelMismatch, match="preprocess"):
        store.bind_model(b.fingerprint, b.embed_dim, "another preprocessing", precision="fp32")
    assert store["embeddings"].count == 12


# ---- arguments -----------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["-k", "-1"], ["-k", "0"], ["--relative", "nan"], ["--relative", "2"],
                                  ["--candidates", "0"]])
def test_bad_search_numbers_are_usage_errors(indexed, args):
    result = invoke("search", "a red star", "--db", indexed / "lib.db", *args)
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_an_empty_query_is_refused(indexed):
    assert "empty" in one_line_error(invoke("search", "  ", "--db", indexed / "lib.db"))


@pytest.mark.parametrize("size", ["0", "-1"])
def test_bad_batch_sizes_are_usage_errors(indexed, tmp_path, fp32_bundle, size):
    result = invoke("index", indexed / "photos", "--bundle", fp32_bundle.root, "--db", tmp_path / "x.db",
                    "--batch-size", size)
    assert result.exit_code == 2 and not (tmp_path / "x.db").exists()


def test_contact_sheet_to_a_folder_or_of_a_deleted_photo(indexed, tmp_path, fp32_bundle):
    db = store_copy(indexed, tmp_path)
    refused = invoke("search", "a red star", "--db", db, "--sheet", tmp_path)
    assert refused.exit_code == 2 and "is a folder" in refused.output
    hits = json.loads(invoke("search", "a red star", "--db", db, "--json", "-k", "2").stdout)
    moved = Path(hits[0]["path"]).rename(tmp_path / "away.jpg")
    try:
        result = invoke("search", "a red star", "--db", db, "-k", "2", "--sheet", tmp_path / "s.png")
        assert result.exit_code == 0 and (tmp_path / "s.png").stat().st_size > 0
    finally:
        moved.rename(hits[0]["path"])


def test_parity_of_a_garbage_store(tmp_path, fp32_bundle, indexed):
    (tmp_path / "phone.db").write_bytes(b"not sqlite at all" * 100)
    one_line_error(invoke("parity", fp32_bundle.root, "--photos", indexed / "photos", "--store", tmp_path / "phone.db"))


def test_odd_file_names_print_one_hit_per_line(tmp_path, fp32_bundle):
    from tests_support import draw_photos

    root = tmp_path / "odd"
    (path,) = draw_photos(root, 1)
    path.rename(root / "two\nlines.jpg")
    db = tmp_path / "odd.db"
    assert invoke("index", root, "--bundle", fp32_bundle.root, "--db", db, "--silent").exit_code == 0
    out = invoke("search", "a red star", "--db", db).stdout.splitlines()
    assert len(out) == 1 and out[0].split("\t")[0].endswith("two\\nlines.jpg")


# ---- bundles -------------------------------------------------------------------------------------

def _rehash(bundle: Path, relative: str) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    digest_ = sha256_path(bundle / relative)
    manifest["files"][relative]["sha256"] = digest_
    for entry in manifest["artifacts"]:
        if entry["file"] == relative:
            entry["sha256"] = digest_
    if manifest.get("pq", {}).get("file") == relative:
        manifest["pq"]["sha256"] = digest_
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _edit(bundle: Path, change) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    change(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _onnx(manifest, tower):
    return next(a for a in manifest["artifacts"] if a["tower"] == tower and a["format"] == "onnx"
                and a["precision"] == "fp32")


def _replace_file(relative, data):
    def attack(bundle):
        (bundle / relative).write_bytes(data(bundle))
        _rehash(bundle, relative)
    return attack


def _swap_towers(bundle):
    def change(manifest):
        image, text = _onnx(manifest, "image"), _onnx(manifest, "text")
        image["file"], text["file"] = text["file"], image["file"]
        image["sha256"], text["sha256"] = text["sha256"], image["sha256"]
    _edit(bundle, change)


def _npy(array):
    def data(bundle):
        import io
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=True)
        return buffer.getvalue()
    return data


MANIFEST_DEFECTS = {
    "no model section": lambda m: m.pop("model"),
    "no search section": lambda m: m.pop("search"),
    "string embed_dim": lambda m: m["model"].__setitem__("embed_dim", "128"),
    "size 0": lambda m: m["preprocess"].__setitem__("size", 0),
    "unknown resample": lambda m: m["preprocess"].__setitem__("resample", "magic"),
    "std 0": lambda m: m["preprocess"].__setitem__("std", [0.2, 0, 0.2]),
    "mean of two": lambda m: m["preprocess"].__setitem__("mean", [0.5, 0.5]),
    "artifact path ..": lambda m: _onnx(m, "image").__setitem__("file", "../../etc/passwd"),
    "absolute artifact path": lambda m: _onnx(m, "image").__setitem__("file", "/etc/passwd"),
    "file listed outside": lambda m: m["files"].__setitem__("../outside.bin", {"sha256": "0" * 64, "bytes": 1}),
    "unlisted artifact": lambda m: _onnx(m, "text").__setitem__("file", "nothing.onnx"),
    "bad sha256": lambda m: _onnx(m, "image").__setitem__("sha256", "xyz"),
    "artifacts not a list": lambda m: m.__setitem__("artifacts", {}),
    "negative default_k": lambda m: m["search"].__setitem__("default_k", -3),
    "bool schema_version": lambda m: m.__setitem__("schema_version", True),
    "unknown tower": lambda m: _onnx(m, "image").__setitem__("tower", "audio"),
    "context length 0": lambda m: m["text"].__setitem__("context_length", 0),
    "codebooks path ..": lambda m: m["pq"].__setitem__("file", "../x.npy"),
}
FILE_DEFECTS = {
    "garbage artifact with its hash": lambda b: _replace_file(_onnx_file(b, "image"), lambda _: b"garbage" * 99)(b),
    "swapped towers": _swap_towers,
    "garbage tokenizer with its hash": _replace_file("tokenizer/bpe_simple_vocab_16e6.txt.gz", lambda _: b"\x1f\x8bxx"),
    "codebooks of the wrong shape": _replace_file("pq/codebooks.npy", _npy(np.zeros((16, 256), np.float32))),
    "codebooks of the wrong dtype": _replace_file("pq/codebooks.npy", _npy(np.zeros((16, 256, 8), np.float64))),
    "codebooks as a pickle": _replace_file("pq/codebooks.npy", _npy(np.array([{"a": 1}], dtype=object))),
    "NaN codebooks": _replace_file("pq/codebooks.npy", _npy(np.full((16, 256, 8), np.nan, np.float32))),
    "tampered artifact": lambda b: (b / _onnx_file(b, "text")).write_bytes(b"x"),
    "missing manifest": lambda b: (b / "manifest.json").unlink(),
    "manifest not JSON": lambda b: (b / "manifest.json").write_text("{"),
    "manifest a list": lambda b: (b / "manifest.json").write_text("[]"),
}


def _onnx_file(bundle, tower):
    return _onnx(json.loads((bundle / "manifest.json").read_text()), tower)["file"]


@pytest.mark.parametrize("defect", sorted(MANIFEST_DEFECTS) + sorted(FILE_DEFECTS))
def test_a_broken_bundle_is_a_one_line_error_and_the_store_keeps_its_photos(indexed, tmp_path, fp32_bundle, defect):
    bundle = tmp_path / "bundle"
    shutil.copytree(fp32_bundle.root, bundle)
    if defect in MANIFEST_DEFECTS:
        _edit(bundle, MANIFEST_DEFECTS[defect])
    else:
        FILE_DEFECTS[defect](bundle)
    db = store_copy(indexed, tmp_path)
    before = sqlite3.connect(db).execute("SELECT count(*) FROM embeddings").fetchone()[0]
    one_line_error(invoke("index", indexed / "photos", "--bundle", bundle, "--db", db, "--silent"))
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM embeddings").fetchone()[0] == before == 12
    assert con.execute("SELECT value FROM meta WHERE key = 'bundle'").fetchone()[0] == str(fp32_bundle.root.resolve())


def test_skipping_lines_stand_alone_and_no_bar_off_a_terminal(tmp_path, fp32_bundle):
    from tests_support import draw_photos

    root = tmp_path / "photos"
    draw_photos(root, 3)
    (root / "text.jpg").write_text("not a photo")
    (root / "empty.png").write_bytes(b"")
    out = subprocess.run([str(Path(sys.executable).with_name("pocketclip")), "index", str(root), "--bundle",
                          str(fp32_bundle.root), "--db", str(tmp_path / "s.db")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stderr and "it/s" not in out.stderr and "photo/s" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if not line.startswith("note: demo-student")]  # the model's
    assert sorted(line.split(":")[0] for line in lines) == ["skipping empty.png", "skipping text.jpg"], lines
    assert out.stdout.startswith("embedded 3,") and "errors 2" in out.stdout
