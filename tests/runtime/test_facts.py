"""What a photo says about itself (R21, R22): read from photos with real EXIF (JPEG, PNG, HEIC), hostile
blocks, offline places, and a store of schema version 1 filled in without embedding anything again."""
from __future__ import annotations

import os
import sqlite3
from dataclasses import fields

import numpy as np
import pytest
from PIL.TiffImagePlugin import IFDRational as R
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from pocketclip.runtime.facts.exif_writer import photo_with_exif, zero_denominator
from pocketclip.runtime.facts.photo_facts import COLUMNS, Facts, file_format, read_facts
from pocketclip.runtime.facts.places import PLACE_RADIUS_KM, distance_km, places
from pocketclip.runtime.indexing.indexer import index_library
from pocketclip.runtime.indexing.source import FolderSource
from pocketclip.runtime.store import Store, schema

SPEC = {"size": 8, "resize": "shortest", "crop": "center", "mean": [0.5] * 3, "std": [0.5] * 3,
        "interpolation": "bicubic", "channels": "RGB", "layout": "NCHW"}
MTIME = 1_700_000_000_987_000_000  # 2023-11-14T22:13:20.987 UTC


def embed(photos, pixels):
    flat = pixels.reshape(len(pixels), -1)[:, :8].astype(np.float32) + 1.0
    return flat / np.linalg.norm(flat, axis=1, keepdims=True)


def test_facts_are_the_stores_columns_in_order():
    assert tuple(f.name for f in fields(Facts)) == COLUMNS == tuple(schema.FACT_COLUMNS)


def test_a_camera_jpeg_says_when_where_and_with_what():
    data = photo_with_exif((30, 120, 200), taken="2024:07:14 18:32:05", offset="+01:00", gps=(38.7139, -9.1394),
                           make="FUJIFILM", model="X-T5")
    facts = read_facts(data, MTIME, raw=False)
    assert (facts.taken_at, facts.taken_offset, facts.taken_source) == ("2024-07-14T18:32:05", "+01:00", "exif")
    assert facts.latitude == pytest.approx(38.7139, abs=1e-4) and facts.longitude == pytest.approx(-9.1394, abs=1e-4)
    assert (facts.place_region, facts.place_country) == ("Lisbon", "Portugal")
    assert (facts.camera_make, facts.camera_model, facts.format) == ("FUJIFILM", "X-T5", "jpeg")


@pytest.mark.parametrize("fmt, kind", [("PNG", "png"), ("HEIF", "heic")])
def test_png_and_heic_carry_gps_and_camera_too(fmt, kind):
    data = photo_with_exif((230, 160, 40), fmt, taken="2023:12:31 23:59:59", gps=(-33.8688, 151.2093),
                           make="Apple", model="iPhone 15 Pro")
    facts = read_facts(data, MTIME, raw=False)
    assert (facts.taken_at, facts.place_city, facts.place_country) == ("2023-12-31T23:59:59", "Sydney", "Australia")
    assert facts.latitude < 0 < facts.longitude and (facts.camera_model, facts.format) == ("iPhone 15 Pro", kind)


def test_no_exif_date_means_the_files_time_in_utc():
    facts = read_facts(photo_with_exif((1, 2, 3)), MTIME, raw=False)
    assert (facts.taken_at, facts.taken_offset, facts.taken_source) == ("2023-11-14T22:13:20", "+00:00", "file")
    assert facts.latitude is None and facts.place_city is None and facts.camera_make is None


@pytest.mark.parametrize("exif, absent", [
    ({"taken": "0000:00:00 00:00:00"}, "taken"), ({"taken": "2021:02:30 10:00:00"}, "taken"),
    ({"taken": "2021-02-03 10:00:00"}, "taken"), ({"taken": "2021:02:03 24:00:00"}, "taken"),
    ({"taken": "2021:02:03 10:00:00", "offset": "+99:00"}, "offset"),
    ({"taken": "2021:02:03 10:00:00", "offset": "1:00"}, "offset"),
    ({"gps": ("N", (R(91, 1), R(0, 1), R(0, 1)), "E", (R(1, 1), R(0, 1), R(0, 1)))}, "gps"),
    ({"gps": ("X", (R(45, 1), R(0, 1), R(0, 1)), "E", (R(1, 1), R(0, 1), R(0, 1)))}, "gps"),
    ({"gps": ("N", (R(45, 1), R(0, 1)), "E", (R(1, 1), R(0, 1), R(0, 1)))}, "gps"),
    ({"gps": ("N", (R(45, 1), R(0, 1), R(0, 1)), None, (R(1, 1), R(0, 1), R(0, 1)))}, "gps"),
    ({"gps": (0.0, 0.0)}, "gps"),
    ({"make": "  ", "model": b"\x00\x00"}, "camera"),
])
def test_a_value_that_breaks_a_rule_is_absent_never_a_failure(exif, absent):
    facts = read_facts(photo_with_exif((9, 9, 9), **exif), MTIME, raw=False)
    if absent == "taken":
        assert (facts.taken_source, facts.taken_at) == ("file", "2023-11-14T22:13:20")
    elif absent == "offset":
        assert facts.taken_source == "exif" and facts.taken_offset is None
    elif absent == "gps":
        assert facts.latitude is None and facts.longitude is None and facts.place_country is None
    else:
        assert facts.camera_make is None and facts.camera_model is None


def test_a_zero_denominator_and_a_cut_block_lose_only_those_values():
    data = photo_with_exif((9, 9, 9), make=b"Canon\x00junk", gps=("N", (R(77, 1), R(2, 1), R(3, 1)), "E",
                                                                   (R(1, 1), R(2, 1), R(3, 1))))
    facts = read_facts(zero_denominator(data, 77), MTIME, raw=False)
    assert facts.latitude is None and facts.camera_make == "Canon"
    start = data.index(b"Exif\x00\x00")
    cut = data[:start + 40] + data[start + 40:].replace(b"MM", b"ZZ", 1)
    assert read_facts(cut, MTIME, raw=False).taken_source == "file"
    for hostile in (b"", b"\xff\xd8\xff", b"not a photo", os.urandom(2000)):
        assert read_facts(hostile, MTIME, raw=False).taken_source == "file"


def test_utf8_and_latin1_camera_names_are_kept():
    assert read_facts(photo_with_exif((1, 1, 1), make="Café".encode()), MTIME, False).camera_make == "Café"
    assert read_facts(photo_with_exif((1, 1, 1), make="Caf\xe9".encode("latin-1")), MTIME, False).camera_make == "Café"


@pytest.mark.parametrize("head, raw, kind", [
    (b"\xff\xd8\xff\xe0", False, "jpeg"), (b"\x89PNG\r\n\x1a\n", False, "png"), (b"GIF89a", False, "gif"),
    (b"RIFF\0\0\0\0WEBPVP8 ", False, "webp"), (b"BM\0\0", False, "bmp"), (b"II*\x00", False, "tiff"),
    (b"II*\x00", True, "raw"), (b"\0\0\0\x1cftypavif\0\0\0\0mif1miaf", False, "avif"),
    (b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic", False, "heic"), (b"\0\0\0\x18ftypcrx \0\0\0\0crx isom", True, "raw"),
    (b"hello", False, None)])
def test_the_format_comes_from_the_first_bytes(head, raw, kind):
    assert file_format(head, raw) == kind


def test_places_resolve_offline_to_the_nearest_and_not_beyond_100_km():
    known = places()
    assert known.resolve(40.7128, -74.006).city == "New York City"
    assert known.resolve(30.0, -40.0) is None  # mid-Atlantic
    assert known.resolve(-89.9, 10.0) is None and known.resolve(89.9, 10.0) is None  # the poles are covered
    lisbon = known.find("lisbon")
    assert (lisbon.country, round(lisbon.latitude)) == ("Portugal", 39) and known.find("Springfield, Illinois").region
    rng = np.random.default_rng(3)  # the grid's answer is the global nearest (brute force over every place)
    for lat, lon in zip(rng.uniform(-60, 70, 40), rng.uniform(-180, 180, 40)):
        dots = known.vectors @ np.array([np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
                                         np.cos(np.radians(lat)) * np.sin(np.radians(lon)), np.sin(np.radians(lat))])
        best = int(np.argmax(dots))
        near = distance_km(lat, lon, known.latitude[best], known.longitude[best]) <= PLACE_RADIUS_KM
        assert known.nearest(lat, lon) == (best if near else None)


def photos_folder(root):
    (root / "Trips").mkdir(parents=True)
    (root / "Trips" / "lisbon.jpg").write_bytes(photo_with_exif((30, 120, 200), size=(64, 48), taken="2024:07:14 18:32:05",
                                                                gps=(38.7139, -9.1394), make="FUJIFILM", model="X-T5"))
    (root / "Trips" / "sydney.png").write_bytes(photo_with_exif((230, 160, 40), "PNG", size=(64, 48),
                                                                gps=(-33.8688, 151.2093)))
    (root / "notes.jpg").write_text("not a photo")
    return root


def version_1_store(path):
    """A store as pocketclip wrote it before photo facts: migration m001 only, schema_version 1."""
    old = Migrations(schema.MIGRATION_SET)
    old()(schema.m001_initial)
    db = Database(sqlite3.connect(path))
    db.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    old.apply(db)
    db["meta"].insert({"key": "schema_version", "value": "1"}, replace=True)
    assert "taken_at" not in db["photos"].columns_dict
    db.close()


def test_a_version_1_store_is_migrated_and_filled_in_without_embedding(tmp_path):
    root = photos_folder(tmp_path / "photos")
    path = tmp_path / "s.db"
    version_1_store(path)
    db = Store.open(path)
    assert db.meta()["schema_version"] == "2" and db.has_facts()
    db.bind_model("m", 8, "x")
    first = index_library(db, FolderSource(root), "m", SPEC, embed, workers=1)
    assert (first.embedded, first.errors) == (2, 1)
    with db.atomic():  # the rows as a version-1 store holds them after its migration: no facts
        db.execute("UPDATE photos SET taken_at = NULL, taken_source = NULL, latitude = NULL, place_city = NULL, "
                   "place_country = NULL, camera_make = NULL, format = NULL")
    vectors = {r[0]: r[1] for r in db.execute("SELECT photo_id, vector FROM embeddings")}
    calls = []
    report = index_library(db, FolderSource(root), "m", SPEC, lambda p, x: calls.append(p) or embed(p, x), workers=1)
    assert (report.facts_filled, report.embedded, report.unchanged, report.skipped_errors) == (2, 0, 0, 1) and not calls
    assert {r[0]: r[1] for r in db.execute("SELECT photo_id, vector FROM embeddings")} == vectors
    rows = db.photo_rows()
    assert rows["Trips/lisbon.jpg"]["place_country"] == "Portugal" and rows["Trips/lisbon.jpg"]["camera_make"] == "FUJIFILM"
    assert rows["Trips/sydney.png"]["place_city"] == "Sydney" and rows["Trips/sydney.png"]["format"] == "png"
    assert rows["notes.jpg"]["taken_source"] is None  # an error row has no facts
    again = index_library(db, FolderSource(root), "m", SPEC, embed, workers=1)
    assert (again.facts_filled, again.unchanged) == (0, 2)
    status = db.status()
    assert (status["dated_by_exif"], status["with_gps"], status["facts_unread"]) == (1, 2, 0)


def test_a_version_1_store_is_searched_read_only_without_facts(tmp_path):
    path = tmp_path / "s.db"
    version_1_store(path)
    db = Store.open(path, readonly=True)
    assert not db.has_facts() and db.facts_rows(np.zeros(0, dtype=np.int64)) == [] and db.photo_facts([1]) == {}


def chunks(png: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos < len(png):
        length = int.from_bytes(png[pos:pos + 4], "big")
        out.append(png[pos:pos + 12 + length])
        pos += 12 + length
    return out


def test_a_pngs_exif_is_read_before_or_after_its_pixels_and_only_from_exif_chunks():
    png = photo_with_exif((5, 5, 5), "PNG", taken="2020:01:02 03:04:05", make="Apple")
    parts = chunks(png)
    exif = next(c for c in parts if c[4:8] == b"eXIf")
    rest = [c for c in parts if c is not exif]
    moved = png[:8] + b"".join(rest[:-1]) + exif + rest[-1]  # after IDAT, before IEND
    assert read_facts(moved, MTIME, False).taken_at == "2020-01-02T03:04:05"
    as_text = exif.replace(b"eXIf", b"tEXt", 1)  # not an eXIf chunk: ImageMagick's text profile is not read
    assert read_facts(png[:8] + b"".join(rest[:1]) + as_text + b"".join(rest[1:]), MTIME, False).taken_source == "file"
    cut = png[:png.index(b"eXIf") + 10]
    assert read_facts(cut, MTIME, False).taken_source == "file"


@pytest.mark.parametrize("taken, expected", [("0999:01:02 03:04:05", "0999-01-02T03:04:05"),
                                             ("２０２０:01:02 03:04:05", None)])
def test_dates_are_ascii_digits_written_in_full(taken, expected):
    facts = read_facts(photo_with_exif((5, 5, 5), taken=taken.encode()), MTIME, False)
    assert (facts.taken_at if facts.taken_source == "exif" else None) == expected
