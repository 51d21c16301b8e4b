"""The SQLite embedding store that Python and the phone apps share (shared/DESIGN.md, "The store").

Created and migrated through sqlite-utils, WAL mode. Vectors are L2-normalised little-endian
float16 blobs, one row per (photo, model fingerprint); a store is bound to one model and refuses
vectors of another unless asked to re-index.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from urllib.parse import quote
from pathlib import Path

import numpy as np
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from pocketclip.runtime import meta_keys as K

SCHEMA_VERSION = 1
migrations = Migrations("pocketclip-store")


class StoreError(Exception):
    """The store cannot be used as asked."""


class StoreTooNew(StoreError):
    """The store was written by a newer pocketclip; this code does not know its schema."""


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


def open_store(path: str | Path, readonly: bool = False) -> Database:
    """Open (creating or migrating) a store; refuses one newer than this code. `readonly` opens an
    existing store without writing anything to it (search, status, parity)."""
    if readonly:
        if not Path(path).is_file():
            raise StoreError(f"no store at {path}")
        db = Database(sqlite3.connect(f"file:{quote(str(Path(path).resolve()))}?mode=ro", uri=True))
        version = int(get_meta(db).get(K.SCHEMA_VERSION, 0))
        if version > SCHEMA_VERSION:
            raise StoreTooNew(f"{path}: schema version {version}; this pocketclip reads up to {SCHEMA_VERSION}")
        return db
    db = Database(str(path))
    if db["meta"].exists():
        version = int(get_meta(db).get(K.SCHEMA_VERSION, 0))
        if version > SCHEMA_VERSION:
            raise StoreTooNew(f"{path}: schema version {version}; this pocketclip reads up to {SCHEMA_VERSION}")
    db.enable_wal()
    migrations.apply(db)
    return db


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


def bind_model(db: Database, fingerprint: str, dim: int, preprocess_sha256: str, reindex: bool = False) -> None:
    """Record the store's model, or refuse a different one (with `reindex`, drop the old vectors)."""
    meta = get_meta(db)
    old = meta.get(K.MODEL_FINGERPRINT)
    if old and old != fingerprint:
        if not reindex:
            raise ModelMismatch(f"the store holds vectors of model {old[:12]}, the bundle is model "
                                f"{fingerprint[:12]}; run again with --reindex to re-embed every photo")
        with db.atomic():  # photos stay 'ok' but have no vector of this model: the indexer embeds them
            db.execute("DELETE FROM embeddings WHERE model != ?", [fingerprint])
    with db.atomic():
        set_meta(db, {K.MODEL_FINGERPRINT: fingerprint, K.DIM: str(dim), K.PREPROCESS_SHA256: preprocess_sha256})


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
