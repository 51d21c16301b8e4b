"""Writes the conformance scenarios (docs/conformance.md): contents, models, codebooks and scenario files.

    python -m pocketclip.runtime.indexing.scenario_writer --bundle BUNDLE --out runtime/indexing/scenarios

Each scenario below is written by hand: its events, its runs and the facts a reader expects of each step
(`checks`: report counts, outcomes, a photo's status). The writer runs it on the reference, refuses to
write a scenario whose run contradicts one of those facts, and records the whole store the reference
then holds as the step's expectation. The bundle's encoders give each content's vector (the vectors
the phone runners replay); `tests/runtime/test_conformance.py` checks that the shipped files are what
this writer makes of the demo bundle.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

from pocketclip.runtime.bundle.codebooks import Codebooks, save_codebooks
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.bundle.manifest import Bundle, load_bundle, sha256_path
from pocketclip.runtime.facts.exif_writer import photo_with_exif, zero_denominator
from pocketclip.runtime.indexing.conformance import first_difference, load_shared, run_scenario
from pocketclip.runtime.indexing.decode import load_photo
from pocketclip.runtime.indexing.source import hash_bytes

COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220), "yellow": (240, 220, 40),
           "purple": (150, 50, 190), "cyan": (40, 210, 220), "orange": (245, 140, 30), "grey": (128, 128, 128),
           "pink": (250, 150, 200), "navy": (20, 30, 90)}


def draw(name: str, rgb: tuple[int, int, int]) -> bytes:
    """A 48x40 PNG: a coloured disc on a background drawn from the name (deterministic bytes)."""
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    image = Image.new("RGB", (48, 40), ((seed >> 16) % 256, (seed >> 8) % 256, seed % 256))
    ImageDraw.Draw(image).ellipse((8, 4, 40, 36), fill=rgb)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels: a decoder must refuse it from the header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def contents() -> dict[str, tuple[str, bytes]]:
    """name -> (file name, bytes)."""
    found = {name: (f"{name}.png", draw(name, rgb)) for name, rgb in COLOURS.items()}
    found["not-an-image"] = ("not-an-image.jpg", b"this is a text file with a photo's name\n" * 4)
    found["truncated"] = ("truncated.png", draw("truncated", (10, 200, 10))[:120])
    found["bomb"] = ("bomb.png", bomb_png())
    found.update(exif_contents())
    return found


def exif_contents() -> dict[str, tuple[str, bytes]]:
    """JPEGs and a PNG with EXIF as cameras and phones write it (R21), one with every value broken."""
    broken = photo_with_exif((90, 90, 90), taken="0000:00:00 00:00:00", offset="+99:00", make=b"Canon\x00\x00  ",
                             model="  ", gps=("N", (IFDRational(77, 1), IFDRational(2, 1), IFDRational(3, 1)), "E",
                                              (IFDRational(1, 1), IFDRational(2, 1), IFDRational(3, 1))))
    return {
        "lisbon": ("lisbon.jpg", photo_with_exif((30, 120, 200), taken="2024:07:14 18:32:05", offset="+01:00",
                                                 gps=(38.7139, -9.1394), make="FUJIFILM", model="X-T5")),
        "sydney": ("sydney.jpg", photo_with_exif((230, 160, 40), taken="2023:12:31 23:59:59", offset="+11:00",
                                                 gps=(-33.8688, 151.2093), make="Apple", model="iPhone 15 Pro")),
        "canon": ("canon.jpg", photo_with_exif((60, 160, 60), taken="2022:03:01 08:00:00", make="Canon",
                                               model="Canon EOS R5")),
        "ocean": ("ocean.jpg", photo_with_exif((10, 40, 120), gps=(30.0, -40.0))),
        "broken-exif": ("broken-exif.jpg", zero_denominator(broken, 77)),
        "new-york": ("new-york.png", photo_with_exif((200, 60, 160), "PNG", taken="2023:06:01 12:00:00",
                                                     offset="-04:00", gps=(40.7128, -74.006), make="Apple",
                                                     model="iPhone 12")),
    }


def exif_photos(prefix: str = "DCIM/") -> list[dict]:
    return [add(f"{prefix}{name}.{'png' if name == 'new-york' else 'jpg'}", name)
            for name in ("lisbon", "sydney", "canon", "ocean", "broken-exif", "new-york")]


def add(path: str, content: str) -> dict:
    return {"add": path, "content": content}


def six(prefix: str = "DCIM/") -> list[dict]:
    return [add(f"{prefix}{name}.png", name) for name in ("red", "green", "blue", "yellow", "purple", "cyan")]


def step(name: str, events: list[dict] | None = None, run: dict | None = None, **checks) -> dict:
    return {"name": name, "events": events or [], "run": run or {}, "checks": checks}


def scenario(name: str, rules: list[str], description: str, steps: list[dict]) -> dict:
    return {"name": name, "rules": rules, "description": description, "steps": steps}


BOOKS = {"codebooks": "books-a"}
ALLOW = {"allow_empty": True}
SCENARIOS = [
    scenario("first-index", ["R1", "R3", "R8", "R16", "R18"], "A new library is embedded whole, in batches.", [
        step("index six photos", six(), report={"embedded": 6}, generation_changed=True)]),
    scenario("unchanged-rerun", ["R2", "R18"], "A run with nothing changed reads nothing and writes nothing.", [
        step("index", six()),
        step("again", report={"unchanged": 6, "embedded": 0}, embedded=[], generation_changed=False)]),
    scenario("touch-keeps-vector", ["R4"], "A new mtime with the same bytes keeps the vector.", [
        step("index", six()),
        step("touch", [{"touch": "DCIM/red.png"}], report={"touched": 1, "embedded": 0}, generation_changed=True)]),
    scenario("touch-same-second", ["R2", "R4"], "A touch within the same second is still seen (mtime in ns).", [
        step("index", six()),
        step("touch", [{"touch": "DCIM/blue.png", "same_second": True}], report={"touched": 1, "embedded": 0})]),
    scenario("modify-reembeds", ["R8"], "New content at the same path is embedded again.", [
        step("index", six()),
        step("modify", [{"modify": "DCIM/red.png", "content": "orange"}], report={"embedded": 1},
             embedded=["DCIM/red.png"])]),
    scenario("move-keeps-vector", ["R5"], "A renamed photo takes its row and vector along.", [
        step("index", six()),
        step("move", [{"move": "DCIM/red.png", "to": "Camera/red-renamed.png"}],
             report={"moved": 1, "embedded": 0, "deleted": 0})]),
    scenario("folder-renamed", ["R5", "R13"], "Half the library moved at once is moves, not deletions.", [
        step("index", six()),
        step("rename the folder", [{"move": f"DCIM/{n}.png", "to": f"Trips/{n}.png"} for n in
                                   ("red", "green", "blue", "yellow")],
             report={"moved": 4, "deleted": 0, "withheld": 0, "embedded": 0})]),
    scenario("delete-keeps-tombstone", ["R6"], "A deleted photo keeps its vector, marked deleted.", [
        step("index", six()),
        step("delete", [{"delete": "DCIM/green.png"}], report={"deleted": 1})]),
    scenario("restore-same-path", ["R7"], "A photo back at its old path is restored without embedding.", [
        step("index", six()),
        step("delete", [{"delete": "DCIM/green.png"}], report={"deleted": 1}),
        step("restore", [add("DCIM/green.png", "green")], report={"restored": 1, "embedded": 0}, embedded=[])]),
    scenario("restore-other-path", ["R7"], "A photo back at another path is restored from its tombstone.", [
        step("index", six()),
        step("delete", [{"delete": "DCIM/green.png"}]),
        step("restore elsewhere", [add("Restored/green.png", "green")], report={"restored": 1, "embedded": 0})]),
    scenario("duplicate-content", ["R3", "R8"], "The same bytes at two new paths: each copy is embedded.", [
        step("index", [add("a/red.png", "red"), add("b/red-copy.png", "red"), add("a/blue.png", "blue")],
             report={"embedded": 3})]),
    scenario("duplicate-one-deleted", ["R6", "R8"], "One of two copies deleted: a tombstone, the other stays.", [
        step("index", [add("a/red.png", "red"), add("b/red.png", "red"), add("a/blue.png", "blue"),
                       add("a/green.png", "green")]),
        step("delete a copy", [{"delete": "b/red.png"}], report={"deleted": 1, "embedded": 0})]),
    scenario("copy-of-present-photo", ["R5", "R8"], "A copy of a photo still present is embedded, not moved.", [
        step("index", six()),
        step("copy", [add("Copies/red.png", "red")], report={"embedded": 1, "moved": 0})]),
    scenario("move-prefers-vanished-photo", ["R5", "R7"],
             "A new path matches a photo vanished in this run before an older tombstone of the same bytes.", [
        step("index", [add("old/red.png", "red"), add("x/red.png", "red"), *six("keep/")]),
        step("delete one copy", [{"delete": "old/red.png"}], report={"deleted": 1}),
        step("move the other", [{"move": "x/red.png", "to": "new/red.png"}],
             report={"moved": 1, "restored": 0, "embedded": 0})]),
    scenario("not-an-image", ["R10"], "A text file named .jpg is a content error with no vector.", [
        step("index", [*six(), add("DCIM/notes.jpg", "not-an-image")], report={"embedded": 6, "errors": 1})]),
    scenario("content-error-waits", ["R10"], "A content error is not tried again while the file is unchanged.", [
        step("index", [*six(), add("DCIM/notes.jpg", "not-an-image")]),
        step("again", report={"skipped_errors": 1, "errors": 0}, embedded=[], generation_changed=False)]),
    scenario("fixed-later", ["R10", "R8"], "A broken photo replaced by a good one is embedded.", [
        step("index", [*six(), add("DCIM/broken.png", "truncated")], report={"errors": 1}),
        step("fix it", [{"modify": "DCIM/broken.png", "content": "pink"}], report={"embedded": 1, "errors": 0})]),
    scenario("truncated", ["R10"], "A truncated PNG is a content error.", [
        step("index", [*six(), add("DCIM/cut.png", "truncated")], report={"errors": 1, "embedded": 6})]),
    scenario("too-big-for-memory", ["R10"], "A header claiming 10 gigapixels is refused before any pixel.", [
        step("index", [*six(), add("DCIM/huge.png", "bomb")], report={"errors": 1, "embedded": 6})]),
    scenario("retry-errors-asked", ["R10"], "retry_errors decodes failed photos again.", [
        step("index", [*six(), add("DCIM/notes.jpg", "not-an-image")]),
        step("retry", run={"retry_errors": True}, report={"errors": 1, "skipped_errors": 0})]),
    scenario("unreadable-retried", ["R11"], "A photo that cannot be read is retried every run until it can be.", [
        step("index", [*six(), add("DCIM/locked.png", "orange"), {"unreadable": "DCIM/locked.png"}],
             report={"errors": 1, "embedded": 6}),
        step("still locked", report={"errors": 1, "skipped_errors": 0}),
        step("unlocked", [{"readable": "DCIM/locked.png"}], report={"embedded": 1, "errors": 0})]),
    scenario("indexed-photo-unreadable", ["R11"], "An indexed photo that becomes unreadable keeps its vector.", [
        step("index", six()),
        step("touched and locked", [{"touch": "DCIM/red.png"}, {"unreadable": "DCIM/red.png"}],
             report={"errors": 1, "embedded": 0, "touched": 0}, generation_changed=False),
        step("unlocked", [{"readable": "DCIM/red.png"}], report={"touched": 1})]),
    scenario("cloud-only-waits", ["R11"], "A photo only in the cloud is not downloaded; it waits.", [
        step("index", [*six(), add("DCIM/cloud.png", "navy"), {"cloud": "DCIM/cloud.png"}],
             report={"errors": 1, "embedded": 6}),
        step("downloaded by the user", [{"cloud": "DCIM/cloud.png", "only": False}], report={"embedded": 1})]),
    scenario("root-gone", ["R12"], "An unmounted library changes nothing.", [
        step("index", six()),
        step("unmounted", [{"root_gone": True}], outcome="RootUnavailable", generation_changed=False),
        step("mounted again", [{"root_back": True}], report={"unchanged": 6, "deleted": 0})]),
    scenario("root-emptied", ["R12"], "An emptied library changes nothing unless allowed.", [
        step("index", six()),
        step("emptied", [{"delete": f"DCIM/{n}.png"} for n in ("red", "green", "blue", "yellow", "purple", "cyan")],
             outcome="RootUnavailable"),
        step("emptied, allowed", run=ALLOW, report={"deleted": 6})]),
    scenario("most-of-library-gone", ["R13"], "Most of the library vanishing at once is withheld.", [
        step("index", [*six(), add("DCIM/pink.png", "pink"), add("DCIM/navy.png", "navy")]),
        step("five of eight gone", [{"delete": f"DCIM/{n}.png"} for n in ("red", "green", "blue", "yellow", "purple")],
             report={"withheld": 5, "deleted": 0}),
        step("allowed", run=ALLOW, report={"deleted": 5, "withheld": 0})]),
    scenario("a-few-gone", ["R13", "R6"], "Less than half the library gone is deleted as usual.", [
        step("index", [*six(), add("DCIM/pink.png", "pink"), add("DCIM/navy.png", "navy")]),
        step("three of eight gone", [{"delete": f"DCIM/{n}.png"} for n in ("red", "green", "blue")],
             report={"deleted": 3, "withheld": 0})]),
    scenario("partial-access", ["R14"], "Under partial access nothing is marked deleted.", [
        step("index", six()),
        step("selected photos only", [{"partial_access": True}, {"delete": "DCIM/red.png"},
                                      add("DCIM/pink.png", "pink")],
             report={"withheld": 1, "deleted": 0, "embedded": 1}),
        step("full access again", [{"full_access": True}, add("DCIM/red.png", "red")],
             report={"unchanged": 6, "touched": 1, "deleted": 0})]),
    scenario("another-model-refused", ["R15"], "Vectors of two models never mix.", [
        step("index", six()),
        step("other model", run={"model": "other"}, outcome="ModelMismatch", generation_changed=False)]),
    scenario("another-model-reindexed", ["R15", "R16"], "reindex drops every vector and embeds again.", [
        step("index", six()),
        step("other model, reindex", run={"model": "other", "reindex": True}, report={"embedded": 6})]),
    scenario("another-precision", ["R15"], "int8 vectors of the same model are another binding.", [
        step("index", six()),
        step("int8", run={"model": "demo-int8"}, outcome="ModelMismatch"),
        step("int8, reindex", run={"model": "demo-int8", "reindex": True}, report={"embedded": 6})]),
    scenario("another-preprocessing", ["R15"], "Another preprocessing of the same model is refused.", [
        step("index", six()),
        step("new preprocessing", run={"model": "demo-reprocessed"}, outcome="ModelMismatch")]),
    scenario("errors-retried-after-bundle-change", ["R15", "R10"], "A new bundle tries failed photos again.", [
        step("index", [*six(), add("DCIM/notes.jpg", "not-an-image")]),
        step("another bundle folder", run={"bundle": "bundle-2"}, report={"errors": 1, "skipped_errors": 0})]),
    scenario("errors-retried-after-backend-change", ["R15", "R16"], "A new backend tries failed photos again.", [
        step("index", [*six(), add("DCIM/cut.png", "truncated")]),
        step("pte backend", run={"backend": "pte"}, report={"errors": 1, "skipped_errors": 0})]),
    scenario("codebooks-added", ["R17"], "Codebooks arriving encode every stored vector, embedding nothing.", [
        step("index", six()),
        step("with codebooks", run=BOOKS, report={"unchanged": 6, "embedded": 0}, generation_changed=True)]),
    scenario("codebooks-changed", ["R17"], "New codebooks re-encode every code.", [
        step("index", six(), run=BOOKS),
        step("other codebooks", run={"codebooks": "books-b"}, report={"embedded": 0}, generation_changed=True)]),
    scenario("codebooks-removed", ["R17"], "A bundle without codebooks clears the codes.", [
        step("index", six(), run=BOOKS),
        step("no codebooks", report={"embedded": 0}, generation_changed=True)]),
    scenario("new-photos-get-codes", ["R17", "R9"], "Photos embedded under codebooks get codes with their vectors.", [
        step("index", six(), run=BOOKS),
        step("add", [add("DCIM/pink.png", "pink")], run=BOOKS, report={"embedded": 1})]),
    scenario("killed-mid-batch", ["R9", "R20"], "A kill loses the batch in hand; the rest resumes once.", [
        step("index, killed in the second batch", [*six(), add("DCIM/pink.png", "pink"), add("DCIM/navy.png", "navy")],
             run={"kill_after_batches": 1}, outcome="killed"),
        step("resumed", report={"unchanged": 4, "embedded": 4}),
        step("again", report={"unchanged": 8, "embedded": 0})]),
    scenario("killed-twice-resumes", ["R9", "R20"], "Two kills in different batches still converge.", [
        step("killed after one batch", [*six(), add("DCIM/pink.png", "pink"), add("DCIM/navy.png", "navy")],
             run={"kill_after_batches": 1, "batch_size": 2}, outcome="killed"),
        step("the photos in hand decoded alone, killed later", run={"kill_after_batches": 3, "batch_size": 2},
             outcome="killed"),
        step("resumed", run={"batch_size": 2}, report={"unchanged": 6, "embedded": 2, "errors": 0}),
        step("again", report={"unchanged": 8})]),
    scenario("decoder-crash-quarantined", ["R20"], "A photo that kills the process twice is quarantined.", [
        step("crash", [*six(), {"crash_on": "purple"}], outcome="killed"),
        step("crash again, alone", outcome="killed"),
        step("quarantined", report={"errors": 1}),
        step("stays quarantined", report={"skipped_errors": 1, "embedded": 0})]),
    scenario("tombstones-purged", ["R19", "R6"], "Tombstones older than 30 days are removed.", [
        step("index", six()),
        step("delete", [{"delete": "DCIM/cyan.png"}], report={"deleted": 1}),
        step("31 days later", [{"days": 31}], report={"purged": 1}),
        step("back after the purge", [add("DCIM/cyan.png", "cyan")], report={"embedded": 1, "restored": 0})]),
    scenario("tombstones-kept-within-retention", ["R19", "R7"], "A tombstone younger than 30 days restores.", [
        step("index", six()),
        step("delete", [{"delete": "DCIM/cyan.png"}]),
        step("29 days later", [{"days": 29}], report={"purged": 0}),
        step("back", [add("DCIM/cyan.png", "cyan")], report={"restored": 1, "embedded": 0})]),
    scenario("facts-read", ["R21"], "What a photo says about itself is stored with its vector, and kept by touch and move.", [
        step("index photos with EXIF", [*exif_photos(), add("DCIM/red.png", "red"), add("DCIM/notes.jpg", "not-an-image")],
             report={"embedded": 7, "errors": 1}, facts={
                 "DCIM/lisbon.jpg": {"taken_at": "2024-07-14T18:32:05", "taken_offset": "+01:00", "taken_source": "exif",
                                     "place_country": "Portugal", "camera_make": "FUJIFILM", "format": "jpeg"},
                 "DCIM/sydney.jpg": {"place_city": "Sydney", "camera_model": "iPhone 15 Pro"},
                 "DCIM/canon.jpg": {"taken_offset": None, "latitude": None, "place_city": None},
                 "DCIM/ocean.jpg": {"latitude": 30.0, "place_city": None, "taken_source": "file"},
                 "DCIM/broken-exif.jpg": {"taken_source": "file", "latitude": None, "camera_make": "Canon",
                                          "camera_model": None},
                 "DCIM/new-york.png": {"taken_offset": "-04:00", "format": "png", "place_country": "United States"},
                 "DCIM/red.png": {"taken_source": "file", "taken_offset": "+00:00", "format": "png"},
                 "DCIM/notes.jpg": {"taken_source": None, "format": None}}),
        step("touch, move and modify", [{"touch": "DCIM/lisbon.jpg"}, {"move": "DCIM/sydney.jpg", "to": "Trips/sydney.jpg"},
                                        {"modify": "DCIM/canon.jpg", "content": "ocean"}],
             report={"touched": 1, "moved": 1, "embedded": 1}, facts={
                 "DCIM/lisbon.jpg": {"place_country": "Portugal"}, "Trips/sydney.jpg": {"place_city": "Sydney"},
                 "DCIM/canon.jpg": {"camera_model": None, "latitude": 30.0}})]),
    scenario("facts-filled-after-migration", ["R22", "R2"],
             "A store migrated from schema version 1 gets its photos' facts on the next run, embedding nothing.", [
        step("index", [*exif_photos()[:2], add("DCIM/red.png", "red"), add("DCIM/notes.jpg", "not-an-image")]),
        step("facts forgotten, one photo touched", [{"forget_facts": "*"}, {"touch": "DCIM/sydney.jpg"}],
             report={"facts_filled": 2, "touched": 1, "embedded": 0, "skipped_errors": 1}, embedded=[],
             generation_changed=True, facts={"DCIM/lisbon.jpg": {"place_country": "Portugal"},
                                             "DCIM/sydney.jpg": {"place_country": "Australia"},
                                             "DCIM/red.png": {"taken_source": "file"}}),
        step("again", report={"unchanged": 3, "facts_filled": 0, "embedded": 0}, generation_changed=False)]),
]


def models(bundle: Bundle, contents_found: dict[str, bytes]) -> dict:
    """The scenarios' model identities, each with the reference's vector of every decodable content."""
    def vectors(encoder: BundleEncoder) -> dict[str, list[float]]:
        found = {}
        for data in contents_found.values():
            try:
                pixels = load_photo(data, bundle.preprocess)[0]
            except Exception:  # the contents that are errors have no vector
                continue
            vector = encoder.encode_pixels(pixels[None])[0]
            found[hash_bytes(data)] = [round(float(v), 7) for v in vector]
        return dict(sorted(found.items()))
    fp32 = vectors(BundleEncoder(bundle, "onnx", "fp32"))
    int8 = vectors(BundleEncoder(bundle, "onnx", "int8"))
    base = {"fingerprint": bundle.fingerprint, "dim": bundle.embed_dim, "preprocess_sha256": bundle.preprocess_sha256,
            "preprocess": bundle.preprocess}
    other = hashlib.sha256(b"pocketclip conformance: another model").hexdigest()
    return {
        "demo": {**base, "precision": "fp32", "vectors": fp32},
        "demo-int8": {**base, "precision": "int8", "vectors": int8},
        "demo-reprocessed": {**base, "preprocess_sha256": hashlib.sha256(b"another preprocessing").hexdigest(),
                             "precision": "fp32", "vectors": fp32},
        # Another fingerprint: its vectors are the demo's reversed (only the binding rules are under test).
        "other": {**base, "fingerprint": other, "precision": "fp32",
                  "vectors": {digest: vector[::-1] for digest, vector in fp32.items()}},
    }


def write(bundle: Bundle, out: Path) -> int:
    """Write the scenario folder; the number of scenarios written."""
    if out.exists():
        shutil.rmtree(out)
    (out / "contents").mkdir(parents=True)
    (out / "codebooks").mkdir()
    found = contents()
    for file, data in found.values():
        (out / "contents" / file).write_bytes(data)
    books = {}
    for name, seed in (("books-a", 1), ("books-b", 2)):
        rng = np.random.default_rng(seed)
        centroids = rng.standard_normal((16, 16, bundle.embed_dim // 16)).astype(np.float32) * 0.1
        save_codebooks(Codebooks(centroids), out / "codebooks" / f"{name}.npy")
        books[name] = {"file": f"{name}.npy", "sha256": sha256_path(out / "codebooks" / f"{name}.npy")}
    index = {"contents": {name: file for name, (file, _) in found.items()},
             "models": models(bundle, {name: data for name, (_, data) in found.items()}), "codebooks": books}
    (out / "models.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    shared = load_shared(out)
    for number, spec in enumerate(SCENARIOS, 1):
        path = out / f"{number:02d}-{spec['name']}.json"
        path.write_text(json.dumps({k: v for k, v in spec.items() if k != "steps"} | {"steps": [
            {k: v for k, v in s.items() if k != "checks"} for s in spec["steps"]]}))
        produced, _ = run_scenario(path, shared)
        for index_, (s, got) in enumerate(zip(spec["steps"], produced), 1):
            difference = first_difference(_expanded(s["checks"], got), got) or _facts_difference(s["checks"], got)
            if difference is not None:
                raise SystemExit(f"{spec['name']}: step {index_} ({s['name']}): the reference does not do what the "
                                 f"scenario says: {difference[0]}: expected {difference[1]!r}, got {difference[2]!r}")
            s["expect"] = got
        steps = [{"name": s["name"], **({"events": s["events"]} if s["events"] else {}),
                  **({"run": s["run"]} if s["run"] else {}), "expect": s["expect"]} for s in spec["steps"]]
        record = {"name": spec["name"], "rules": spec["rules"], "description": spec["description"], "steps": steps}
        path.write_text(json.dumps(record, indent=1) + "\n")
    return len(SCENARIOS)


def _facts_difference(checks: dict, got: dict) -> tuple[str, object, object] | None:
    """The first hand-stated fact of a step (`facts={path: {column: value}}`) the reference's store differs from."""
    photos = {p["path"]: p["facts"] for p in got["photos"]}
    for path, columns in checks.get("facts", {}).items():
        for column, value in columns.items():
            if path not in photos or photos[path][column] != value:
                return f"photo {path} {column}", value, photos.get(path, {}).get(column)
    return None


def _expanded(checks: dict, got: dict) -> dict:
    """A step's hand-written facts in the shape of an expectation (report counts merged into the run's)."""
    expected = {key: value for key, value in checks.items() if key != "facts"}
    if "report" in checks:
        expected["report"] = {**(got["report"] or {}), **checks["report"]}
    expected.setdefault("outcome", "ok")
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, help="the demo bundle (ONNX fp32 and int8)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "scenarios"))
    args = parser.parse_args()
    print(f"wrote {write(load_bundle(args.bundle), Path(args.out))} scenarios to {args.out}")


if __name__ == "__main__":
    main()
