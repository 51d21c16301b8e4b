"""The SQLite store Python and the phones share: `Store` owns every SQL statement of the package.
May import numpy, sqlite-utils and the standard library only (it is the ground floor, beside bundle/)."""
from pocketclip.runtime.store.blobs import as_stored, from_blobs, now, to_blob
from pocketclip.runtime.store.copy import StoreArrays
from pocketclip.runtime.store.errors import ModelMismatch, NotAStore, StoreError, StoreLocked, StoreTooNew
from pocketclip.runtime.store.lock import lock_writer
from pocketclip.runtime.store.store import Store

__all__ = ["ModelMismatch", "NotAStore", "Store", "StoreArrays", "StoreError", "StoreLocked", "StoreTooNew", "as_stored",
           "from_blobs", "lock_writer", "now", "to_blob"]
