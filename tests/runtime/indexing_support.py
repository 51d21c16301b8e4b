"""What the indexer tests (test_indexing_rules, _guards, _failures) share: small random pictures, a store bound to
model "m", a stand-in encoder (a fixed random projection of the pixels, no bundle) and a clock a minute a stamp."""
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image

from pocketclip.runtime.indexing.indexer import index_library
from pocketclip.runtime.indexing.source import FolderSource, load_in_parts, photo_facts
from pocketclip.runtime.store import Store

SPEC = {"size": 8, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
PROJECTION = np.random.default_rng(0).normal(size=(3 * 8 * 8, 8)).astype(np.float32)


def embed(photos, pixels):
    vectors = pixels.reshape(len(pixels), -1) @ PROJECTION
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Clock:
    """indexed_at stamps one minute apart, from 2026-01-01; `jump` moves the days on."""

    def __init__(self):
        self.moment = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> str:
        self.moment += timedelta(minutes=1)
        return self.moment.isoformat(timespec="seconds")

    def jump(self, days):
        self.moment += timedelta(days=days)


def picture(path, seed, size=24):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def small_library(tmp_path):
    """(root, db, clock): four pictures a.png to d.png, a store bound to model "m", a fresh Clock."""
    root = tmp_path / "photos"
    for i, name in enumerate(["a.png", "b.png", "c.png", "d.png"]):
        picture(root / name, i)
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", 8, "x")
    return root, db, Clock()


def index(root, db, clock, lines=None, **kwargs):
    return index_library(db, FolderSource(root), "m", SPEC, embed, batch_size=2, workers=1, clock=clock,
                         log=(lines.append if lines is not None else None), **kwargs)


def row(db, path):
    return db.photo_rows()[path]


def served(db):
    """What a search reads: the memory-mapped copy when it is of the store's generation, else the store's rows."""
    arrays = db.open_copy("m")
    return arrays if arrays is not None else db.search_arrays("m")


class TwoReads(FolderSource):
    """The folder, hashed and decoded through content_hash and decode, which the tests' own sources override."""

    def load(self, photo, spec, draft, wanted, facts=False):
        return load_in_parts(self, photo, spec, draft, wanted, photo_facts(photo, photo.absolute), facts)
