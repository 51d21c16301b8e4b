"""The SQLite embedding store that Python and the phone apps share (shared/DESIGN.md, "The store").

Created and migrated through sqlite-utils, WAL mode. Vectors are L2-normalised little-endian
float16 blobs, one row per (photo, model fingerprint); a store is bound to one model and refuses
vectors of another unless asked to re-index.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from datetime import datetime, timezone
from urllib.parse import quote
from pathlib import Path

import numpy as np
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from pocketclip.runtime import meta_keys as K

SCHEMA_VERSION = 1
APPLICATION_ID = 0x50434C50  # "PCLP" in the SQLite header: marks a pocketclip store for any tool
CONTRACT_TABLES = {"meta", "photos", "embeddings"}
BUSY_TIMEOUT_S = 10  # a reader waits this long for the one writer's transaction to commit
migrations = Migrations("pocketclip-store")


class StoreError(Exception):
    """The store cannot be used as asked."""


class StoreTooNew(StoreError):
    """The store was written by a newer pocketclip; this code does not know its schema."""


class NotAStore(StoreError):
    """The file is not a pocketclip store (another program's SQLite file, or not SQLite at all)."""


class StoreLocked(StoreError):
    """Another process is writing the store (one writer at a time); the message names it."""


class ModelMismatch(StoreError):
    """The store holds vectors of another model; re-index (--reindex) rather than mix two models."""


@migrations()
def m001_initial(db: Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["photos"].create({"id": int, "path": str, "size": int, "mtime_ns": int, "content_hash": str, "width": int,
                         "height": int, "status": str, "error": str, "indexed_at": str}, pk="id",
                        not_null={"path", "status"})
    db["photos"].create_index(["path"], unique=True)
    db["photos"].create_index(["content_hash"])
    db["embeddings"].create({"photo_id": int, "model": str, "vector": bytes, "pq_code": bytes},
                            pk=("photo_id", "model"), foreign_keys=[("photo_id", "photos", "id")])
    set_meta(db, {K.SCHEMA_VERSION: str(SCHEMA_VERSION)})


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection to an existing or new store file. Read-only opens never write: on read-only media
    a WAL store cannot even get its shared-memory file, so SQLite is told the file is immutable."""
    if not readonly:
        return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
    uri = f"file:{quote(str(path.resolve()))}"
    try:
        # check_same_thread=False: a read-only store may be searched from a server's worker threads
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)


def _check_is_store(conn: sqlite3.Connection, path: Path) -> bool:
    """True for a pocketclip store, False for an empty file; refuses any other SQLite file untouched."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise NotAStore(f"{path} is not a pocketclip store ({exc}); give another --db") from None
    if app_id == APPLICATION_ID or (not app_id and CONTRACT_TABLES <= tables):
        return True  # (stores written before the application id, e.g. by a phone, carry the tables)
    if app_id or tables:
        raise NotAStore(f"{path} is an SQLite file of another program, not a pocketclip store; "
                        "it was left untouched: give another --db")
    return False


def open_store(path: str | Path, readonly: bool = False) -> Database:
    """Open (creating or migrating) a store; refuses one newer than this code and any SQLite file that is
    not a store. `readonly` opens an existing store without writing anything to it (search, status)."""
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a folder; --db takes the store's file name, e.g. {path / 'index.db'}")
    if readonly and not path.is_file():
        raise StoreError(f"no store at {path}; run `pocketclip index FOLDER --bundle B --db {path}` first")
    try:
        conn = _connect(path, readonly)
        existing = _check_is_store(conn, path)
        db = Database(conn)
        version = int(get_meta(db).get(K.SCHEMA_VERSION, 0) or 0) if existing else 0
        if version > SCHEMA_VERSION:
            raise StoreTooNew(f"{path}: schema version {version}; this pocketclip reads up to {SCHEMA_VERSION}")
        if readonly:
            if not existing:
                raise NotAStore(f"{path} is empty, not a pocketclip store")
            return db
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.enable_wal()
        migrations.apply(db)
        return db
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot use the store ({exc})") from None


def lock_writer(path: str | Path) -> int:
    """Take the store's writer lock (a `STORE.lock` file beside it, released when the process ends or
    the returned descriptor is closed), or raise StoreLocked naming the process that holds it."""
    lock = Path(f"{path}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreLocked(f"{path} is being indexed by {holder}; wait for it to finish") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pocketclip (pid {os.getpid()}, started {now()})".encode(), 0)
    return fd


def get_meta(db: Database) -> dict[str, str]:
    return {row["key"]: row["value"] for row in db["meta"].rows} if db["meta"].exists() else {}


def set_meta(db: Database, values: dict[str, str]) -> None:
    """Write meta keys (runtime.meta_keys names only), in the caller's transaction if there is one."""
    unknown = set(values) - set(K.ALL)
    if unknown:
        raise ValueError(f"not a meta key of the store contract: {sorted(unknown)}")
    db["meta"].insert_all(({"key": key, "value": value} for key, value in values.items()), replace=True)


def delete_meta(db: Database, key: str) -> None:
    db.execute("DELETE FROM meta WHERE key = ?", [key])


def bump_generation(db: Database) -> None:
    """Raise meta `generation`; call it inside the transaction of every write to photos or embeddings,
    so that a derived copy of the store is never newer-looking than what it was built from."""
    db.execute("INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET "
               "value = CAST(value AS INTEGER) + 1", [K.GENERATION])


def generation(db: Database) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [K.GENERATION]).fetchone()
    return int(row[0]) if row else 0


def bind_model(db: Database, fingerprint: str, dim: int, preprocess_sha256: str, reindex: bool = False,
               precision: str | None = None) -> None:
    """Record the store's model, preprocessing and precision, or refuse different ones: vectors of
    two models, two preprocessings or two precisions never mix (with `reindex`, drop the old vectors)."""
    meta = get_meta(db)
    wanted = {K.MODEL_FINGERPRINT: fingerprint, K.PREPROCESS_SHA256: preprocess_sha256, K.DIM: str(dim)}
    if precision is not None:
        wanted[K.PRECISION] = precision
    differs = [key for key, value in wanted.items() if meta.get(key) not in (None, value)]
    has_vectors = db["embeddings"].exists() and db.execute("SELECT 1 FROM embeddings LIMIT 1").fetchone()
    if differs and has_vectors:
        if not reindex:
            what = ", ".join(f"{key} {meta[key][:12]} (the bundle: {wanted[key][:12]})" for key in differs)
            raise ModelMismatch(f"the store holds vectors of another {what}; run again with --reindex to "
                                "re-embed every photo")
        with db.atomic():  # photos stay 'ok' but have no vector: the indexer embeds them again
            db.execute("DELETE FROM embeddings")
            bump_generation(db)
    with db.atomic():
        set_meta(db, wanted)


def bind_bundle(db: Database, bundle, reindex: bool = False) -> None:
    """bind_model with a bundle's model fingerprint, embedding size and preprocessing identity."""
    bind_model(db, bundle.fingerprint, bundle.manifest["model"]["embed_dim"], bundle.preprocess_sha256, reindex)


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def as_stored(vectors) -> np.ndarray:
    """The float32 values a store holds for these vectors: rounded through float16, as in its blobs."""
    return np.asarray(vectors, dtype="<f2").astype(np.float32)


def from_blobs(blobs: list[bytes], dim: int) -> np.ndarray:
    """(N, dim) float32 from float16 blobs: numpy has no fast float16 kernel, so convert once."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), dim).astype(np.float32)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
