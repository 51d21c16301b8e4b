"""Memory-mappable copies of the store's search arrays, beside it, so a search starts without reading
a million rows (docs/contracts.md: SQLite stays the source of truth).

`STORE.index/g<generation>/` holds, for every 'ok' photo with a vector of the store's model, in photo id
order: `ids.npy` (N,) int64, `vectors.npy` (N, dim) float16 (the stored blobs) and, when every one of
them has a code of the bound codebooks, `codes.npy` (N, code_bytes) uint8 (the pq_code blobs, row-major:
faiss takes them as they are); `copy.json` records the generation, model, codebooks sha256 and shape.

Only a writer (the holder of the store's lock, at the end of an index run) writes a copy: into a
temporary folder, renamed into place when complete, so no reader sees half of one. A reader maps the
copy whose generation, model and codebooks are the store's current ones (meta `generation`, raised by
every write to photos or embeddings); anything else, or a copy it cannot read, means the arrays are
read from SQLite into memory, never written: a read-only store on read-only media still searches.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from pocketclip.runtime.store import meta_keys as K
from pocketclip.runtime.store.schema import SEARCHABLE

STAMP = "copy.json"
ROWS = SEARCHABLE


@dataclass
class StoreArrays:
    """The search arrays of one model: from a mapped copy (paths None: looked up per hit) or from SQLite."""
    ids: np.ndarray  # (N,) int64, photo ids in id order
    vectors: np.ndarray  # (N, dim) float16
    codes: np.ndarray | None  # (N, code_bytes) uint8, None unless every photo has a code of `sha256`
    sha256: str | None  # the codebooks the codes belong to
    paths: list[str] | None = None
    mapped: bool = False


def copy_folder(db_path: str | Path) -> Path:
    return Path(f"{db_path}.index")


def read_arrays(db, model: str, with_codes: bool = True) -> StoreArrays:
    """The arrays read from SQLite into memory (what a search does without a current copy)."""
    dim = int(db.meta().get(K.DIM, 0))
    rows = db.execute(f"SELECT p.id, p.path, e.vector{', e.pq_code' if with_codes else ''} {ROWS} ORDER BY p.id",
                      [model]).fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f2").reshape(len(rows), dim)
    codes = None
    if with_codes and rows and all(r[3] is not None and len(r[3]) == len(rows[0][3]) for r in rows):
        codes = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.uint8).reshape(len(rows), -1)
    return StoreArrays(ids, vectors, codes, db.meta().get(K.PQ_CODEBOOKS_SHA256), [r[1] for r in rows])


def open_copy(db, model: str) -> StoreArrays | None:
    """The mapped copy if it was built from the store as it is now (generation, model, codebooks), else None."""
    folder = copy_folder(db.path) / f"g{db.generation()}"
    try:
        stamp = json.loads((folder / STAMP).read_text())
        if (stamp["generation"], stamp["model"], stamp["pq_codebooks_sha256"]) != (
                db.generation(), model, db.meta().get(K.PQ_CODEBOOKS_SHA256)):
            return None
        ids = np.load(folder / "ids.npy", mmap_mode="r")
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        codes = np.load(folder / "codes.npy", mmap_mode="r") if stamp["code_bytes"] else None
    except (OSError, ValueError, KeyError):  # missing, half-deleted by a writer, or not ours: the store answers
        return None
    if len(ids) != stamp["count"] or vectors.shape != (len(ids), stamp["dim"]) or (
            codes is not None and codes.shape != (len(ids), stamp["code_bytes"])):
        return None
    return StoreArrays(ids, vectors, codes, stamp["pq_codebooks_sha256"], None, True)


def write_copy(db, model: str, chunk: int = 65536) -> Path:
    """Build the copy of the store's current generation unless it exists; the caller holds the writer lock.
    Older generations are removed (a reader that mapped one keeps its open files)."""
    root, gen, meta = copy_folder(db.path), db.generation(), db.meta()
    final = root / f"g{gen}"
    for leftover in root.glob(".partial-*") if root.is_dir() else ():  # a killed writer's (this one holds the lock)
        shutil.rmtree(leftover, ignore_errors=True)
    if open_copy(db, model) is None:
        count = db.execute(f"SELECT count(*) {ROWS}", [model]).fetchone()[0]
        dim = int(meta.get(K.DIM, 0))
        lengths = db.execute(f"SELECT min(length(e.pq_code)), max(length(e.pq_code)), count(e.pq_code) {ROWS}",
                             [model]).fetchone()
        code_bytes = lengths[0] if meta.get(K.PQ_CODEBOOKS_SHA256) and lengths[2] == count and \
            lengths[0] == lengths[1] and count else 0
        temp = root / f".partial-{os.getpid()}"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir(parents=True)
        try:
            needed = count * (8 + 2 * dim + code_bytes) + 3 * 4096
            free = shutil.disk_usage(temp).free
            if free < needed:
                raise OSError(errno.ENOSPC, f"the disk has {free:,} bytes free, the search copy needs {needed:,}")
            _fill(db, temp, model, count, dim, code_bytes, chunk)
            (temp / STAMP).write_text(json.dumps({
                "generation": gen, "model": model, "pq_codebooks_sha256": meta.get(K.PQ_CODEBOOKS_SHA256),
                "count": count, "dim": dim, "code_bytes": code_bytes}) + "\n")
            shutil.rmtree(final, ignore_errors=True)  # an unreadable leftover of this generation
            os.replace(temp, final)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    for old in root.iterdir():  # (a .partial- folder left now is a killed writer's: this one holds the lock)
        if old.name != final.name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _reserved(path: Path, dtype, shape: tuple[int, ...]) -> np.memmap:
    """A .npy file mapped for writing, its blocks allocated first: a disk that fills later is an OSError here,
    never a SIGBUS when a page of the mapping is written."""
    array = open_memmap(path, "w+", dtype, shape)
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return array


def _fill(db, folder: Path, model: str, count: int, dim: int, code_bytes: int, chunk: int) -> None:
    """Stream the rows into the .npy files, a chunk at a time (a 1M-photo store is never in memory)."""
    ids = _reserved(folder / "ids.npy", np.int64, (count,))
    vectors = _reserved(folder / "vectors.npy", np.float16, (count, dim))
    codes = _reserved(folder / "codes.npy", np.uint8, (count, code_bytes)) if code_bytes else None
    cursor = db.execute(f"SELECT p.id, e.vector, e.pq_code {ROWS} ORDER BY p.id", [model])
    done = 0
    while rows := cursor.fetchmany(chunk):
        end = done + len(rows)
        ids[done:end] = [r[0] for r in rows]
        vectors[done:end] = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), dim)
        if codes is not None:
            codes[done:end] = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.uint8).reshape(len(rows), -1)
        done = end
    if done != count:
        raise OSError(f"the store changed while its copy was written ({done} rows, {count} counted)")
    for array in (ids, vectors, codes):
        if array is not None:
            array.flush()
