"""Finding photos in a folder and decoding them, with a one-line reason for every file that fails."""
from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator, Mapping
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


class DecodeError(Exception):
    """A file could not be turned into a photo; the message is the one-line reason."""


@dataclass(frozen=True)
class PhotoFile:
    path: str  # relative to the indexed root, '/'-separated
    absolute: Path
    size: int
    mtime_ns: int


def walk_photos(root: str | Path) -> Iterator[PhotoFile]:
    """Photo files under `root` in sorted order; hidden files and OS metadata skipped.

    Symlinked folders are never entered (no loops, no escaping the root); a symlinked file counts
    only if it resolves to a file inside the root.
    """
    root = Path(root).resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.startswith(".") or name in SKIP_FILES or Path(name).suffix.lower() not in PHOTO_SUFFIXES:
                continue
            path = Path(dirpath) / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_file() or not target.is_relative_to(root):
                    continue
            try:
                stat = path.stat()
            except OSError:
                continue
            yield PhotoFile(path.relative_to(root).as_posix(), path, stat.st_size, stat.st_mtime_ns)


def content_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def load_photo(path: Path, spec: Mapping, draft: bool = True) -> tuple[np.ndarray, int, int]:
    """(preprocessed pixels, width, height) of a photo file, or DecodeError with the reason."""
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if draft and image.format == "JPEG":
                    # Decode at a reduced DCT scale when the photo is much larger than the model
                    # input: the shorter side stays >= DRAFT_FACTOR x size, so resizing still averages.
                    scale = min(width, height) / (DRAFT_FACTOR * int(spec["size"]))
                    if scale >= 2:
                        image.draft("RGB", (int(width / scale) + 1, int(height / scale) + 1))
                image.load()
                return preprocess_image(image, spec), width, height
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"decompression bomb refused ({exc})") from exc
    except Image.DecompressionBombWarning as exc:
        raise DecodeError(f"decompression bomb refused ({exc})") from exc
    except UnidentifiedImageError:
        raise DecodeError("not an image Pillow can read") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DecodeError(f"cannot decode: {exc}") from exc
