"""Incremental indexing of a photo library into the store, by the rules of docs/conformance.md.

rclip's sync, made resumable: unchanged photos (same size and mtime) are not read (R2); a photo whose
content hash is its row's keeps its vector (R4); a new path whose hash matches a vanished photo or a
tombstone takes its row and vector (R5, R7); the rest is decoded by a thread pool ahead of the encoder
and written one batch per transaction (R9); photos no longer listed are marked 'deleted' and keep their
vectors (R6), unless that would be most of the library or access is partial (R13, R14). Old tombstones
are purged (R19). A photo that killed the process twice is quarantined (R20).

The same rules run in the Kotlin and Swift cores; the scenario files under scenarios/ drive all three.
"""
from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import chain
from pathlib import Path

import numpy as np

from pocketclip.runtime.batches import batched
from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.decode import UNAVAILABLE, DecodeError
from pocketclip.runtime.indexing.source import FolderSource, PhotoSource
from pocketclip.runtime.indexing.walk import PhotoFile, Skipped, path_from_store
from pocketclip.runtime.store import Store, StoreError, now, to_blob
from pocketclip.runtime.store import meta_keys as K

Progress = Callable[[int, int], None]  # (photos done, photos to embed), after each batch
Log = Callable[[str], None]  # one line per photo, file or folder that failed: "skipping PATH: reason"
# ((path, content hash) of each photo, pixels (B, 3, S, S)) -> (B, dim) vectors
Embed = Callable[[list[tuple[str, str]], np.ndarray], np.ndarray]
Clock = Callable[[], str]  # the time written into indexed_at (ISO 8601 UTC, seconds)

MAX_DELETED_SHARE = 0.5  # R13: a run marks at most this share of the library deleted ...
DELETION_GUARD_FROM = 4  # ... once the library holds this many 'ok' photos
TOMBSTONE_DAYS = 30  # R19
QUARANTINE_STRIKES = 2  # R20: recorded this many times without being written: the photo kills the decoder
CRASHED = "the photo crashed the decoder"


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
    withheld: int = 0  # gone, but not marked deleted: most of the library, or partial access (R13, R14)
    purged: int = 0  # tombstones older than TOMBSTONE_DAYS, removed (R19)
    skipped_files: int = 0  # FIFOs, sockets, devices, links that dangle or loop: never opened
    unlisted_folders: list[str] = field(default_factory=list)  # their photos were left as they were


@dataclass
class _Job:
    photo: PhotoFile
    digest: str
    row_id: int | None
    error: str | None = None  # decided before decoding: unreadable, or quarantined


def index_folder(root: str | Path, db: Store, encoder: BundleEncoder, books: Codebooks | None = None,
                 batch_size: int = 32, workers: int = 2, draft: bool = True, progress: Progress | None = None,
                 log: Log | None = None, allow_empty: bool = False, retry_errors: bool = False) -> IndexReport:
    """index_library on a folder of files, embedded by the bundle's encoder (the desktop's indexing)."""
    return index_library(db, FolderSource(root), encoder.bundle.fingerprint, encoder.bundle.preprocess,
                         lambda photos, pixels: encoder.encode_pixels(pixels), books, batch_size=batch_size,
                         workers=workers, draft=draft, progress=progress, log=log, allow_empty=allow_empty,
                         retry_errors=retry_errors)


def index_library(db: Store, source: PhotoSource, model: str, spec: Mapping, embed: Embed,
                  books: Codebooks | None = None, batch_size: int = 32, workers: int = 2, draft: bool = True,
                  progress: Progress | None = None, log: Log | None = None, allow_empty: bool = False,
                  retry_errors: bool = False, clock: Clock = now, prefetch: int = 2) -> IndexReport:
    """Bring a store already bound to `model` (binding.py does that) up to date with the source; new
    vectors get codes of `books`. Returns what changed. RootUnavailable (nothing changed) for a library
    that is gone or empty while the store holds photos, unless `allow_empty`; `retry_errors` decodes again
    the photos that failed before, changed or not. `prefetch`: batches decoded ahead of the encoder (the
    conformance scenarios run with 1: one batch in hand, as the phone cores)."""
    if batch_size < 1 or workers < 1 or prefetch < 1:
        raise ValueError(f"batch size and workers must be at least 1, not {batch_size} and {workers}")
    report, log = IndexReport(), log or (lambda line: None)
    skipped: list[Skipped] = []
    files = source.list(skipped)
    rows = db.photo_rows()
    _check_root(source, files, skipped, rows, allow_empty)
    for item in skipped:
        log(f"skipping {item.path or '.'}{'/' if item.folder else ''}: {item.reason}")
    report.skipped_files = sum(not item.folder for item in skipped)
    report.unlisted_folders = [item.path for item in skipped if item.folder and item.path]
    hidden = tuple(f"{path_from_store(folder)}/" for folder in report.unlisted_folders)
    with_vector = db.ids_with_vector(model)
    present = {f.path for f in files}
    vanished = [row for path, row in rows.items() if path not in present and not _under(path, hidden)]
    reusable = _reusable(vanished, with_vector)
    suspects = _decoding(db)
    todo: list[_Job] = []
    reused_ids: set[int] = set()
    for photo in files:
        row = rows.get(photo.path)
        same_stat = row is not None and (row["size"], row["mtime_ns"]) == (photo.size, photo.mtime_ns)
        if same_stat and row["status"] == "error" and not retry_errors and not (row["error"] or "").startswith(
                UNAVAILABLE):
            report.skipped_errors += 1
            continue
        if same_stat and row["status"] == "ok" and row["id"] in with_vector:
            report.unchanged += 1
            continue
        try:
            digest = source.content_hash(photo)
        except DecodeError as exc:  # unreadable now (R11) or not a file: recorded, never decoded
            if row is not None and row["status"] == "ok" and row["id"] in with_vector:
                report.errors += 1  # R11: an indexed photo keeps its row and vector while it cannot be read
                log(f"skipping {photo.path}: {exc}")
                continue
            todo.append(_Job(photo, "", None if row is None else row["id"], str(exc)))
            continue
        if row is not None and row["content_hash"] == digest and row["id"] in with_vector:
            back = row["status"] == "deleted"
            db.update_photo(row["id"], {"size": photo.size, "mtime_ns": photo.mtime_ns, "status": "ok", "error": None,
                                        **({"indexed_at": clock()} if back else {})})
            report.restored += back
            report.touched += not back
        elif row is None and digest in reusable:
            found = reusable.pop(digest)
            reused_ids.add(found["id"])
            back = found["status"] == "deleted"
            db.update_photo(found["id"], {"path": photo.path, "size": photo.size, "mtime_ns": photo.mtime_ns,
                                          "status": "ok", **({"indexed_at": clock()} if back else {})})
            report.restored += back
            report.moved += not back
        else:
            strikes = suspects.get(photo.path, 0)
            todo.append(_Job(photo, digest, None if row is None else row["id"],
                             CRASHED if strikes >= QUARANTINE_STRIKES else None))
    # R20: photos recorded before (their batch never written) are decoded first, one at a time.
    alone = [job for job in todo if job.error is None and job.photo.path in suspects]
    rest = [job for job in todo if not (job.error is None and job.photo.path in suspects)]
    done, total = 0, len(todo)
    if progress:
        progress(done, total)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in chain(_prefetched(db, pool, source, alone, spec, draft, 1, suspects, ahead=1),
                           _prefetched(db, pool, source, rest, spec, draft, batch_size, suspects, prefetch)):
            _write_batch(db, embed, books, batch, model, report, log, clock)
            done += len(batch)
            if progress:
                progress(done, total)
    db.clear_meta(K.DECODING)  # every batch was written: nothing is being decoded
    gone = [row for row in vanished if row["status"] != "deleted" and row["id"] not in reused_ids]
    _mark_deleted(db, gone, rows, source.partial, allow_empty, report, clock)
    report.purged = db.purge_tombstones(_days_before(clock(), TOMBSTONE_DAYS))
    return report


def _reusable(vanished: list[dict], with_vector: set[int]) -> dict[str, dict]:
    """Rows a new path may take over by content hash (R5, R7): vanished 'ok' rows before tombstones, then
    the lowest id."""
    found: dict[str, dict] = {}
    for row in sorted(vanished, key=lambda r: (r["status"] != "ok", r["id"])):
        if row["status"] in ("ok", "deleted") and row["content_hash"] and row["id"] in with_vector:
            found.setdefault(row["content_hash"], row)
    return found


def _decoding(db: Store) -> dict[str, int]:
    """Meta `decoding`: the photos of batches that were being decoded when a run died, with their strikes."""
    try:
        return {str(path): int(strikes) for path, strikes in json.loads(db.meta().get(K.DECODING) or "{}").items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def _under(stored: str, folders: tuple[str, ...]) -> bool:
    return bool(folders) and path_from_store(stored).startswith(folders)


def _check_root(source: PhotoSource, files: list[PhotoFile], skipped: list[Skipped], rows: dict,
                allow_empty: bool) -> None:
    if allow_empty:
        return
    ok = sum(row["status"] == "ok" for row in rows.values())
    problem = source.root_problem(files, skipped)
    if problem is None or (problem.startswith("holds no photo") and not ok):
        return
    if ok:
        raise RootUnavailable(f"{source.root} {problem}, and the store holds {ok} photos from it. Nothing was "
                              "changed; mount or restore the folder, or run again with --allow-empty to mark them "
                              "deleted (their vectors are kept: photos that come back are not embedded again).")
    raise RootUnavailable(f"{source.root} {problem}")


def _decode(source: PhotoSource, job: _Job, spec: Mapping, draft: bool):
    if job.error is not None:
        return job, None, None, None, job.error
    try:
        pixels, width, height = source.decode(job.photo, spec, draft)
        return job, pixels, width, height, None
    except DecodeError as exc:
        return job, None, None, None, str(exc)


def _prefetched(db: Store, pool: ThreadPoolExecutor, source: PhotoSource, todo: list[_Job], spec: Mapping,
                draft: bool, batch_size: int, suspects: dict[str, int], ahead: int = 2) -> Iterator[list]:
    """Decoded batches in order, with at most `ahead` batches decoding while one is encoded. Each batch's
    photos are recorded in meta `decoding` before any of them is decoded (R20)."""
    chunks = batched(iter(todo), batch_size)
    pending: deque[list[Future]] = deque()
    while True:
        while len(pending) < ahead and (chunk := next(chunks, None)):
            _record_decoding(db, chunk, suspects)
            pending.append([pool.submit(_decode, source, job, spec, draft) for job in chunk])
        if not pending:
            return
        yield [future.result() for future in pending.popleft()]


def _record_decoding(db: Store, chunk: list[_Job], suspects: dict[str, int]) -> None:
    marked = _decoding(db)
    for job in chunk:
        if job.error is None:
            marked[job.photo.path] = suspects.get(job.photo.path, 0) + 1
    if marked:
        with db.atomic():
            db.set_meta({K.DECODING: json.dumps(marked, sort_keys=True)})


def _write_batch(db: Store, embed: Embed, books: Codebooks | None, batch: list, model: str, report: IndexReport,
                 log: Log, clock: Clock) -> None:
    ok = [item for item in batch if item[4] is None]
    pixels = np.stack([item[1] for item in ok]) if ok else None
    vectors = embed([(item[0].photo.path, item[0].digest) for item in ok], pixels) if ok else []
    codes = iter(books.code_blobs(vectors) if books is not None and ok else [None] * len(ok))
    vectors = iter(vectors)
    stamp = clock()
    written = []
    for job, _, width, height, error in batch:
        photo = job.photo
        record = {"path": photo.path, "size": photo.size, "mtime_ns": photo.mtime_ns,
                  "content_hash": job.digest or None,
                  "width": width, "height": height, "status": "error" if error else "ok", "error": error,
                  "indexed_at": stamp}
        written.append((job.row_id, record, None if error else to_blob(next(vectors)), None if error else next(codes)))
        if error:
            report.errors += 1
            log(f"skipping {photo.path}: {error}")
        else:
            report.embedded += 1
    left = {path: strikes for path, strikes in _decoding(db).items() if path not in {j.photo.path for j, *_ in batch}}
    db.write_batch(model, written, {K.DECODING: json.dumps(left, sort_keys=True) if left else None})


def _mark_deleted(db: Store, gone: list[dict], rows: dict, partial: bool, allow_empty: bool, report: IndexReport,
                  clock: Clock) -> None:
    """R6, with the guards of R13 (most of the library) and R14 (partial access)."""
    ok = sum(row["status"] == "ok" for row in rows.values())
    too_many = ok >= DELETION_GUARD_FROM and len(gone) > MAX_DELETED_SHARE * ok
    if gone and not allow_empty and (partial or too_many):
        report.withheld = len(gone)
        return
    db.mark_deleted([row["id"] for row in gone], clock())
    report.deleted += len(gone)


def _days_before(stamp: str, days: int) -> str:
    """The ISO 8601 UTC time `days` before `stamp`, in the store's format (compared as text, R19)."""
    moment = datetime.fromisoformat(stamp).astimezone(timezone.utc) - timedelta(days=days)
    return moment.isoformat(timespec="seconds")
