"""Incremental indexing of a photo library into the store, by the rules of docs/conformance.md.

rclip's sync, made resumable: unchanged photos (same size and mtime) are not read (R2); a photo whose
content hash is its row's keeps its vector (R4); a new path whose hash matches a vanished photo or a
tombstone takes its row and vector (R5, R7); the rest is embedded and written one batch per transaction
(R9). Each photo that is not unchanged is read once, by a pool of workers ahead of the encoder: its bytes are
hashed and, unless the hash says it keeps a stored vector, decoded from the same bytes, so a first index
reads the library once and its first batches are searchable while the rest is read; photos no longer listed are marked 'deleted' and keep their
vectors (R6), unless that would be most of the library or access is partial (R13, R14). Old tombstones
are purged (R19). A photo that killed the process twice is quarantined (R20).

The same rules run in the Kotlin and Swift cores; the scenario files under scenarios/ drive all three.
"""
from __future__ import annotations

import json
import os
import time
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
from pocketclip.runtime.facts.photo_facts import COLUMNS as FACT_COLUMNS
from pocketclip.runtime.indexing.decode import UNAVAILABLE
from pocketclip.runtime.indexing.source import FolderSource, Loaded, PhotoSource, decode_if
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
NO_FACTS = dict.fromkeys(FACT_COLUMNS)  # an error row's facts (R21)


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
    facts_filled: int = 0  # unchanged photos whose facts a migrated store lacked, read and written (R22)
    skipped_files: int = 0  # FIFOs, sockets, devices, links that dangle or loop: never opened
    unlisted_folders: list[str] = field(default_factory=list)  # their photos were left as they were
    bytes_read: int = 0  # photo bytes read (each photo read once: hashed and decoded from the same bytes)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (read_and_decode: summed
    # over the workers; encode; write)


@dataclass
class _Job:
    photo: PhotoFile
    row: dict | None  # its row in the store, by path
    keeps: Callable[[str], bool]  # whether a read content hash keeps a stored vector (then no decode)
    quarantined: bool  # R20: it killed the decoder twice; recorded as an error, never decoded
    needs_facts: bool = False  # R22: an 'ok' row with a vector whose facts were never read


def index_folder(root: str | Path, db: Store, encoder: BundleEncoder, books: Codebooks | None = None,
                 batch_size: int = 32, workers: int | None = None, draft: bool = True,
                 progress: Progress | None = None, log: Log | None = None, allow_empty: bool = False,
                 retry_errors: bool = False, report: IndexReport | None = None) -> IndexReport:
    """index_library on a folder of files, embedded by the bundle's encoder (the desktop's indexing)."""
    return index_library(db, FolderSource(root), encoder.bundle.fingerprint, encoder.bundle.preprocess,
                         lambda photos, pixels: encoder.encode_pixels(pixels), books, batch_size=batch_size,
                         workers=workers, draft=draft, progress=progress, log=log, allow_empty=allow_empty,
                         retry_errors=retry_errors, report=report)


def index_library(db: Store, source: PhotoSource, model: str, spec: Mapping, embed: Embed,
                  books: Codebooks | None = None, batch_size: int = 32, workers: int | None = None,
                  draft: bool = True, progress: Progress | None = None, log: Log | None = None,
                  allow_empty: bool = False, retry_errors: bool = False, clock: Clock = now, prefetch: int = 2,
                  report: IndexReport | None = None) -> IndexReport:
    """Bring a store already bound to `model` (binding.py does that) up to date with the source; new
    vectors get codes of `books`. Returns what changed. RootUnavailable (nothing changed) for a library
    that is gone or empty while the store holds photos, unless `allow_empty`; `retry_errors` decodes again
    the photos that failed before, changed or not. `prefetch`: batches decoded ahead of the encoder (the
    conformance scenarios run with 1: one batch in hand, as the phone cores). `workers`: reading and decoding
    threads (default: one per core). `report`: filled as the run goes (a progress bar reads bytes_read from it).
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if batch_size < 1 or workers < 1 or prefetch < 1:
        raise ValueError(f"batch size and workers must be at least 1, not {batch_size} and {workers}")
    report, log = report or IndexReport(), log or (lambda line: None)
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
    reusable_hashes = frozenset(reusable)
    to_read: list[_Job] = []
    for photo in files:
        row = rows.get(photo.path)
        same_stat = row is not None and (row["size"], row["mtime_ns"]) == (photo.size, photo.mtime_ns)
        if same_stat and row["status"] == "error" and not retry_errors and not (row["error"] or "").startswith(
                UNAVAILABLE):
            report.skipped_errors += 1
            continue
        needs_facts = row is not None and row["status"] == "ok" and row["id"] in with_vector and \
            row.get("taken_source") is None
        if same_stat and row["status"] == "ok" and row["id"] in with_vector and not needs_facts:
            report.unchanged += 1
            continue
        quarantined = suspects.get(photo.path, 0) >= QUARANTINE_STRIKES
        to_read.append(_Job(photo, row, _keeps(row, with_vector, reusable_hashes), quarantined, needs_facts))
    # R20: photos recorded before (their batch never written) are read first, one at a time.
    alone = [job for job in to_read if not job.quarantined and job.photo.path in suspects]
    rest = [job for job in to_read if job.quarantined or job.photo.path not in suspects]
    run = _Run(db, source, spec, draft, embed, books, model, report, log, clock, with_vector, reusable)
    done, total = 0, len(to_read)
    if progress:
        progress(done, total)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for chunk in chain(_read_ahead(db, pool, run, alone, 1, suspects, ahead=1),
                           _read_ahead(db, pool, run, rest, batch_size, suspects, prefetch)):
            run.settle(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    report.timings = {stage: round(seconds, 3) for stage, seconds in run.timings.items()}
    db.clear_meta(K.DECODING)  # every batch was written: nothing is being decoded
    gone = [row for row in vanished if row["status"] != "deleted" and row["id"] not in run.reused_ids]
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


def _keeps(row: dict | None, with_vector: set[int], reusable: frozenset[str]) -> Callable[[str], bool]:
    """Whether a photo read with this content hash keeps a vector already stored (its own row's, R4, or a
    vanished row's it takes over, R5/R7): then its pixels are not decoded."""
    own = row["content_hash"] if row is not None and row["id"] in with_vector else None
    return lambda digest: digest == own or (row is None and digest in reusable)


def _load(source: PhotoSource, job: _Job, spec: Mapping, draft: bool) -> tuple[_Job, Loaded, float]:
    """One photo read, hashed and (unless it keeps a stored vector or is quarantined) decoded, in a worker."""
    start = time.perf_counter()
    wanted = (lambda digest: not job.quarantined and not job.keeps(digest))
    loaded = source.load(job.photo, spec, draft, wanted, facts=True) if job.needs_facts else \
        source.load(job.photo, spec, draft, wanted)
    return job, loaded, time.perf_counter() - start


def _read_ahead(db: Store, pool: ThreadPoolExecutor, run: _Run, todo: list[_Job], batch_size: int,
                suspects: dict[str, int], ahead: int = 2) -> Iterator[list[tuple[_Job, Loaded, float]]]:
    """Read and decoded batches in order, with at most `ahead` batches in the workers while one is encoded.
    Each batch's photos are recorded in meta `decoding` before any of them is read (R20)."""
    chunks = batched(iter(todo), batch_size)
    pending: deque[list[Future]] = deque()
    while True:
        while len(pending) < ahead and (chunk := next(chunks, None)):
            _record_decoding(db, chunk, suspects)
            pending.append([pool.submit(_load, run.source, job, run.spec, run.draft) for job in chunk])
        if not pending:
            return
        yield [future.result() for future in pending.popleft()]


def _record_decoding(db: Store, chunk: list[_Job], suspects: dict[str, int]) -> None:
    marked = _decoding(db)
    for job in chunk:
        if not job.quarantined:
            marked[job.photo.path] = suspects.get(job.photo.path, 0) + 1
    if marked:
        with db.atomic():
            db.set_meta({K.DECODING: json.dumps(marked, sort_keys=True)})


@dataclass
class _Run:
    """One indexing run's state for settling read batches in listing order: what each photo turned out to be
    (unchanged content, a move, a restore, or pixels to embed), written batch by batch."""
    db: Store
    source: PhotoSource
    spec: Mapping
    draft: bool
    embed: Embed
    books: Codebooks | None
    model: str
    report: IndexReport
    log: Log
    clock: Clock
    with_vector: set[int]
    reusable: dict[str, dict]
    reused_ids: set[int] = field(default_factory=set)
    timings: dict[str, float] = field(default_factory=lambda: {"read_and_decode": 0.0, "encode": 0.0, "write": 0.0})

    def settle(self, chunk: list[tuple[_Job, Loaded, float]]) -> None:
        batch = []
        for job, loaded, seconds in chunk:
            self.timings["read_and_decode"] += seconds
            self.report.bytes_read += loaded.bytes_read
            item = self._decide(job, loaded)
            if item is not None:
                batch.append(item)
        self._write(batch, [job.photo.path for job, *_ in chunk])

    def _decide(self, job: _Job, loaded: Loaded) -> tuple | None:
        """What one read photo is (R4, R5, R7, R11): None when its row was updated in place, else the item
        (job, digest, pixels, width, height, error, facts) its batch writes."""
        row, photo, report = job.row, job.photo, self.report
        if loaded.digest is None:  # the read failed: unreadable now (R11) or not a file
            if row is not None and row["status"] == "ok" and row["id"] in self.with_vector:
                report.errors += 1  # R11: an indexed photo keeps its row and vector while it cannot be read
                self.log(f"skipping {photo.path}: {loaded.error}")
                return None
            return job, "", None, None, None, loaded.error, None
        digest = loaded.digest
        if row is not None and row["content_hash"] == digest and row["id"] in self.with_vector:
            back = row["status"] == "deleted"
            facts = loaded.facts.columns() if job.needs_facts and loaded.facts is not None else {}
            self.db.update_photo(row["id"], {"size": photo.size, "mtime_ns": photo.mtime_ns, "status": "ok",
                                             "error": None, **({"indexed_at": self.clock()} if back else {}), **facts})
            same_stat = (row["size"], row["mtime_ns"]) == (photo.size, photo.mtime_ns)
            report.facts_filled += bool(facts) and same_stat and not back
            report.restored += back
            report.touched += not back and not (facts and same_stat)
            return None
        if row is None and digest in self.reusable:
            found = self.reusable.pop(digest)
            self.reused_ids.add(found["id"])
            back = found["status"] == "deleted"
            self.db.update_photo(found["id"], {"path": photo.path, "size": photo.size, "mtime_ns": photo.mtime_ns,
                                               "status": "ok", **({"indexed_at": self.clock()} if back else {})})
            report.restored += back
            report.moved += not back
            return None
        if job.quarantined:
            return job, digest, None, None, None, CRASHED, None
        if loaded.pixels is None and loaded.error is None:
            # Not decoded: its hash was a vanished row's that an earlier copy of the same bytes took (R7). The
            # one case of a second read.
            loaded = decode_if(digest, lambda _: True, lambda: self.source.decode(photo, self.spec, self.draft), 0)
            if loaded.error is None:  # (and its facts: a third read, as rare as the second)
                loaded.facts = self.source.load(photo, self.spec, self.draft, lambda _: False, facts=True).facts
        return job, digest, loaded.pixels, loaded.width, loaded.height, loaded.error, loaded.facts

    def _write(self, batch: list[tuple], paths: list[str]) -> None:
        ok = [item for item in batch if item[5] is None]
        start = time.perf_counter()
        vectors = self.embed([(item[0].photo.path, item[1]) for item in ok],
                             np.stack([item[2] for item in ok])) if ok else []
        codes = iter(self.books.code_blobs(vectors) if self.books is not None and ok else [None] * len(ok))
        self.timings["encode"] += time.perf_counter() - start
        start = time.perf_counter()
        vectors = iter(vectors)
        stamp = self.clock()
        written = []
        for job, digest, _, width, height, error, facts in batch:
            photo = job.photo
            record = {"path": photo.path, "size": photo.size, "mtime_ns": photo.mtime_ns,
                      "content_hash": digest or None, "width": width, "height": height,
                      "status": "error" if error else "ok", "error": error, "indexed_at": stamp,
                      **(facts.columns() if facts is not None and not error else NO_FACTS)}
            written.append((None if job.row is None else job.row["id"], record,
                            None if error else to_blob(next(vectors)), None if error else next(codes)))
            if error:
                self.report.errors += 1
                self.log(f"skipping {photo.path}: {error}")
            else:
                self.report.embedded += 1
        settled = set(paths)
        left = {path: strikes for path, strikes in _decoding(self.db).items() if path not in settled}
        meta = {K.DECODING: json.dumps(left, sort_keys=True) if left else None}
        if written:
            self.db.write_batch(self.model, written, meta)
        else:  # nothing to write (every photo kept its vector or stayed unreadable): the store did not change
            with self.db.atomic():
                if left:
                    self.db.set_meta(meta)
                else:
                    self.db.delete_meta(K.DECODING)
        self.timings["write"] += time.perf_counter() - start


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
