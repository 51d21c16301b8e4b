"""Where the indexer's photos come from: a `PhotoSource` lists them, hashes them and decodes them.

The indexer (indexer.py) never touches a file itself, so the same indexing rules run on a folder of
files (`FolderSource`, the desktop), on a phone's photo library (the Kotlin and Swift cores have their
own sources) and on the virtual galleries of the conformance scenarios (conformance/runner.py).

Failures come in two kinds (docs/conformance.md, R10 and R11): `DecodeError` for the content (tried
again only when the file changes) and `PhotoUnavailable` for the environment (permission, I/O, a file
that vanished while read, a photo only in the cloud: tried again on every run).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import numpy as np

from pocketclip.runtime.indexing.decode import (
    ENVIRONMENT_ERRNOS,
    DecodeError,
    content_hash,
    load_photo,
    unavailable,
)
from pocketclip.runtime.indexing.walk import PhotoFile, Skipped, walk_photos


def hash_bytes(data: bytes) -> str:
    """The content hash of a photo's bytes (R3): BLAKE2b, 16-byte digest, 32 hex digits."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class PhotoSource(Protocol):
    """A library of photos as the indexer sees it."""

    root: str  # what meta `root` records: the folder, or the phone library's name
    partial: bool  # only part of the library is visible (partial photo access, R14)

    def list(self, skipped: list[Skipped]) -> list[PhotoFile]:
        """The photos, in sorted path order; what could not be looked at goes to `skipped`."""

    def root_problem(self, photos: list[PhotoFile], skipped: list[Skipped]) -> str | None:
        """Why the library cannot be indexed at all (gone, unreadable, empty), or None."""

    def content_hash(self, photo: PhotoFile) -> str:
        """hash_bytes of the photo's bytes; PhotoUnavailable when it cannot be read."""

    def decode(self, photo: PhotoFile, spec: Mapping, draft: bool) -> tuple[np.ndarray, int, int]:
        """(pixels, width, height); DecodeError for the content, PhotoUnavailable for the environment."""


class FolderSource:
    """The photo files under a folder (walk.py's rules), read from disk."""

    partial = False

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.root = str(self.folder)

    def list(self, skipped: list[Skipped]) -> list[PhotoFile]:
        return list(walk_photos(self.folder, skipped))

    def root_problem(self, photos: list[PhotoFile], skipped: list[Skipped]) -> str | None:
        unreadable = next((item.reason for item in skipped if item.folder and not item.path), None)
        try:
            exists, is_dir = self.folder.exists(), self.folder.is_dir()
        except OSError as exc:  # a parent folder we may not search
            exists, is_dir, unreadable = True, True, exc.strerror or str(exc)
        if not exists:
            return "does not exist (not mounted?)"
        if not is_dir:
            return "is not a folder"
        if unreadable is not None:
            return f"cannot be read ({unreadable})"
        if not photos and not any(item.folder for item in skipped):
            return "holds no photo file"
        return None

    def content_hash(self, photo: PhotoFile) -> str:
        try:
            return content_hash(photo.absolute)
        except OSError as exc:
            if exc.errno in ENVIRONMENT_ERRNOS:
                raise unavailable(exc) from None
            raise DecodeError(str(exc)) from None

    def decode(self, photo: PhotoFile, spec: Mapping, draft: bool) -> tuple[np.ndarray, int, int]:
        return load_photo(photo.absolute, spec, draft)
