"""`pocketclip duplicates`: exact copies and near-duplicates, from the index's candidates, as groups."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import pocketclip.runtime.search.duplicates as duplicates_module
from pocketclip.cli import cli
from pocketclip.runtime.library import Library
from pocketclip.runtime.search.duplicates import duplicate_groups


def test_copies_resized_and_reencoded_photos_are_grouped_and_distinct_ones_are_not(tmp_path, photo_folder,
                                                                                   fp32_bundle):
    original = photo_folder / "photo_004.jpg"
    shutil.copy(original, photo_folder / "copy.jpg")
    with Image.open(original) as picture:
        picture.resize((picture.width // 2, picture.height // 2)).save(photo_folder / "small.jpg", quality=60)
    db = tmp_path / "index.db"
    library = Library.create(db, photo_folder, fp32_bundle)
    library.index()
    library.close()
    result = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    family = {"photo_004.jpg", "copy.jpg", "small.jpg"}
    ours = [g for g in groups if {p["path"] for p in g["photos"]} & family]
    assert len(ours) == 1 and {p["path"] for p in ours[0]["photos"]} == family and ours[0]["kind"] == "near"
    assert ours[0]["photos"][0]["score"] == 1.0
    exact = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--threshold", "1", "--json"])
    assert [({p["path"] for p in g["photos"]}, g["kind"]) for g in json.loads(exact.stdout)] == \
        [({"photo_004.jpg", "copy.jpg"}, "exact")]  # at cosine 1, only the same bytes
    for bad in ("0", "1.5", "nan"):
        refused = CliRunner().invoke(cli, ["duplicates", "--db", str(db), "--threshold", bad])
        assert refused.exit_code != 0 and "Traceback" not in refused.output


def test_large_libraries_take_candidates_from_an_inverted_file(monkeypatch):
    monkeypatch.setattr(duplicates_module, "FLAT_UP_TO", 500)
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    planted = np.arange(10, 3000, 150)
    vectors[planted] = vectors[planted - 1] + rng.normal(0, 0.01, (len(planted), 32))
    groups = duplicate_groups(np.arange(3000), vectors.astype(np.float16), [None] * 3000, 0.98)
    assert sorted(tuple(g.ids) for g in groups) == sorted((int(p) - 1, int(p)) for p in planted)


def test_no_photos_or_one_photo_has_no_duplicates():
    assert duplicate_groups(np.arange(1), np.ones((1, 4), np.float16), ["x"], 0.9) == []
