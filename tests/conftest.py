"""Shared fixtures: a tiny model config, a private cache folder, no hub access."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is fetched from a hub, ever, in the tests
os.environ.setdefault("POCKETCLIP_CACHE", tempfile.mkdtemp(prefix="pocketclip-test-cache-"))

import pytest  # noqa: E402
from tests_support import tiny  # noqa: E402


@pytest.fixture
def tiny_config():
    from pocketclip.models.towers.configs import ModelConfig
    return ModelConfig.from_dict(tiny())



@pytest.fixture(scope="session")
def fp32_bundle(tmp_path_factory):
    """The demo student's fp32 ONNX and ExecuTorch artifacts and PQ codebooks, exported once for the runtime tests."""
    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.models.towers.checkpoint import load_model
    from pocketclip.models.train.pq import published_codebooks
    from pocketclip.runtime.bundle.manifest import load_bundle

    out = tmp_path_factory.mktemp("fp32-bundle") / "bundle"
    model = load_model("demo-student")
    export_bundle(model, out, ["onnx", "pte"], ["fp32"], gallery=20, captions=10,
                  codebooks=published_codebooks(model))
    return load_bundle(out)


@pytest.fixture(scope="session")
def int8_bundle(tmp_path_factory):
    """The demo student's fp32 and int8 ONNX and ExecuTorch artifacts (the int8 text towers' token table as
    int8 rows) with its PQ codebooks; golden gallery as in a real export, so the int8 bars mean something."""
    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.models.towers.checkpoint import load_model
    from pocketclip.models.train.pq import published_codebooks
    from pocketclip.runtime.bundle.manifest import load_bundle

    out = tmp_path_factory.mktemp("int8-bundle") / "bundle"
    model = load_model("demo-student")
    export_bundle(model, out, ["onnx", "pte"], ["fp32", "int8"], gallery=200, captions=50,
                  codebooks=published_codebooks(model))
    return load_bundle(out)


@pytest.fixture(scope="session")
def pq4_bundle(tmp_path_factory):
    """The demo student with its published 4-bit codebooks (32 x 16, packed nibbles) and their golden codes;
    ONNX fp32 only, which is all the PQ checks need."""
    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.models.towers.checkpoint import load_model
    from pocketclip.models.train.pq import published_codebooks
    from pocketclip.runtime.bundle.manifest import load_bundle

    out = tmp_path_factory.mktemp("pq4-bundle") / "bundle"
    model = load_model("demo-student")
    books = published_codebooks(model, "pq4")
    assert books is not None, "no 4-bit codebooks published: python -m pocketclip.models.train.pq " \
                              "models/recipes/demo-student-pq4.json --out runs/pq4 --publish"
    export_bundle(model, out, ["onnx"], ["fp32"], gallery=20, captions=10, codebooks=books)
    return load_bundle(out)


@pytest.fixture
def photo_folder(tmp_path):
    """A folder of 24 demo photos (JPEG), 8 of them in a subfolder."""
    from tests_support import draw_photos

    root = tmp_path / "photos"
    draw_photos(root, 24)
    return root
