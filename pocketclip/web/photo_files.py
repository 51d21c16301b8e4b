"""The library's photo files as the page sees them: found by store id only, served only from inside the
library's root, and shrunk to EXIF-oriented JPEG thumbnails cached on disk.

No request ever names a file: the id picks a row of the store, the row's status must be 'ok', and the
file it names must resolve (symlinks followed) to a regular file inside the root.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from pocketclip.runtime.indexing.decode import open_photo
from pocketclip.runtime.indexing.walk import stored_file
from pocketclip.runtime.store import Store

THUMB_PX = 320  # the longer side: sharp in a ~160 px grid cell on a 2x screen
THUMB_QUALITY = 82
BROWSER_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                 ".gif": "image/gif", ".bmp": "image/bmp"}  # the rest (HEIC, TIFF) is converted to JPEG


@dataclass(frozen=True)
class PhotoRow:
    id: int
    path: str  # relative to the root, '/'-separated
    size: int | None
    mtime_ns: int | None
    content_hash: str | None


def photo_row(store: Store, photo_id: int) -> PhotoRow | None:
    """The store's row of an indexed ('ok') photo, or None for unknown, deleted or failed ids."""
    row = store.ok_photo(photo_id)
    return None if row is None else PhotoRow(row["id"], row["path"], row["size"], row["mtime_ns"], row["content_hash"])


def file_inside(root: Path, stored: str) -> Path | None:
    """The real path of a photo (its path as the store keeps it) if it is a regular file inside the root,
    else None."""
    real_root = Path(os.path.realpath(root))
    try:
        real = Path(os.path.realpath(stored_file(real_root, stored)))
    except (OSError, ValueError):
        return None
    return real if real.is_relative_to(real_root) and real.is_file() else None


def default_cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pocketclip" / "thumbs"


def jpeg_bytes(file: Path, max_side: int | None = None) -> bytes:
    """The photo upright (EXIF orientation applied) as JPEG, shrunk to `max_side` if given."""
    with open_photo(file, max_side) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    if max_side is not None:
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue()


class ThumbnailCache:
    """JPEG thumbnails in a folder, one file per (photo, its size, mtime and content): a changed photo gets a
    new key, so a stale thumbnail is never served. Files are named `ID-KEY.jpg`, so `prune` removes those of
    photos that are no longer in the library (deleted, purged, failed) and the superseded ones."""

    def __init__(self, folder: Path, max_side: int = THUMB_PX):
        self.folder, self.max_side = Path(folder), max_side

    def key(self, row: PhotoRow, file: Path) -> str:
        # the file's own stat too: a photo edited since the last index run must not show its old thumbnail
        stat = file.stat()
        identity = (f"{file}\0{row.id}\0{row.size}\0{row.mtime_ns}\0{row.content_hash}\0{stat.st_size}\0"
                    f"{stat.st_mtime_ns}\0{self.max_side}")
        return hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    def thumbnail(self, row: PhotoRow, file: Path) -> tuple[Path, str, bool]:
        """(cached JPEG, its key, whether it was already cached); DecodeError if the photo cannot be read."""
        key = self.key(row, file)
        cached = self.folder / f"{row.id % 256:02x}" / f"{row.id}-{key}.jpg"
        if cached.is_file():
            return cached, key, True
        data = jpeg_bytes(file, self.max_side)
        cached.parent.mkdir(parents=True, exist_ok=True)
        # write then rename: a reader never sees half a thumbnail, two writers never clash
        with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".part", delete=False) as part:
            part.write(data)
        os.replace(part.name, cached)
        return cached, key, False

    def prune(self, live: dict[int, str]) -> int:
        """Remove every thumbnail but the current one of each indexed photo (`live`: id -> its current key, or ''
        when unknown: then any of its thumbnails is kept). Returns how many files were removed."""
        removed = 0
        for cached in self.folder.glob("*/*.jpg") if self.folder.is_dir() else ():
            photo_id, _, key = cached.stem.partition("-")
            wanted = live.get(int(photo_id)) if photo_id.isdigit() else None
            if wanted is None or (wanted and key != wanted):
                cached.unlink(missing_ok=True)
                removed += 1
        return removed
