"""What a photo says about itself, read from the bytes the indexer already holds (docs/contracts.md, R21).

Date taken (EXIF DateTimeOriginal with OffsetTimeOriginal; else the file's modification time in UTC,
with the source recorded), GPS position and the place it resolves to offline (places.py), camera make
and model, and the file format from its first bytes. The EXIF block is found by Pillow (JPEG APP1, PNG
eXIf, WebP, TIFF and DNG, HEIC and AVIF through pillow-heif), which reads only the header of a file it
is handed; the values are then checked by the rules the Kotlin and Swift cores follow, so all three
store the same columns. Nothing here fails a photo: a value that breaks a rule is simply absent.
"""
from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from pocketclip.runtime.facts.places import Places, places as shipped_places
from pocketclip.runtime.store.schema import FACT_COLUMNS

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL, DATE_TAKEN, OFFSET_TAKEN = 0x010F, 0x0110, 0x9003, 0x9011
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
FORMATS = ("jpeg", "png", "gif", "webp", "bmp", "heic", "avif", "tiff", "raw")
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}
_OFFSET = re.compile(r"[+-]([0-9]{2}):([0-9]{2})")  # ASCII digits only (\d takes any script's)
_DATE = re.compile(r"([0-9]{4}):([0-9]{2}):([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLUMNS = tuple(FACT_COLUMNS)  # the store's columns, in the order Facts holds them


@dataclass(frozen=True)
class Facts:
    """One photo's facts, as the store's photos columns hold them (None: absent)."""
    taken_at: str  # local time of the photo, "YYYY-MM-DDTHH:MM:SS" (the file's time: UTC)
    taken_offset: str | None  # "+01:00"; None when the photo does not say
    taken_source: str  # 'exif' | 'file'
    latitude: float | None = None
    longitude: float | None = None
    place_city: str | None = None
    place_region: str | None = None
    place_country: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    format: str | None = None

    def columns(self) -> dict:
        return asdict(self)


def file_format(head: bytes, raw: bool) -> str | None:
    """The format the first bytes say (a RAW's container is TIFF or its own: `raw` is the name's verdict)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM":
        return "bmp"
    if head[4:8] == b"ftyp":  # ISO-BMFF: the major brand, then the compatible brands of the ftyp box
        size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        if brands & AVIF_BRANDS:
            return "avif"
        if brands & HEIC_BRANDS and not raw:
            return "heic"
    if raw:
        return "raw"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def exif_text(value) -> str | None:
    """An EXIF ASCII value: up to its first NUL, UTF-8 if it is valid else Latin-1, trimmed; None if empty.
    (Pillow hands ASCII values over decoded as Latin-1: encoding back gives the stored bytes.)"""
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    if not isinstance(value, bytes):
        return None
    value = value.split(b"\x00", 1)[0]
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("latin-1")
    return text.strip() or None


def exif_date(value) -> str | None:
    """"YYYY:MM:DD HH:MM:SS" (a real date and time) as "YYYY-MM-DDTHH:MM:SS", else None."""
    text = exif_text(value)
    found = _DATE.fullmatch(text or "")
    if not found:
        return None
    try:
        datetime(*map(int, found.groups()))
    except ValueError:  # 0000:00:00 00:00:00, February 30th, hour 24
        return None
    year, month, day, hour, minute, second = found.groups()  # (strftime drops a leading zero of year 999)
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}"


def exif_offset(value) -> str | None:
    text = exif_text(value)
    found = _OFFSET.fullmatch(text or "")
    return text if found and int(found.group(1)) <= 14 and int(found.group(2)) < 60 else None


def degrees(value, ref, positive: str, negative: str, limit: float) -> float | None:
    """Three rationals (degrees, minutes, seconds) and a reference letter as signed decimal degrees."""
    letter = exif_text(ref)
    if letter not in (positive, negative) or not isinstance(value, tuple) or len(value) != 3:
        return None
    parts = []
    for part in value:
        numerator, denominator = getattr(part, "numerator", None), getattr(part, "denominator", None)
        if not isinstance(numerator, int) or not isinstance(denominator, int) or denominator == 0:
            return None
        parts.append(numerator / denominator)
    result = parts[0] + parts[1] / 60 + parts[2] / 3600
    if not 0 <= result <= limit:
        return None
    return -result if letter == negative else result


def file_time(mtime_ns: int) -> str:
    moment = datetime.fromtimestamp(mtime_ns // 1_000_000_000, UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"


def png_exif(f) -> bytes | None:
    """A PNG's EXIF payload: its last eXIf chunk before the image data, else its last one after it, found by
    walking the chunks (Pillow would decode every pixel to reach a chunk after the data, and falls back to
    ImageMagick's text chunks, which the phones do not read)."""
    f.seek(8)
    before = after = None
    in_data = False
    while len(header := f.read(8)) == 8:
        length, kind = int.from_bytes(header[:4], "big"), header[4:]
        if kind == b"IEND":
            break
        in_data |= kind == b"IDAT"
        if kind == b"eXIf":
            chunk = f.read(length)
            if len(chunk) < length:
                break
            if in_data:
                after = chunk
            else:
                before = chunk
            f.seek(4, io.SEEK_CUR)  # its CRC
        else:
            f.seek(length + 4, io.SEEK_CUR)
    return before if before is not None else after


def exif_of(source: bytes | Path, head: bytes) -> Image.Exif:
    """The photo's EXIF block (empty when it has none): Pillow finds it, but a PNG's is found by png_exif."""
    if head.startswith(PNG_SIGNATURE):
        exif = Image.Exif()
        with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as f:
            payload = png_exif(f)
        if payload:
            exif.load(payload)
        return exif
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        return image.getexif()


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def read_facts(source: bytes | Path, mtime_ns: int, raw: bool, places: Places | None = None) -> Facts:
    """The facts of a photo's bytes (or, for a file too big to hold, its path: only its header is read);
    `places`: the shipped ones unless given (loaded on the first photo with a position)."""
    _register_heif()
    if isinstance(source, Path):
        with open(source, "rb") as f:
            head = f.read(64)
    else:
        head = source[:64]
    exif = {}
    try:
        found = exif_of(source, head)
        exif = {"ifd0": dict(found), "exif": dict(found.get_ifd(EXIF_IFD)), "gps": dict(found.get_ifd(GPS_IFD))}
    except Exception:  # not readable by Pillow (a RAW of its own container, a broken block): no EXIF, no failure
        exif = {}
    ifd0, sub, gps = exif.get("ifd0", {}), exif.get("exif", {}), exif.get("gps", {})
    taken = exif_date(sub.get(DATE_TAKEN))
    latitude = degrees(gps.get(GPS_LATITUDE), gps.get(GPS_LATITUDE_REF), "N", "S", 90.0)
    longitude = degrees(gps.get(GPS_LONGITUDE), gps.get(GPS_LONGITUDE_REF), "E", "W", 180.0)
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):  # 0,0: a phone without a fix
        latitude = longitude = None
    place = (places or shipped_places()).resolve(latitude, longitude) if latitude is not None else None
    return Facts(taken or file_time(mtime_ns), exif_offset(sub.get(OFFSET_TAKEN)) if taken else "+00:00",
                 "exif" if taken else "file", latitude, longitude,
                 place and place.city, place and place.region, place and place.country,
                 exif_text(ifd0.get(MAKE)), exif_text(ifd0.get(MODEL)), file_format(head, raw))
