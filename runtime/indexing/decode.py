"""Reading photos: the content hash of a file, and the one guarded way a picture is opened and decoded.

Every exception a decoder raises (OSError, EOFError, RuntimeError, struct.error, MemoryError, ...)
becomes DecodeError with a one-line reason (one photo's failure, never the run's); KeyboardInterrupt and
SystemExit pass. Pillow's
decompression-bomb limit (Image.MAX_IMAGE_PIXELS, ~89 Mpx) bounds the pixels we decode; a JPEG in
draft mode decodes at a reduced scale, so JPEGs up to MAX_PHOTO_PIXELS (panoramas, 200 Mpx sensors)
are read, as long as the reduced decode is within Pillow's limit. The indexer, the web page's
thumbnails and uploads, parity and the training loaders all open pictures through `open_photo`.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from pocketclip.runtime.bundle.preprocess import preprocess_image
from pocketclip.runtime.indexing.raw import RawError, is_raw, open_raw
from pocketclip.runtime.indexing.walk import NotRegularFile, check_regular
from pocketclip.runtime.one_line import one_line

DRAFT_FACTOR = 2  # JPEG draft decoding keeps the shorter side >= 2x the model input
MAX_PHOTO_PIXELS = 200_000_000


UNAVAILABLE = "unavailable: "  # how an environment error's reason starts in the store (docs/conformance.md, R11)
# errno values that say the file could not be had, not that its content is bad
ENVIRONMENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOENT, errno.EIO, errno.ENXIO, errno.ESTALE, errno.ETIMEDOUT,
                      errno.EAGAIN, errno.EBUSY, errno.ENODEV, errno.ENOTCONN}


class DecodeError(Exception):
    """A file could not be turned into a photo; the message is the one-line reason."""


class PhotoUnavailable(DecodeError):
    """The photo could not be read now (permission, I/O, vanished, only in the cloud): an environment
    error, tried again on the next run, where a DecodeError waits for the content to change."""


def unavailable(exc: OSError) -> PhotoUnavailable:
    """The environment error for an OSError that says the file could not be had."""
    reason = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.ENOENT: "the file vanished"}.get(exc.errno, exc.strerror or "I/O error")
    return PhotoUnavailable(UNAVAILABLE + reason)


def read_file(path: Path) -> bytes:
    """A photo file's bytes, read once, with the checks content_hash makes (a regular file, before and after
    it is opened); OSError as the read raised it."""
    check_regular(os.stat(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        check_regular(os.fstat(fd))
        return f.read()


def content_hash(path: Path) -> str:
    check_regular(os.stat(path))
    # O_NONBLOCK: should a FIFO be swapped in after the check, open returns instead of waiting.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        check_regular(os.fstat(fd))
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


def _open_unlimited(source: Path | io.BytesIO) -> tuple[Image.Image, int | None]:
    """(image with only its header read, Pillow's limit): the caller checks the size itself."""
    with _limit_lock:
        limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(source), limit
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def open_photo(source: Path | bytes, shorter_side: int | None = None) -> Image.Image:
    """A photo file (or its encoded bytes) decoded, with every bound checked before its pixels are made;
    a JPEG whose shorter side is at least twice `shorter_side` decodes at a reduced DCT scale that keeps
    it >= `shorter_side`. DecodeError with the reason for anything that is not a readable picture."""
    return _open_bounded(source, shorter_side)[0]


def _open_bounded(source: Path | bytes, shorter_side: int | None, name: str | None = None
                  ) -> tuple[Image.Image, int, int]:
    """open_photo, with the photo's own width and height (before any reduced-scale decode). `name`: the file
    name of `source`'s bytes, which tells a camera RAW (by its suffix) from what Pillow reads."""
    _register_heif()
    flip = None
    try:
        if is_raw(name or (str(source) if isinstance(source, Path) else "")):
            if not isinstance(source, bytes):
                check_regular(os.stat(source))
                source = source.read_bytes()
            image, width, height, flip = open_raw(source, shorter_side, MAX_PHOTO_PIXELS)
            limit = Image.MAX_IMAGE_PIXELS
        elif isinstance(source, bytes):
            image, limit = _open_unlimited(io.BytesIO(source))
            width, height = image.size
        else:
            check_regular(os.stat(source))
            image, limit = _open_unlimited(source)
            width, height = image.size
        try:
            if width * height > MAX_PHOTO_PIXELS:
                raise DecodeError(f"decompression bomb refused ({width}x{height} pixels, over the "
                                  f"{MAX_PHOTO_PIXELS // 1_000_000} Mpx limit)")
            if shorter_side and image.format == "JPEG":
                w, h = image.size  # a RAW's preview may be smaller than the RAW
                scale = min(w, h) / shorter_side
                if scale >= 2:
                    image.draft("RGB", (int(w / scale) + 1, int(h / scale) + 1))
            decoded = image.size[0] * image.size[1]
            if limit is not None and decoded > limit:
                raise DecodeError(f"decompression bomb refused ({width}x{height} pixels decode to {decoded}, "
                                  f"over Pillow's limit of {limit})")
            image.load()
            if flip is not None:
                upright = image.transpose(flip)
                image.close()
                image = upright
            return image, width, height
        except BaseException:
            image.close()
            raise
    except DecodeError:
        raise
    except MemoryError:  # one photo's failure, never the run's: its row records it
        raise DecodeError("out of memory decoding this photo") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecodeError(f"decompression bomb refused ({one_line(exc, 200)})") from exc
    except (NotRegularFile, RawError) as exc:
        raise DecodeError(str(exc)) from None
    except UnidentifiedImageError:
        raise DecodeError("not an image Pillow can read") from None
    except OSError as exc:
        if exc.errno in ENVIRONMENT_ERRNOS:  # Pillow's own decode errors carry no errno
            raise unavailable(exc) from None
        raise DecodeError(f"cannot decode: {one_line(exc, 200)}") from exc
    except (SyntaxError, ValueError) as exc:
        raise DecodeError(f"cannot decode: {one_line(exc, 200)}") from exc
    except Exception as exc:  # decoders raise what they like (EOFError, RuntimeError, struct.error, ...)
        raise DecodeError(f"cannot decode: {type(exc).__name__}: {one_line(exc, 200)}") from exc


def load_photo(source: Path | bytes, spec: Mapping, draft: bool = True,
               finish: Callable[[Image.Image], np.ndarray] | None = None, name: str | None = None
               ) -> tuple[np.ndarray, int, int]:
    """(preprocessed pixels, width, height) of a photo file or its encoded bytes (an upload, a tar member
    of a training shard), or DecodeError with the reason. `finish` replaces preprocess_image on the
    decoded picture (training's random crops). `draft`: JPEGs decode at the smallest DCT scale that keeps
    the shorter side >= DRAFT_FACTOR x the model input, so resizing still averages. `name`: the file name of
    `source`'s bytes (a RAW is known by its suffix)."""
    image, width, height = _open_bounded(source, DRAFT_FACTOR * int(spec["size"]) if draft else None, name)
    try:
        with image:
            return (finish(image) if finish else preprocess_image(image, spec)), width, height
    except MemoryError:
        raise DecodeError("out of memory preprocessing this photo") from None
    except Exception as exc:  # preprocessing a decoded picture can still fail (a mode Pillow cannot convert)
        raise DecodeError(f"cannot decode: {type(exc).__name__}: {one_line(exc, 200)}") from exc
