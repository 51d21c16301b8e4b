"""Photos with real EXIF for the conformance scenarios and the tests: date and offset, GPS, camera.

Pillow writes the EXIF block (a JPEG's APP1, a PNG's eXIf chunk, through pillow-heif a HEIC's Exif
item); the values are given as a camera writes them, so the readers (photo_facts.py, the Kotlin and
Swift cores) meet the same bytes a phone's photos hold.
"""
from __future__ import annotations

import io
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from pocketclip.runtime.facts.photo_facts import (
    DATE_TAKEN,
    EXIF_IFD,
    GPS_IFD,
    GPS_LATITUDE,
    GPS_LATITUDE_REF,
    GPS_LONGITUDE,
    GPS_LONGITUDE_REF,
    MAKE,
    MODEL,
    OFFSET_TAKEN,
)


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """|value| in degrees as three rationals (degrees, minutes, seconds in 1/100 s), as cameras write it."""
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600 * 100)
    return IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 100)


def exif_block(taken: str | None = None, offset: str | None = None, gps: tuple | None = None,
               make: str | bytes | None = None, model: str | bytes | None = None) -> Image.Exif:
    """An EXIF block. `taken` "YYYY:MM:DD HH:MM:SS"; `gps` (latitude, longitude) in degrees, or the raw
    (lat ref, lat rationals, lon ref, lon rationals) for hostile values."""
    exif = Image.Exif()
    if make is not None:
        exif[MAKE] = make
    if model is not None:
        exif[MODEL] = model
    if taken is not None or offset is not None:
        sub = exif.get_ifd(EXIF_IFD)
        if taken is not None:
            sub[DATE_TAKEN] = taken
        if offset is not None:
            sub[OFFSET_TAKEN] = offset
    if gps is not None:
        if len(gps) == 2:
            lat, lon = gps
            gps = ("N" if lat >= 0 else "S", dms(lat), "E" if lon >= 0 else "W", dms(lon))
        block = exif.get_ifd(GPS_IFD)
        for tag, value in zip((GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE), gps):
            if value is not None:
                block[tag] = value
    return exif


def photo_with_exif(rgb: tuple[int, int, int], fmt: str = "JPEG", size: tuple[int, int] = (48, 40), **facts) -> bytes:
    """A small picture of one colour with a gradient, encoded as `fmt` (JPEG, PNG, HEIF) with exif_block(**facts)."""
    image = Image.new("RGB", size, rgb)
    for x in range(size[0]):
        image.putpixel((x, x * size[1] // size[0]), (255 - rgb[0], 255 - rgb[1], 255 - rgb[2]))
    out = io.BytesIO()
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    image.save(out, fmt, exif=exif_block(**facts).tobytes(), **({"quality": 90} if fmt != "PNG" else {}))
    return out.getvalue()


def zero_denominator(data: bytes, numerator: int) -> bytes:
    """`data` with the rational numerator/1 (written by exif_block: Pillow writes big-endian) turned into numerator/0,
    which Pillow refuses to write: how a broken camera's GPS block looks."""
    packed = numerator.to_bytes(4, "big") + (1).to_bytes(4, "big")
    if data.count(packed) != 1:
        raise ValueError(f"the rational {numerator}/1 is not written exactly once")
    return data.replace(packed, numerator.to_bytes(4, "big") + bytes(4))
