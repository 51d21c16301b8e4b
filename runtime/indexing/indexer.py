"""Incremental indexing of a photo folder into the store.

rclip's sync, made resumable: unchanged files (same size and mtime) are skipped; a new path whose
content hash matches a vanished photo is a move and keeps its vector; the rest is decoded by a
thread pool ahead of the encoder and written one batch per transaction, so a killed run resumes
with nothing duplicated; photos gone from the folder are marked 'deleted' at the end.

Deleted photos keep their vectors (tombstones; search only reads 'ok' rows), so a photo that comes
back, at its old path or another, is matched by content hash and restored without embedding. A
root that is missing, not a folder, unreadable, or holds no photo file while the store holds 'ok'
photos is refused (RootUnavailable) unless `allow_empty`: an unmounted disk is not a deletion. For
the same reason photos under a folder that could not be listed keep their state. Photos that failed
are not retried until their file changes, or `retry_errors` (the caller sets it when the bundle or
runtime changed, or when asked).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pocketclip.runtime.batches import batched
from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.decode import DecodeError, content_hash, load_photo
from pocketclip.runtime.indexing.walk import PhotoFile, Skipped, path_from_store, walk_photos
from pocketclip.runtime.store import Store, StoreError, now, to_blob

Progress = Callable[[int, int], None]  # (photos done, photos to embed), after each batch
Log = Callable[[str], None]  # one line per photo, file or folder that failed: "skipping PATH: reason"


class RootUnavailable(StoreError):
    """The folder to index is missing, not a folder, unreadable or empty while the store holds photos."""


@dataclass
class IndexReport:
    embedded: int = 0
    unchanged: int = 0
    moved: int = 0
    touched: int = 0  # size or mtime changed, content did not
    errors: int = 0
    deleted: int = 0
    skipped_errors: int = 0  # failed before and unchanged since: not retried
    restored: int = 0  # deleted before, back now (same content): its kept vector is used again
    skipped_files: int = 0  # FIFOs, sockets, devices, links that dangle or loop: never opened
    unlisted_folders: list[str] = field(default_factory=list)  # their photos were left as they were


def _decode(job: tuple[PhotoFile, str], spec: dict, draft: bool):
    photo, digest = job
    try:
        pixels, width, height = load_photo(photo.absolute, spec, draft)
        return photo, digest, pixels, width, height, None
    except DecodeError as exc:
        return photo, digest, None, None, None, str(exc)


def _prefetched(pool: ThreadPoolExecutor, todo: list, spec: dict, draft: bool, batch_size: int,
                ahead: int = 2) -> Iterator[list]:
    """Decoded batches in order, with at most `ahead` batches decoding while one is encoded."""
    chunks = batched(iter(todo), batch_size)
    pending: deque[list[Future]] = deque()
    while True:
        while len(pending) < ahead and (chunk := next(chunks, None)):
            pending.append([pool.submit(_decode, job, spec, draft) for job in chunk])
        if not pending:
            return
        yield [future.result() for future in pending.popleft()]


def index_folder(root: str | Path, db: Store, encoder: BundleEncoder, books: Codebooks | None = None,
                 batch_size: int = 32, workers: int = 2, draft: bool = True, progress: Progress | None = None,
                 log: Log | None = None, allow_empty: bool = False, retry_errors: bool = False) -> IndexReport:
    """Bring a store already bound to the encoder's bundle (runtime.library does that) up to date with
    the folder; new vectors get codes of `books`. Returns what changed. RootUnavailable (nothing
    changed) for a root that is gone or empty while the store holds photos, unless `allow_empty`;
    `retry_errors` decodes again the photos that failed before, changed or not."""
    if batch_size < 1 or workers < 1:
        raise ValueError(f"batch size and workers must be at least 1, not {batch_size} and {workers}")
    report = IndexReport()
    model = encoder.bundle.fingerprint
    log = log or (lambda line: None)
    skipped: list[Skipped] = []
    files = list(walk_photos(root, skipped))
    rows = db.photo_rows()
    _check_root(Path(root), files, skipped, rows, allow_empty)
    for item in skipped:
        log(f"skipping {item.path or '.'}{'/' if item.folder else ''}: {item.reason}")
    report.skipped_files = sum(not item.folder for item in skipped)
    report.unlisted_folders = [item.path for item in skipped if item.folder and item.path]
    hidden = tuple(f"{path_from_store(folder)}/" for folder in report.unlisted_folders)
    with_vector = db.ids_with_vector(model)
    present = {f.path for f in files}
    # A new path may be a photo seen before: one gone since the last run, else a tombstone.
    reusable = {row["content_hash"]: row for status in ("deleted", "ok") for path, row in rows.items()
                if row["status"] == status and row["content_hash"] and row["id"] in with_vector
                and path not in present and not _under(path, hidden)}
    todo: list[tuple[PhotoFile, str]] = []
    reused_ids: set[int] = set()
    for photo in files:
        row = rows.get(photo.path)
        same_stat = row is not None and (row["size"], row["mtime_ns"]) == (photo.size, photo.mtime_ns)
        if same_stat and row["status"] == "error" and not retry_errors:
            report.skipped_errors += 1
            continue
        if same_stat and row["status"] == "ok" and row["id"] in with_vector:
            report.unchanged += 1
            continue
        try:
            digest = content_hash(photo.absolute)
        except OSError:  # unreadable: decoding will fail too and record the reason
            todo.append((photo, ""))
            continue
        if row is not None and row["content_hash"] == digest and row["id"] in with_vector:
            back = row["status"] == "deleted"
            db.update_photo(row["id"], {"size": photo.size, "mtime_ns": photo.mtime_ns, "status": "ok",
                                        **({"indexed_at": now()} if back else {})})
            report.restored += back
            report.touched += not back
        elif row is None and digest in reusable:
            found = reusable.pop(digest)
            reused_ids.add(found["id"])
            back = found["status"] == "deleted"
            db.update_photo(found["id"], {"path": photo.path, "size": photo.size, "mtime_ns": photo.mtime_ns,
                                          "status": "ok", **({"indexed_at": now()} if back else {})})
            report.restored += back
            report.moved += not back
        else:
            todo.append((photo, digest))
    spec = encoder.bundle.preprocess
    done = 0
    if progress:
        progress(done, len(todo))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in _prefetched(pool, todo, spec, draft, batch_size):
            _write_batch(db, encoder, books, batch, rows, model, report, log)
            done += len(batch)
            if progress:
                progress(done, len(todo))
    _mark_deleted(db, [row for path, row in rows.items() if path not in present and row["status"] != "deleted"
                       and row["id"] not in reused_ids and not _under(path, hidden)], report)
    return report


def _under(stored: str, folders: tuple[str, ...]) -> bool:
    return bool(folders) and path_from_store(stored).startswith(folders)


def _check_root(root: Path, files: list[PhotoFile], skipped: list[Skipped], rows: dict, allow_empty: bool) -> None:
    if allow_empty:
        return
    ok = sum(row["status"] == "ok" for row in rows.values())
    unreadable = next((item.reason for item in skipped if item.folder and not item.path), None)
    try:
        exists, is_dir = root.exists(), root.is_dir()
    except OSError as exc:  # a parent folder we may not search
        exists, is_dir, unreadable = True, True, exc.strerror or str(exc)
    if not exists:
        problem = "does not exist (not mounted?)"
    elif not is_dir:
        problem = "is not a folder"
    elif unreadable is not None:
        problem = f"cannot be read ({unreadable})"
    elif not files and ok and not any(item.folder for item in skipped):
        problem = "holds no photo file"
    else:
        return
    if ok:
        raise RootUnavailable(f"{root} {problem}, and the store holds {ok} photos from it. Nothing was changed; "
                              "mount or restore the folder, or run again with --allow-empty to mark them deleted "
                              "(their vectors are kept: photos that come back are not embedded again).")
    raise RootUnavailable(f"{root} {problem}")


def _write_batch(db: Store, encoder: BundleEncoder, books: Codebooks | None, batch: list, rows: dict, model: str,
                 report: IndexReport, log: Log) -> None:
    ok = [item for item in batch if item[5] is None]
    vectors = encoder.encode_pixels(np.stack([item[2] for item in ok])) if ok else []
    codes = iter(books.code_blobs(vectors) if books is not None and ok else [None] * len(ok))
    vectors = iter(vectors)
    stamp = now()
    written = []
    for photo, digest, _, width, height, error in batch:
        record = {"path": photo.path, "size": photo.size, "mtime_ns": photo.mtime_ns, "content_hash": digest,
                  "width": width, "height": height, "status": "error" if error else "ok", "error": error,
                  "indexed_at": stamp}
        existing = rows.get(photo.path)
        vector = None if error else to_blob(next(vectors))
        written.append((None if existing is None else existing["id"], record, vector, None if error else next(codes)))
        if error:
            report.errors += 1
            log(f"skipping {photo.path}: {error}")
        else:
            report.embedded += 1
    db.write_batch(model, written)


def _mark_deleted(db: Store, gone: list[dict], report: IndexReport) -> None:
    db.mark_deleted([row["id"] for row in gone])
    report.deleted += len(gone)
