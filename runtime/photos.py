"""Finding photos in a folder and decoding them, with a one-line reason for every file that fails.

Paths in the store: relative to the indexed root, '/'-separated, TEXT. SQLite text is UTF-8 but a
POSIX file name is bytes, so `path_to_store` keeps a path whose bytes are valid UTF-8 as it is and
writes any other as BYTES_PREFIX + the path with every byte that is not part of valid UTF-8 as %XX
and every '%' as %25: b"bad_\\xff.jpg" -> ".bytes:bad_%FF.jpg". A valid path that starts with
BYTES_PREFIX is escaped the same way, so the mapping is one-to-one (walk_photos never yields one: it
skips hidden names). `path_from_store` gives back the exact bytes, as the str Python opens files by.

Only regular files are opened: a FIFO would block forever, a device may have side effects.
walk_photos passes over FIFOs, sockets, devices and links that dangle or loop, and reports them
(with folders it could not list) in its `skipped` list; load_photo and content_hash refuse them too,
for the paths that reach them another way (`search --image`, a file swapped after the walk).

Decoding: every exception a decoder raises (OSError, EOFError, RuntimeError, struct.error, ...)
becomes DecodeError with a one-line reason; MemoryError, KeyboardInterrupt and SystemExit pass.
Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS, ~89 Mpx) bounds the pixels we decode; a
JPEG in draft mode decodes at a reduced scale, so JPEGs up to MAX_PHOTO_PIXELS (panoramas, 200 Mpx
sensors) are read, as long as the reduced decode is within Pillow's limit.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from pocketclip.runtime.preprocess import preprocess_image

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif"}
# Folders that OSes, NAS boxes and photo tools fill with thumbnails and metadata, not photos.
SKIP_DIRS = {"@eaDir", ".thumbnails", "__MACOSX", ".AppleDouble", ".Trashes", ".Spotlight-V100", ".fseventsd",
             "$RECYCLE.BIN", "System Volume Information", "lost+found"}
SKIP_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
DRAFT_FACTOR = 2  # JPEG draft decoding keeps the shorter side >= 2x the model input
MAX_PHOTO_PIXELS = 200_000_000
BYTES_PREFIX = ".bytes:"
_ESCAPE = re.compile(r"%([0-9A-F]{2})")


class DecodeError(Exception):
    """A file could not be turned into a photo; the message is the one-line reason."""


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


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return text or type(exc).__name__


def walk_photos(root: str | Path, skipped: list[Skipped] | None = None) -> Iterator[PhotoFile]:
    """Photo files under `root` in sorted order; hidden files and OS metadata skipped.

    Symlinked folders are never entered (no loops, no escaping the root); a symlinked file counts
    only if it resolves to a file inside the root. What could not be looked at goes to `skipped`.
    """
    skipped = [] if skipped is None else skipped
    try:
        root = Path(root).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        skipped.append(Skipped("", _reason(exc), True))
        return

    def unlisted(exc: OSError) -> None:
        try:
            folder = Path(exc.filename).relative_to(root).as_posix()
        except (TypeError, ValueError):  # no name, or not under the root: take the root as unreadable
            folder = "."
        skipped.append(Skipped(path_to_store("" if folder == "." else folder), exc.strerror or _reason(exc), True))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlisted, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.startswith(".") or name in SKIP_FILES or Path(name).suffix.lower() not in PHOTO_SUFFIXES:
                continue
            path = Path(dirpath) / name
            relative = path_to_store(path.relative_to(root).as_posix())
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    target = path.resolve(strict=True)
                    if not target.is_relative_to(root):
                        continue  # the root's contents are what is indexed, not what links point at
                    info = target.stat()
            except (OSError, RuntimeError) as exc:  # Python < 3.13 reports a link loop as RuntimeError
                if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
                    reason = "link loops"
                elif isinstance(exc, FileNotFoundError) and path.is_symlink():
                    reason = "broken link"
                else:
                    reason = exc.strerror or _reason(exc)
                skipped.append(Skipped(relative, reason, False))
                continue
            if not stat.S_ISREG(info.st_mode):
                skipped.append(Skipped(relative, f"not a regular file ({_kind(info.st_mode)})", False))
                continue
            yield PhotoFile(relative, path, info.st_size, info.st_mtime_ns)


def _check_regular(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(f"not a regular file ({_kind(info.st_mode)})")


def content_hash(path: Path) -> str:
    _check_regular(os.stat(path))
    # O_NONBLOCK: should a FIFO be swapped in after the check, open returns instead of waiting.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        _check_regular(os.fstat(fd))
        h = hashlib.blake2b(digest_size=16)
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_heif_registered = False
# Pillow reads its bomb limit from a module global while opening; ours is raised only for our opens.
_limit_lock = threading.Lock()


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def _open_unlimited(path: Path | io.BytesIO) -> tuple[Image.Image, int | None]:
    """(image with only its header read, Pillow's limit): the caller checks the size itself."""
    with _limit_lock:
        limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path), limit
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def load_photo(path: Path, spec: Mapping, draft: bool = True) -> tuple[np.ndarray, int, int]:
    """(preprocessed pixels, width, height) of a photo file, or DecodeError with the reason."""
    def open_file() -> tuple[Image.Image, int | None]:
        _check_regular(os.stat(path))
        return _open_unlimited(path)
    return _decode(open_file, spec, draft)


def decode_photo_bytes(data: bytes, spec: Mapping, draft: bool = True,
                       finish: Callable[[Image.Image], np.ndarray] | None = None) -> tuple[np.ndarray, int, int]:
    """The same as load_photo for an encoded image held in memory (a tar member in a training shard).
    `finish` replaces preprocess_image on the decoded picture (training's random crops)."""
    return _decode(lambda: _open_unlimited(io.BytesIO(data)), spec, draft, finish)


def _decode(open_image: Callable[[], tuple[Image.Image, int | None]], spec: Mapping, draft: bool,
            finish: Callable[[Image.Image], np.ndarray] | None = None) -> tuple[np.ndarray, int, int]:
    _register_heif()
    try:
        image, limit = open_image()
        with image:
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise DecodeError(f"decompression bomb refused ({width}x{height} pixels, over the "
                                  f"{MAX_PHOTO_PIXELS // 1_000_000} Mpx limit)")
            if draft and image.format == "JPEG":
                # Decode at a reduced DCT scale when the photo is much larger than the model
                # input: the shorter side stays >= DRAFT_FACTOR x size, so resizing still averages.
                scale = min(width, height) / (DRAFT_FACTOR * int(spec["size"]))
                if scale >= 2:
                    image.draft("RGB", (int(width / scale) + 1, int(height / scale) + 1))
            decoded = image.size[0] * image.size[1]
            if limit is not None and decoded > limit:
                raise DecodeError(f"decompression bomb refused ({width}x{height} pixels decode to {decoded}, "
                                  f"over Pillow's limit of {limit})")
            image.load()
            return (finish(image) if finish else preprocess_image(image, spec)), width, height
    except (DecodeError, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecodeError(f"decompression bomb refused ({_reason(exc)})") from exc
    except NotRegularFile as exc:
        raise DecodeError(str(exc)) from None
    except UnidentifiedImageError:
        raise DecodeError("not an image Pillow can read") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except FileNotFoundError:
        raise DecodeError("no such file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DecodeError(f"cannot decode: {_reason(exc)}") from exc
    except Exception as exc:  # decoders raise what they like (EOFError, RuntimeError, struct.error, ...)
        raise DecodeError(f"cannot decode: {type(exc).__name__}: {_reason(exc)}") from exc
