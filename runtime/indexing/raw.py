"""Camera RAW files (CR2/CR3, NEF, ARW, DNG, RAF, ORF, RW2, ...) as pictures, through LibRaw (rawpy).

A RAW is indexed from the preview the camera embedded in it (a full-size or large JPEG in most cameras'
files): no demosaic, about the cost of a JPEG. A RAW whose preview is missing, unreadable or smaller than
the model needs is demosaiced at half size (LibRaw's `half_size`: one pixel per 2x2 Bayer block, a quarter
of the work). The camera's orientation travels in the preview JPEG's EXIF (applied with every other
photo's) or, for a bitmap preview, as LibRaw's `flip`, applied here; the demosaiced picture comes out upright.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

RAW_SUFFIXES = {".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
                ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".dcr", ".mos", ".mrw", ".rwl"}
# LibRaw's flip -> the transpose that makes the stored preview upright
FLIP = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


class RawError(Exception):
    """LibRaw could not read the file; the message is its reason."""


def is_raw(name: str) -> bool:
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in RAW_SUFFIXES


def open_raw(data: bytes, shorter_side: int | None, max_pixels: int
             ) -> tuple[Image.Image, int, int, Image.Transpose | None]:
    """(picture, the RAW's own width and height, the transpose that makes the picture upright) from a RAW
    file's bytes: its embedded preview when that is at least half `shorter_side` on its shorter side (opened
    lazily, so the caller's draft decoding applies), else a half-size demosaic (upright already).
    `max_pixels` bounds the sensor size decoded. RawError with LibRaw's reason for a file it cannot read."""
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            width, height = sizes.width, sizes.height  # as stored, before the orientation (as for a JPEG)
            if width * height > max_pixels:
                raise RawError(f"decompression bomb refused ({width}x{height} pixels)")
            preview = _preview(raw, shorter_side)
            if preview is not None:
                # LibRaw hands a JPEG preview over with an EXIF orientation (the camera's, or one it writes),
                # which preprocessing applies; a bitmap preview has none, so its flip is applied here.
                oriented = preview.format == "JPEG" and preview.getexif().get(0x0112) is not None
                return preview, width, height, None if oriented else FLIP.get(sizes.flip)
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
            return Image.fromarray(np.ascontiguousarray(rgb)), width, height, None
    except RawError:
        raise
    except rawpy.LibRawError as exc:  # every LibRaw failure (unsupported, truncated, bad data) subclasses it
        raise RawError(f"{type(exc).__name__}: {exc}") from None


def _preview(raw, shorter_side: int | None) -> Image.Image | None:
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError, rawpy.LibRawDataError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            image = Image.open(io.BytesIO(thumb.data))
        except OSError:  # a preview that is not a readable JPEG: demosaic instead
            return None
    else:
        image = Image.fromarray(np.ascontiguousarray(thumb.data))
    if shorter_side and min(image.size) < shorter_side // 2:
        return None  # a thumbnail too small for the model: demosaic instead
    return image
