"""The SQLite embedding store that Python and the phone apps share (docs/contracts.md).

`Store` is a sqlite-utils Database that owns every SQL statement of the package: opening and
migrating, meta, binding a model and codebooks, photo rows, vectors and codes, the arrays a search
loads. A reader who wants to know what touches the database opens this file (and copy.py, for the
memory-mapped copy beside it). Vectors are L2-normalised little-endian float16 blobs, one row per
(photo, model fingerprint); a store is bound to one model and refuses vectors of another unless asked
to re-index.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlite_utils import Database

from pocketclip.runtime.store import copy
from pocketclip.runtime.store import meta_keys as K
from pocketclip.runtime.store.blobs import from_blobs
from pocketclip.runtime.store.errors import ModelMismatch, NotAStore, StoreError, StoreTooNew
from pocketclip.runtime.store.schema import (FACT_COLUMNS, SCHEMA_VERSION, SEARCHABLE, VALID, connect, is_store,
                                             make_writable)

class Encodes(Protocol):
    """Codebooks as the store uses them (runtime/bundle/codebooks.py): vectors in, one pq_code blob each out."""
    dim: int

    def code_blobs(self, vectors: np.ndarray) -> list[bytes]: ...


class Store(Database):
    """An opened store: a sqlite-utils Database plus the contract's reads and writes."""

    path: Path
    readonly: bool

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False) -> Store:
        """Open (creating or migrating) a store; refuses one newer than this code and any SQLite file that
        is not a store (the one way a store file is opened). `readonly` opens an existing store without writing anything to it (search, status)."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path} is a folder; --db takes the store's file name, e.g. {path / 'index.db'}")
        if readonly and not path.is_file():
            raise StoreError(f"no store at {path}; run `pocketclip index FOLDER --db {path}` first")
        try:
            conn = connect(path, readonly)
            existing = is_store(conn, path)
            store = cls(conn)
            store.path, store.readonly = path, readonly
            version = int(store.meta().get(K.SCHEMA_VERSION, 0) or 0) if existing else 0
            if version > SCHEMA_VERSION:
                raise StoreTooNew(f"{path}: schema version {version}; this pocketclip reads up to {SCHEMA_VERSION}")
            if readonly:
                if not existing:
                    raise NotAStore(f"{path} is empty, not a pocketclip store")
                return store
            make_writable(conn, store)
            return store
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot use the store ({exc})") from None

    # -- meta ---------------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return {row["key"]: row["value"] for row in self["meta"].rows} if self["meta"].exists() else {}

    def set_meta(self, values: dict[str, str]) -> None:
        """Write meta keys (meta_keys names only), in the caller's transaction if there is one."""
        unknown = set(values) - set(K.ALL)
        if unknown:
            raise ValueError(f"not a meta key of the store contract: {sorted(unknown)}")
        self["meta"].insert_all(({"key": key, "value": value} for key, value in values.items()), replace=True)

    def delete_meta(self, key: str) -> None:
        self.execute("DELETE FROM meta WHERE key = ?", [key])

    def bump_generation(self) -> None:
        """Raise meta `generation`; called inside the transaction of every write to photos or embeddings,
        so that a derived copy of the store is never newer-looking than what it was built from."""
        self.execute("INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET "
                     "value = CAST(value AS INTEGER) + 1", [K.GENERATION])

    def generation(self) -> int:
        row = self.execute("SELECT value FROM meta WHERE key = ?", [K.GENERATION]).fetchone()
        return int(row[0]) if row else 0

    # -- binding ------------------------------------------------------------------------------------------
    def bind_model(self, fingerprint: str, dim: int, preprocess_sha256: str, reindex: bool = False,
                   precision: str | None = None) -> None:
        """Record the store's model, preprocessing and precision, or refuse different ones: vectors of
        two models, two preprocessings or two precisions never mix (with `reindex`, drop the old vectors)."""
        meta = self.meta()
        wanted = {K.MODEL_FINGERPRINT: fingerprint, K.PREPROCESS_SHA256: preprocess_sha256, K.DIM: str(dim)}
        if precision is not None:
            wanted[K.PRECISION] = precision
        differs = [key for key, value in wanted.items() if meta.get(key) not in (None, value)]
        has_vectors = self["embeddings"].exists() and self.execute("SELECT 1 FROM embeddings LIMIT 1").fetchone()
        if differs and has_vectors:
            if not reindex:
                what = ", ".join(f"{key} {meta[key][:12]} (the bundle: {wanted[key][:12]})" for key in differs)
                raise ModelMismatch(f"the store holds vectors of another {what}; run again with --reindex to "
                                    "re-embed every photo")
            with self.atomic():  # photos stay 'ok' but have no vector: the indexer embeds them again
                self.execute("DELETE FROM embeddings")
                self.bump_generation()
        with self.atomic():
            self.set_meta(wanted)

    def bind_codebooks(self, books: Encodes | None, sha256: str | None, model: str, chunk: int = 50_000) -> int:
        """Make every stored code of `model` belong to these codebooks (None clears the codes), in one
        transaction; returns how many were re-encoded."""
        if self.meta().get(K.PQ_CODEBOOKS_SHA256) == sha256 and (sha256 is not None or not self.execute(
                "SELECT 1 FROM embeddings WHERE pq_code IS NOT NULL LIMIT 1").fetchone()):
            return 0  # (no codebooks and no codes: nothing changes, so the generation stays)
        done = 0
        with self.atomic():
            self.bump_generation()
            if books is None:
                self.execute("UPDATE embeddings SET pq_code = NULL")
                self.delete_meta(K.PQ_CODEBOOKS_SHA256)
                return 0
            last = -1
            while True:  # in chunks of photo ids, so a 1M-photo store is never all in memory twice
                rows = self.execute(f"SELECT e.photo_id, e.vector FROM embeddings e WHERE e.model = ? AND e.photo_id > ? "
                                    f"AND {VALID} ORDER BY e.photo_id LIMIT ?", [model, last, chunk]).fetchall()
                if not rows:
                    break
                blobs = books.code_blobs(from_blobs([r[1] for r in rows], books.dim))
                self.conn.executemany("UPDATE embeddings SET pq_code = ? WHERE photo_id = ? AND model = ?",
                                      [(blob, r[0], model) for blob, r in zip(blobs, rows)])
                done += len(rows)
                last = rows[-1][0]
            self.set_meta({K.PQ_CODEBOOKS_SHA256: sha256})
        return done

    # -- photos -------------------------------------------------------------------------------------------
    def photo_rows(self) -> dict[str, dict]:
        """Every photo row (any status), by stored path."""
        return {row["path"]: row for row in self["photos"].rows} if self["photos"].exists() else {}

    def ok_photo(self, photo_id: int) -> dict | None:
        """The row of an indexed ('ok') photo, or None for unknown, deleted or failed ids."""
        rows = list(self["photos"].rows_where("id = ? AND status = 'ok'", [photo_id]))
        return rows[0] if rows else None

    def ok_ids(self) -> set[int]:
        """The ids of the indexed ('ok') photos."""
        return {r[0] for r in self.execute("SELECT id FROM photos WHERE status = 'ok'")}

    def path_of(self, photo_id: int) -> str | None:
        found = self.execute("SELECT path FROM photos WHERE id = ?", [photo_id]).fetchone()
        return None if found is None else found[0]

    def ids_with_vector(self, model: str) -> set[int]:
        """The photos with a usable vector of `model` (the others are embedded again)."""
        return {r[0] for r in self.execute(f"SELECT e.photo_id FROM embeddings e WHERE e.model = ? AND {VALID}", [model])}

    def ids_with_code(self) -> set[int]:
        return {r[0] for r in self.execute("SELECT photo_id FROM embeddings WHERE pq_code IS NOT NULL")}

    def update_photo(self, photo_id: int, fields: dict) -> None:
        """Change one photo's row (a touch, a move, a restore) in its own transaction."""
        with self.atomic():
            self["photos"].update(photo_id, fields)
            self.bump_generation()

    def write_batch(self, model: str, photos: list[tuple[int | None, dict, bytes | None, bytes | None]],
                    meta: dict[str, str | None] | None = None) -> None:
        """One batch of decoded photos in one transaction, so a kill loses at most this batch, never half of
        it: (existing id or None, the photo's row, its vector blob or None for an error, its pq_code); `meta`
        keys are set (None: removed) in the same transaction."""
        with self.atomic():
            for key, value in (meta or {}).items():
                if value is None:
                    self.delete_meta(key)
                else:
                    self.set_meta({key: value})
            for photo_id, record, vector, code in photos:
                if photo_id is not None:
                    self["photos"].update(photo_id, record)
                else:
                    photo_id = self["photos"].insert(record).last_pk
                if vector is None:
                    self.execute("DELETE FROM embeddings WHERE photo_id = ?", [photo_id])
                else:
                    self["embeddings"].insert({"photo_id": photo_id, "model": model, "vector": vector,
                                               "pq_code": code}, replace=True)
            self.bump_generation()

    def mark_deleted(self, photo_ids: list[int], stamp: str) -> None:
        """Photos gone from the folder: status 'deleted' as of `stamp`; their vectors stay, as tombstones."""
        if not photo_ids:
            return
        with self.atomic():
            for photo_id in photo_ids:
                self["photos"].update(photo_id, {"status": "deleted", "indexed_at": stamp})
            self.bump_generation()

    def purge_tombstones(self, before: str) -> int:
        """Remove the photos marked deleted before `before` (ISO 8601 UTC), rows and vectors; how many."""
        with self.atomic():
            ids = [r[0] for r in self.execute("SELECT id FROM photos WHERE status = 'deleted' AND indexed_at < ?",
                                               [before])]
            if ids:
                marks = ", ".join("?" * len(ids))
                self.execute(f"DELETE FROM embeddings WHERE photo_id IN ({marks})", ids)
                self.execute(f"DELETE FROM photos WHERE id IN ({marks})", ids)
                self.bump_generation()
        return len(ids)

    def clear_meta(self, key: str) -> None:
        """Remove one meta key in its own transaction, if it is there."""
        if key in self.meta():
            with self.atomic():
                self.delete_meta(key)

    # -- what searches read -------------------------------------------------------------------------------
    def searchable_count(self, model: str) -> int:
        return self.execute(f"SELECT count(*) {SEARCHABLE}", [model]).fetchone()[0]

    def photo_vector(self, model: str, photo_id: int) -> np.ndarray | None:
        """The stored vector of one 'ok' photo (float32), or None."""
        row = self.execute(f"SELECT e.vector {SEARCHABLE} AND p.id = ?", [model, photo_id]).fetchone()
        return None if row is None else from_blobs([row[0]], len(row[0]) // 2)[0]

    def content_hashes(self) -> dict[int, str | None]:
        """The content hash of every indexed ('ok') photo, by id."""
        return dict(self.execute("SELECT id, content_hash FROM photos WHERE status = 'ok'").fetchall()) \
            if self["photos"].exists() else {}

    def facts_rows(self, ids: np.ndarray) -> list[tuple]:
        """(path, taken_at, latitude, longitude, place_city, place_region, place_country, camera_make, camera_model,
        format) of each photo id in `ids` (ids of 'ok' photos, ascending), in that order."""
        columns = "path, taken_at, latitude, longitude, place_city, place_region, place_country, camera_make, " \
            "camera_model, format" if self.has_facts() else "path" + ", NULL" * 9  # a store of schema 1, read-only
        rows = self.execute(f"SELECT id, {columns} FROM photos WHERE status = 'ok' ORDER BY id").fetchall()
        found = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        at = np.searchsorted(found, ids)
        if len(ids) and (at.max() >= len(found) or not np.array_equal(found[at], ids)):
            raise StoreError("the store changed while its search index was read; search again")
        return [rows[i][1:] for i in at.tolist()]

    def _facts_counts(self) -> dict:
        """Of the 'ok' photos: dated by their EXIF, with a GPS position, and those whose facts were never read."""
        if not self["photos"].exists() or not self.has_facts():
            return {}
        row = self.execute("SELECT count(CASE WHEN taken_source = 'exif' THEN 1 END), count(latitude), "
                           "count(CASE WHEN taken_source IS NULL THEN 1 END) FROM photos WHERE status = 'ok'").fetchone()
        return {"dated_by_exif": row[0], "with_gps": row[1], "facts_unread": row[2]}

    def forget_facts(self) -> None:
        """Empty every row's facts, as a store migrated from schema 1 has them (the conformance runner's
        `forget_facts` event; the next index run reads them again, R22)."""
        with self.atomic():
            self.execute(f"UPDATE photos SET {', '.join(f'{c} = NULL' for c in FACT_COLUMNS)}")
            self.bump_generation()

    def has_facts(self) -> bool:
        """Whether the photos table has the facts columns (a store of schema 1 opened read-only has not)."""
        return "taken_at" in self["photos"].columns_dict

    def photo_facts(self, ids: list[int]) -> dict[int, dict]:
        """The date taken and place of some photos (what a hit shows), by id."""
        found = {}
        for part in range(0, len(ids) if self.has_facts() else 0, 500):
            chunk = ids[part:part + 500]
            for row in self.execute(f"SELECT id, taken_at, taken_offset, place_city, place_region, place_country, "
                                    f"camera_make, camera_model FROM photos WHERE id IN ({', '.join('?' * len(chunk))})",
                                    chunk):
                found[row[0]] = {"taken_at": row[1], "taken_offset": row[2],
                                 "place": ", ".join(p for p in row[3:6] if p) or None,
                                 "camera": " ".join(p for p in row[6:8] if p) or None}
        return found

    def search_arrays(self, model: str, with_codes: bool = True) -> copy.StoreArrays:
        """The search arrays of `model` read from SQLite into memory (what a search does without a copy)."""
        return copy.read_arrays(self, model, with_codes)

    def open_copy(self, model: str) -> copy.StoreArrays | None:
        """The memory-mapped copy beside the store, if it is of the store's current generation."""
        return copy.open_copy(self, model)

    def write_copy(self, model: str) -> Path:
        """Build the memory-mappable copy of the current generation (the caller holds the writer lock)."""
        return copy.write_copy(self, model)

    def status(self) -> dict:
        """Counts of ok / error / deleted photos and PQ codes, the model, the root and the store's size."""
        meta = self.meta()
        has_photos, has_vectors = self["photos"].exists(), self["embeddings"].exists()
        counts = dict(self.execute("SELECT status, count(*) FROM photos GROUP BY status").fetchall()) \
            if has_photos else {}
        codes = self.execute("SELECT count(*) FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                             "WHERE e.pq_code IS NOT NULL AND p.status = 'ok'").fetchone()[0] if has_vectors else 0
        unusable = self.execute("SELECT count(*) FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE "
                                f"p.status = 'ok' AND NOT ({VALID})").fetchone()[0] if has_vectors else 0
        files = [self.path, Path(f"{self.path}-wal")]
        return {"ok": counts.get("ok", 0), "error": counts.get("error", 0), "deleted": counts.get("deleted", 0),
                "fingerprint": meta.get(K.MODEL_FINGERPRINT),
                "bytes": sum(f.stat().st_size for f in files if f.exists()),
                "root": meta.get(K.ROOT), "pq_codes": codes, "pq_codebooks_sha256": meta.get(K.PQ_CODEBOOKS_SHA256),
                "unusable_vectors": unusable, **self._facts_counts(),
                "last_indexed": self.execute("SELECT max(indexed_at) FROM photos").fetchone()[0]
                if has_photos else None}

