"""Camera RAW files the tests make: DNG (Adobe's open RAW, a TIFF with a Bayer mosaic), written byte by byte
because no library on this machine writes one, with or without the JPEG preview cameras embed."""
from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 1, 2, 3, 4, 5, 10
_FORMAT = {BYTE: "B", SHORT: "H", LONG: "I"}


# The camera's ColorMatrix1 (XYZ -> camera RGB): this test camera's sensor sees linear sRGB.
XYZ_TO_SRGB = [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]


def _mosaic(picture: Image.Image, neutral: tuple[float, float, float] = (1, 1, 1)) -> np.ndarray:
    """An RGGB Bayer mosaic of `picture`, linear 16-bit: what the sensor would have recorded (each channel
    scaled by the camera's `neutral`, its response to white)."""
    srgb = np.asarray(picture.convert("RGB"), dtype=np.float64) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4) * np.asarray(neutral)
    rgb = np.round(linear * 65535).astype(np.uint16)
    h, w = rgb.shape[:2]
    cfa = np.empty((h, w), dtype=np.uint16)
    cfa[0::2, 0::2] = rgb[0::2, 0::2, 0]
    cfa[0::2, 1::2] = rgb[0::2, 1::2, 1]
    cfa[1::2, 0::2] = rgb[1::2, 0::2, 1]
    cfa[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return cfa


class _Tiff:
    """A little-endian TIFF assembled in memory: data blocks first, IFDs after them."""

    def __init__(self):
        self.body = bytearray(b"II*\0\0\0\0\0")

    def block(self, data: bytes) -> int:
        offset = len(self.body)
        self.body += data + (b"\0" if len(data) % 2 else b"")
        return offset

    def ifd(self, entries: list[tuple[int, int, list]], next_ifd: int = 0) -> int:
        """Write an IFD of (tag, type, values); values that do not fit in 4 bytes go into their own block."""
        encoded = []
        for tag, kind, values in sorted(entries):
            if kind == ASCII:
                raw, count = values.encode() + b"\0", len(values) + 1
            elif kind in (RATIONAL, SRATIONAL):
                fmt = "<" + ("II" if kind == RATIONAL else "ii") * len(values)
                raw, count = struct.pack(fmt, *[x for pair in values for x in pair]), len(values)
            else:
                raw, count = struct.pack("<" + _FORMAT[kind] * len(values), *values), len(values)
            encoded.append((tag, kind, count, raw if len(raw) <= 4 else struct.pack("<I", self.block(raw))))
        offset = len(self.body)
        self.body += struct.pack("<H", len(encoded))
        for tag, kind, count, value in encoded:
            self.body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        self.body += struct.pack("<I", next_ifd)
        return offset


def dng(picture: Image.Image, preview: bool = True, orientation: int = 1, bitmap: bool = False,
        neutral: tuple[float, float, float] = (1, 1, 1)) -> bytes:
    """A DNG of `picture` (RGGB mosaic, 16-bit, uncompressed) whose IFD 0 is, with `preview`, the embedded
    JPEG preview cameras write (with `bitmap`, an uncompressed RGB one; the raw image in a SubIFD), else the
    raw image itself. `orientation` is the TIFF orientation the camera recorded (6: held upright, stored
    sideways); `neutral` its AsShotNeutral (the sensor's response to white, which white balance undoes)."""
    w, h = picture.size
    tiff = _Tiff()
    raw_data = tiff.block(_mosaic(picture, neutral).tobytes())
    dng_tags = [(50706, BYTE, [1, 4, 0, 0]), (50708, ASCII, "pocketclip test camera"),
                (50721, SRATIONAL, [(round(v * 10000), 10000) for row in XYZ_TO_SRGB for v in row]),
                (50778, SHORT, [21]), (50728, RATIONAL, [(round(v * 10000), 10000) for v in neutral]),
                (271, ASCII, "pocketclip"), (272, ASCII, "test camera"), (274, SHORT, [orientation])]
    raw_tags = [(254, LONG, [0]), (256, LONG, [w]), (257, LONG, [h]), (258, SHORT, [16]), (259, SHORT, [1]),
                (262, SHORT, [32803]), (273, LONG, [raw_data]), (277, SHORT, [1]), (278, LONG, [h]),
                (279, LONG, [w * h * 2]), (33421, SHORT, [2, 2]), (33422, BYTE, [0, 1, 1, 2]),
                (50714, LONG, [0]), (50717, LONG, [65535])]
    if preview:
        if bitmap:  # an uncompressed RGB preview (some cameras' DNGs): LibRaw hands it over as pixels
            data, compression, photometric = picture.convert("RGB").tobytes(), 1, 2
        else:
            jpeg = io.BytesIO()
            picture.convert("RGB").save(jpeg, "JPEG", quality=90)
            data, compression, photometric = jpeg.getvalue(), 7, 6
        preview_data = tiff.block(data)
        raw_ifd = tiff.ifd(raw_tags)
        first = tiff.ifd(dng_tags + [
            (254, LONG, [1]), (256, LONG, [w]), (257, LONG, [h]), (258, SHORT, [8, 8, 8]),
            (259, SHORT, [compression]), (262, SHORT, [photometric]), (273, LONG, [preview_data]),
            (277, SHORT, [3]), (278, LONG, [h]), (279, LONG, [len(data)]), (330, LONG, [raw_ifd])])
    else:
        first = tiff.ifd(dng_tags + raw_tags)
    tiff.body[4:8] = struct.pack("<I", first)
    return bytes(tiff.body)
