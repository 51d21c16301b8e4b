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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pocketclip.runtime.facts.photo_facts import Facts, read_facts
from pocketclip.runtime.indexing.decode import (
    ENVIRONMENT_ERRNOS,
    DecodeError,
    content_hash,
    load_photo,
    read_file,
    unavailable,
)
from pocketclip.runtime.indexing.raw import is_raw
from pocketclip.runtime.indexing.walk import PhotoFile, Skipped, walk_photos


# Above this size a file is hashed as a stream and decoded from disk (two reads) rather than held in memory.
MAX_READ_BYTES = 256 << 20


@dataclass
class Loaded:
    """One read of a photo: its content hash (None if the read failed), and when asked for, its pixels."""
    digest: str | None
    pixels: np.ndarray | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None  # the read's or the decode's reason
    bytes_read: int = 0
    facts: Facts | None = None  # what the photo says about itself (R21), read with the pixels or when asked (R22)


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

    def load(self, photo: PhotoFile, spec: Mapping, draft: bool, wanted: Callable[[str], bool],
             facts: bool = False) -> Loaded:
        """One read: the photo's content hash, and its pixels and facts from the same bytes when `wanted(hash)`
        (its facts alone when `facts`)."""


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

    def load(self, photo: PhotoFile, spec: Mapping, draft: bool, wanted: Callable[[str], bool],
             facts: bool = False) -> Loaded:
        """The bytes are read once and both hashed and decoded (a file over MAX_READ_BYTES: hashed as a stream,
        decoded from disk, so memory stays bounded)."""
        if photo.size > MAX_READ_BYTES:
            try:
                digest = self.content_hash(photo)
            except DecodeError as exc:
                return Loaded(None, error=str(exc))
            return decode_if(digest, wanted, lambda: self.decode(photo, spec, draft), photo.size * 2,
                             photo_facts(photo, photo.absolute), facts)
        try:
            data = read_file(photo.absolute)
        except OSError as exc:
            return Loaded(None, error=str(unavailable(exc) if exc.errno in ENVIRONMENT_ERRNOS else DecodeError(exc)))
        return decode_if(hash_bytes(data), wanted, lambda: load_photo(data, spec, draft, name=photo.path), len(data),
                         photo_facts(photo, data), facts)


def photo_facts(photo: PhotoFile, source: bytes | Path) -> Callable[[], Facts]:
    """How to read a photo's facts from the bytes (or the file) a load holds."""
    return lambda: read_facts(source, photo.mtime_ns, is_raw(photo.path))


def load_in_parts(source: PhotoSource, photo: PhotoFile, spec: Mapping, draft: bool,
                  wanted: Callable[[str], bool], facts: Callable[[], Facts] | None = None,
                  facts_wanted: bool = False) -> Loaded:
    """PhotoSource.load from a source's content_hash and decode (two reads): for a source whose reads are cheap
    or that has no way to decode bytes it already holds."""
    try:
        digest = source.content_hash(photo)
    except DecodeError as exc:
        return Loaded(None, error=str(exc))
    return decode_if(digest, wanted, lambda: source.decode(photo, spec, draft), photo.size, facts, facts_wanted)


def decode_if(digest: str, wanted: Callable[[str], bool], decode: Callable[[], tuple[np.ndarray, int, int]],
              bytes_read: int, facts: Callable[[], Facts] | None = None, facts_wanted: bool = False) -> Loaded:
    """A read photo's Loaded: decoded by `decode` only when `wanted(digest)`, its facts read when it decoded
    or `facts_wanted` (R21, R22)."""
    if not wanted(digest):
        return Loaded(digest, bytes_read=bytes_read, facts=facts() if facts and facts_wanted else None)
    try:
        pixels, width, height = decode()
    except DecodeError as exc:
        return Loaded(digest, error=str(exc), bytes_read=bytes_read)
    return Loaded(digest, pixels, width, height, bytes_read=bytes_read, facts=facts() if facts else None)
