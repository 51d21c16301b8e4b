"""The store's named errors: each says what cannot be done with the store and what to do instead."""


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
