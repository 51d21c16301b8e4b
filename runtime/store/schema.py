"""The store's schema and how a file becomes a store: migrations, the application id, read-only opens.

The table and column names are the contract the Kotlin and Swift stores share (docs/contracts.md).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from pocketclip.runtime.store import meta_keys as K
from pocketclip.runtime.store.errors import NotAStore, StoreError

SCHEMA_VERSION = 2
APPLICATION_ID = 0x50434C50  # "PCLP" in the SQLite header: marks a pocketclip store for any tool
CONTRACT_TABLES = {"meta", "photos", "embeddings"}
BUSY_TIMEOUT_S = 10  # a reader waits this long for the one writer's transaction to commit
MIGRATION_SET = "pocketclip-store"
migrations = Migrations(MIGRATION_SET)
# A vector blob the store can use: float16 values, as many as meta `dim` says (a NULL or a blob of another
# length, written by a foreign tool or a broken phone, is not searched and is embedded again by the next run).
VALID = ("e.vector IS NOT NULL AND length(e.vector) = 2 * (SELECT CAST(value AS INTEGER) FROM meta "
         "WHERE key = 'dim')")
# Every 'ok' photo with a usable vector of one model: the rows a search reads (tombstones are not searched).
SEARCHABLE = f"FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model = ? AND p.status = 'ok' AND {VALID}"


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
    db["meta"].insert({"key": K.SCHEMA_VERSION, "value": str(SCHEMA_VERSION)}, replace=True)


# What a photo says about itself (docs/contracts.md, "Photo facts"): NULL until read (R22), all NULL on an error row.
FACT_COLUMNS = {"taken_at": str, "taken_offset": str, "taken_source": str, "latitude": float, "longitude": float,
                "place_city": str, "place_region": str, "place_country": str, "camera_make": str,
                "camera_model": str, "format": str}


@migrations()
def m002_photo_facts(db: Database) -> None:
    """Schema version 2: the photo facts columns, empty; the next index run fills them in (R22)."""
    for column, kind in FACT_COLUMNS.items():
        db["photos"].add_column(column, kind)
    for column in ("taken_at", "place_country", "place_city"):
        db["photos"].create_index([column])
    db["meta"].insert({"key": K.SCHEMA_VERSION, "value": str(SCHEMA_VERSION)}, replace=True)


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
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
        # Read-only media: SQLite cannot make the shared-memory file a WAL needs, so the file is opened as
        # immutable, which reads the main file alone. A write-ahead log with changes in it would be skipped
        # silently: refuse instead, saying how to apply it.
        wal = Path(f"{path}-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            raise StoreError(f"{path}: its write-ahead log ({wal.name}, {wal.stat().st_size:,} bytes) holds changes that "
                             "cannot be applied on read-only media; open the store once where it can be written (any "
                             "pocketclip command applies it) or copy it with its -wal file to a writable folder") from None
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)


def is_store(conn: sqlite3.Connection, path: Path) -> bool:
    """True for a pocketclip store, False for an empty file; refuses any other SQLite file untouched (this
    only reads: nothing is written until the file is known to be ours)."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        ours = "_sqlite_migrations" in tables and conn.execute(
            "SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? LIMIT 1", [MIGRATION_SET]).fetchone() is not None
    except sqlite3.OperationalError as exc:  # the file is SQLite, but cannot be read here (its folder, its locks)
        raise StoreError(f"{path}: cannot open the store ({exc}); its folder must be readable, and writable to "
                         "index") from None
    except sqlite3.DatabaseError as exc:
        raise NotAStore(f"{path} is not a pocketclip store ({exc}); give another --db") from None
    if app_id == APPLICATION_ID or (not app_id and CONTRACT_TABLES <= tables and ours):
        return True  # (stores written before the application id, e.g. by a phone, carry our migrations)
    if app_id or tables:
        raise NotAStore(f"{path} is an SQLite file of another program, not a pocketclip store; "
                        "it was left untouched: give another --db")
    return False


def make_writable(conn: sqlite3.Connection, db: Database) -> None:
    """Mark the file as ours, switch to WAL and bring the schema up to date (a writer's open)."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.enable_wal()
    migrations.apply(db)
