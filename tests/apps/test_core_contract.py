"""The indexing contract's constants and rules, read from the Kotlin and Swift cores' sources: the same numbers
as the reference (runtime/indexing/indexer.py), no vector deleted when a photo disappears, no cloud download.
(The Kotlin core also runs every scenario in test_android_core.py; the Swift core's runner needs a Mac.)"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pocketclip.runtime.indexing import indexer

ROOT = Path(__file__).resolve().parents[2]
KOTLIN = ROOT / "android_demo" / "core" / "src" / "main" / "kotlin" / "org" / "pocketclip" / "core"
SWIFT = ROOT / "ios_demo" / "Sources" / "PocketClipCore"
ANDROID_APP = ROOT / "android_demo" / "app" / "src" / "main" / "kotlin" / "org" / "pocketclip" / "app"
IOS_APP = ROOT / "ios_demo" / "App" / "Sources"

CONSTANTS = {  # reference name -> (Kotlin name, Swift name)
    "MAX_DELETED_SHARE": ("MAX_DELETED_SHARE", "maxDeletedShare"),
    "DELETION_GUARD_FROM": ("DELETION_GUARD_FROM", "deletionGuardFrom"),
    "TOMBSTONE_DAYS": ("TOMBSTONE_DAYS", "tombstoneDays"),
    "QUARANTINE_STRIKES": ("QUARANTINE_STRIKES", "quarantineStrikes"),
    "CRASHED": ("CRASHED", "crashed"),
}


def literal(source: str, name: str) -> object:
    found = re.search(rf'(?:const val|static let) {name}\s*=\s*("[^"]*"|[^\s/]+)', source)
    assert found, f"{name} is not declared"
    text = found.group(1).rstrip("L")
    return text.strip('"') if text.startswith('"') else float(text)


@pytest.mark.parametrize("reference", sorted(CONSTANTS))
def test_the_cores_use_the_reference_constants(reference):
    value = getattr(indexer, reference)
    kotlin_name, swift_name = CONSTANTS[reference]
    want = value if isinstance(value, str) else float(value)
    assert literal((KOTLIN / "LibraryIndexer.kt").read_text(), kotlin_name) == want
    assert literal((SWIFT / "LibraryIndexer.swift").read_text(), swift_name) == want
    if reference == "CRASHED":  # the core that writes it into the store also names it for the scenarios
        assert indexer.CRASHED == "the photo crashed the decoder"


@pytest.mark.parametrize("store", [KOTLIN / "EmbeddingStore.kt", SWIFT / "PhotoStore.swift"])
def test_a_disappearing_photo_keeps_its_vector(store):
    """markDeleted only marks rows: the vector stays as a tombstone (R6)."""
    source = store.read_text()
    body = re.search(r"fun markDeleted|func markDeleted", source)
    assert body
    block = source[body.start():body.start() + 900].split("\n    }\n")[0]
    assert "UPDATE photos SET status" in block and "DELETE FROM" not in block


def test_the_apps_only_provide_a_source_and_an_encoder():
    """The orchestration lives in the cores: the apps bind and index through them and write no SQL."""
    worker, engine = (ANDROID_APP / "IndexWorker.kt").read_text(), (IOS_APP / "PhotoEngine.swift").read_text()
    for source in (worker, engine):
        assert "LibraryIndexer" in source and "bindStore" in source
        assert not re.search(r"\b(INSERT|UPDATE|DELETE) ", source)
    assert "PhotoSource" in (ANDROID_APP / "PhotoLibrary.kt").read_text()
    assert "PhotoSource" in engine


def test_ios_never_downloads_an_original_to_index_it():
    loader = (IOS_APP / "PhotoLoader.swift").read_text()
    data = loader[loader.index("static func imageData"):loader.index("static func thumbnail")]
    assert "isNetworkAccessAllowed = false" in data and "isNetworkAccessAllowed = true" not in data
    assert "PHImageResultIsInCloudKey" in data and ".unavailable(" in data


def test_android_bounds_every_format_and_catches_out_of_memory_per_photo():
    decoder = (ANDROID_APP / "PhotoDecoder.kt").read_text()
    assert "boundedSampleSize" in decoder and "maxOf(sampleSize(" in decoder
    core = (KOTLIN / "LibraryIndexer.kt").read_text()
    assert "catch (e: OutOfMemoryError)" in core  # one photo's failure, never the run's
    library = (ANDROID_APP / "PhotoLibrary.kt").read_text()
    assert "READ_MEDIA_VISUAL_USER_SELECTED" in library and "override val partial" in library


def test_the_cores_read_facts_with_the_references_raw_names_and_place_radius():
    """Photo facts (docs/contracts.md): the RAW names that make a format `raw` and the places' radius and Earth."""
    from pocketclip.runtime.facts import places
    from pocketclip.runtime.indexing.raw import RAW_SUFFIXES

    kotlin = (KOTLIN / "PhotoFacts.kt").read_text()
    swift = (SWIFT / "PhotoFacts.swift").read_text()
    for source, name in ((kotlin, r"RAW_SUFFIXES = setOf\("), (swift, r"rawSuffixes: Set<String> = \[")):
        listed = re.search(name + r"([^)\]]*)", source).group(1)
        assert set(re.findall(r'"(\.[a-z0-9]+)"', listed)) == RAW_SUFFIXES
    kotlin_places, swift_places = (KOTLIN / "Places.kt").read_text(), (SWIFT / "Places.swift").read_text()
    for name, value in (("EARTH_RADIUS_KM", places.EARTH_RADIUS_KM), ("PLACE_RADIUS_KM", places.PLACE_RADIUS_KM)):
        assert literal(kotlin_places, name) == value
    for name, value in (("earthRadiusKm", places.EARTH_RADIUS_KM), ("placeRadiusKm", places.PLACE_RADIUS_KM)):
        assert literal(swift_places, name) == value
