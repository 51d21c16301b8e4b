"""Finding photos in a folder, and the one mapping between a file's name and its path in the store.

Paths in the store: relative to the indexed root, '/'-separated, TEXT. SQLite text is UTF-8 but a
POSIX file name is bytes, so `path_to_store` keeps a path whose bytes are valid UTF-8 as it is and
writes any other as BYTES_PREFIX + the path with every byte that is not part of valid UTF-8 as %XX
and every '%' as %25: b"bad_\\xff.jpg" -> ".bytes:bad_%FF.jpg". A valid path that starts with
BYTES_PREFIX is escaped the same way, so the mapping is one-to-one (walk_photos never yields one: it
skips hidden names). `path_from_store` gives back the exact bytes, as the str Python opens files by.

Only regular files are opened: a FIFO would block forever, a device may have side effects.
walk_photos passes over FIFOs, sockets, devices and links that dangle or loop, and reports them
(with folders it could not list) in its `skipped` list; the decoder (decode.py) refuses them too, for
the paths that reach it another way (`search --image`, a file swapped after the walk).
"""
from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pocketclip.runtime.indexing.raw import RAW_SUFFIXES
from pocketclip.runtime.one_line import one_line

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif",
                  *RAW_SUFFIXES}
# Folders that OSes, NAS boxes and photo tools fill with thumbnails and metadata, not photos.
SKIP_DIRS = {"@eaDir", ".thumbnails", "__MACOSX", ".AppleDouble", ".Trashes", ".Spotlight-V100", ".fseventsd",
             "$RECYCLE.BIN", "System Volume Information", "lost+found"}
SKIP_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
BYTES_PREFIX = ".bytes:"
_ESCAPE = re.compile(r"%([0-9A-F]{2})")


class NotRegularFile(OSError):
    """A FIFO, socket, device or folder where a photo file was expected: never opened."""


@dataclass(frozen=True)
class PhotoFile:
    path: str  # relative to the indexed root, '/'-separated, as stored (path_to_store)
    absolute: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    path: str  # as stored; '' is the root itself
    reason: str
    folder: bool  # a folder that could not be listed: what it holds is unknown, not gone


def path_to_store(relative: str | bytes) -> str:
    """The store's text for a relative path (bytes, or a str as os.fsdecode gives it)."""
    raw = os.fsencode(relative)
    try:
        text = raw.decode("utf-8")
        if not text.startswith(BYTES_PREFIX):
            return text
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "surrogateescape")
    escaped = (f"%{ord(c) - 0xDC00:02X}" if 0xDC80 <= ord(c) <= 0xDCFF else "%25" if c == "%" else c for c in text)
    return BYTES_PREFIX + "".join(escaped)


def path_from_store(stored: str) -> str:
    """The relative path to open for a stored one; os.fsencode of it gives the file name's exact bytes."""
    if not stored.startswith(BYTES_PREFIX):
        return stored
    text = _ESCAPE.sub(lambda m: chr(int(m[1], 16) + (0xDC00 if int(m[1], 16) >= 0x80 else 0)),
                       stored[len(BYTES_PREFIX):])
    return os.fsdecode(text.encode("utf-8", "surrogateescape"))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "unknown kind"


def stored_file(root: str | Path, stored: str) -> Path:
    """The file of a stored path under the library's root (the exact bytes of its name): the one way a
    stored path becomes a file path."""
    return Path(root) / path_from_store(stored)


def walk_photos(root: str | Path, skipped: list[Skipped] | None = None) -> Iterator[PhotoFile]:
    """Photo files under `root` in sorted order; hidden files and OS metadata skipped.

    Symlinked folders are never entered (no loops, no escaping the root); a symlinked file counts
    only if it resolves to a file inside the root. What could not be looked at goes to `skipped`.
    """
    skipped = [] if skipped is None else skipped
    try:
        root = Path(root).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        skipped.append(Skipped("", one_line(exc, 200), True))
        return

    def unlisted(exc: OSError) -> None:
        try:
            folder = Path(exc.filename).relative_to(root).as_posix()
        except (TypeError, ValueError):  # no name, or not under the root: take the root as unreadable
            folder = "."
        skipped.append(Skipped(path_to_store("" if folder == "." else folder), exc.strerror or one_line(exc, 200), True))

    # String paths and os calls, not pathlib, per file: a no-change re-index is mostly this walk.
    for dirpath, dirnames, filenames in os.walk(root, onerror=unlisted, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        folder = os.path.relpath(dirpath, root)
        prefix = "" if folder == "." else folder.replace(os.sep, "/") + "/"
        for name in sorted(filenames):
            if name.startswith(".") or name in SKIP_FILES or os.path.splitext(name)[1].lower() not in PHOTO_SUFFIXES:
                continue
            full = os.path.join(dirpath, name)
            relative = path_to_store(prefix + name)
            try:
                info = os.lstat(full)
                if stat.S_ISLNK(info.st_mode):
                    target = Path(full).resolve(strict=True)
                    if not target.is_relative_to(root):
                        continue  # the root's contents are what is indexed, not what links point at
                    info = target.stat()
            except (OSError, RuntimeError) as exc:  # Python < 3.13 reports a link loop as RuntimeError
                if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
                    reason = "link loops"
                elif isinstance(exc, FileNotFoundError) and os.path.islink(full):
                    reason = "broken link"
                else:
                    reason = exc.strerror or one_line(exc, 200)
                skipped.append(Skipped(relative, reason, False))
                continue
            if not stat.S_ISREG(info.st_mode):
                skipped.append(Skipped(relative, f"not a regular file ({_kind(info.st_mode)})", False))
                continue
            yield PhotoFile(relative, Path(full), info.st_size, info.st_mtime_ns)


def check_regular(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(f"not a regular file ({_kind(info.st_mode)})")
