"""A real export of the committed demo student: every format, validated, hashed, self-contained."""
import json
import shutil

import numpy as np
import pytest
from tests_support import tiny

import pocketclip.runtime.parity.quality as quality
from pocketclip.exporter.bundle_writer import export_bundle, plan
from pocketclip.exporter.validate import ExportValidationError
from pocketclip.models.towers.checkpoint import fingerprint, load_model
from pocketclip.models.towers.configs import ModelConfig
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.runtime.bundle.backends import open_tower
from pocketclip.runtime.bundle.manifest import BundleHashMismatch, load_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "bundle"
    export_bundle(load_model("demo-student"), out, ["onnx", "pte", "mlpackage"], gallery=200, captions=50)
    return load_bundle(out)


def test_every_format_and_precision_is_listed_with_hash_and_size(bundle):
    got = {(a["tower"], a["format"], a["precision"]) for a in bundle.artifacts}
    for tower in ("image", "text"):
        for fmt, precisions in (("onnx", ("fp32", "int8")), ("pte", ("fp32", "int8")),
                                ("mlpackage", ("fp16", "int8", "palettized-6"))):
            for precision in precisions:
                assert (tower, fmt, precision) in got
    for entry in bundle.artifacts:
        assert entry["sha256"] == bundle.manifest["files"][entry["file"]]["sha256"]
        assert entry["bytes"] > 0 and entry["validated_on"]
    assert bundle.fingerprint == fingerprint(load_model("demo-student"))


def test_runnable_artifacts_met_their_bars(bundle):
    for entry in bundle.artifacts:
        if entry["format"] == "mlpackage":
            assert "measured" not in entry and "ios" in entry["validated_on"].lower()
            continue
        m, bar = entry["measured"], entry["tolerance"]
        assert m["finite"] and m["cosine_min"] >= bar["cosine_min"], entry["file"]
        if entry["precision"] == "fp32":
            assert m["max_abs"] <= 1e-4
        else:
            assert m["top10_overlap"] >= 0.9
    pte = [e for e in bundle.artifacts if e["format"] == "pte"]
    assert all(0 < e["delegated_share"] <= 1 for e in pte)


def test_int8_artifacts_are_smaller(bundle):
    size = {(a["tower"], a["format"], a["precision"]): a["bytes"] for a in bundle.artifacts}
    assert size[("image", "onnx", "int8")] < 0.5 * size[("image", "onnx", "fp32")]
    assert size[("image", "pte", "int8")] < 0.5 * size[("image", "pte", "fp32")]
    # the token table is int8 rows too (exporter/token_table.py), not left in float by the XNNPACK quantizer
    assert size[("text", "pte", "int8")] < 0.5 * size[("text", "pte", "fp32")]
    assert size[("text", "onnx", "int8")] < 0.5 * size[("text", "onnx", "fp32")]
    assert size[("image", "mlpackage", "palettized-6")] < size[("image", "mlpackage", "fp16")]


def test_coreml_spec_names_shapes_and_ops(bundle):
    entry = bundle.artifact("text", "mlpackage", "fp16")
    assert entry["inputs"][0]["name"] == "ids" and entry["inputs"][0]["dtype"] == "int32"
    assert entry["inputs"][0]["shape"] == [1, 77]
    assert entry["outputs"][0]["name"] == "text_embeds"
    assert "layer_norm" in entry["ops"] and "softmax" in entry["ops"]
    image = bundle.artifact("image", "mlpackage", "fp16")
    assert image["inputs"][0]["shape_range"][0] == [1, 64]


def test_golden_files_reproduce_through_a_copied_bundle(bundle, tmp_path):
    moved = shutil.copytree(bundle.root, tmp_path / "elsewhere")
    copy = load_bundle(moved)
    copy.verify_all()
    entry = copy.artifact("image", "onnx", "fp32")
    tower = open_tower(copy.verified(entry["file"]), "onnx", "pixels")
    pixels = np.load(copy.verified("golden/pixels.npy"))
    expected = np.load(copy.verified("golden/image_embeddings.npy"))
    assert np.abs(tower(pixels) - expected).max() <= 1e-4
    golden = json.loads(copy.verified("golden/golden.json").read_text())
    assert len(golden["images"]) == pixels.shape[0] and len(golden["texts"]) == np.load(
        copy.verified("golden/ids.npy")).shape[0]


def test_one_changed_byte_is_refused_naming_the_file(bundle, tmp_path):
    moved = load_bundle(shutil.copytree(bundle.root, tmp_path / "tampered"))
    entry = moved.artifact("text", "onnx", "int8")
    data = bytearray(moved.path(entry["file"]).read_bytes())
    data[len(data) // 2] ^= 1
    moved.path(entry["file"]).write_bytes(bytes(data))
    with pytest.raises(BundleHashMismatch, match=entry["file"]):
        moved.verified(entry["file"])
    package = moved.artifact("image", "mlpackage", "int8")["file"]
    weight = next(p for p in moved.path(package).rglob("*.bin"))
    blob = bytearray(weight.read_bytes())
    blob[len(blob) // 2] ^= 1
    weight.write_bytes(bytes(blob))
    with pytest.raises(BundleHashMismatch, match=package):
        moved.verified(package)
    with pytest.raises(BundleHashMismatch):
        moved.verify_all()


def test_a_missed_bar_raises_and_leaves_no_bundle(tmp_path, monkeypatch):
    monkeypatch.setitem(quality.BARS, "fp32", {"cosine_min": 1.5, "max_abs": 1e-4})  # unreachable
    with pytest.raises(ExportValidationError, match="cosine"):
        export_bundle(DualEncoder(ModelConfig.from_dict(tiny())).eval(), tmp_path / "b", ["onnx"], ["fp32"],
                      gallery=20, captions=10)
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.partial").exists()


def test_bad_options_fail_before_any_work():
    with pytest.raises(ValueError, match="valid: pte, onnx, mlpackage"):
        plan(["tflite"], None)
    with pytest.raises(ValueError, match="unknown precision"):
        plan(["onnx"], ["int4"])


@pytest.mark.parametrize("fmt", ["onnx", "pte"])
def test_bundle_encoder_reproduces_golden_vectors(bundle, fmt):
    from pocketclip.runtime.bundle.encoders import BundleEncoder

    encoder = BundleEncoder(bundle, fmt, "fp32")
    golden = json.loads(bundle.verified("golden/golden.json").read_text())
    ids = encoder.tokenizer(golden["texts"])
    assert np.array_equal(ids, np.load(bundle.verified("golden/ids.npy")))
    texts = encoder.encode_texts(golden["texts"])
    assert np.abs(texts - np.load(bundle.verified("golden/text_embeddings.npy"))).max() <= 1e-4
    pixels = np.load(bundle.verified("golden/pixels.npy"))
    images = encoder.encode_pixels(pixels)
    assert np.abs(images - np.load(bundle.verified("golden/image_embeddings.npy"))).max() <= 1e-4
    assert encoder.encode_pixels(pixels[:0]).shape == (0, bundle.manifest["model"]["embed_dim"])


def test_golden_photo_files_preprocess_to_the_golden_tensors(bundle):
    from PIL import Image

    from pocketclip.runtime.bundle.preprocess import preprocess_image

    golden = json.loads(bundle.verified("golden/golden.json").read_text())
    pixels = np.load(bundle.verified("golden/pixels.npy"))
    for row, name in zip(pixels, golden["images"]):
        with Image.open(bundle.verified(f"golden/{name}")) as photo:
            assert np.array_equal(preprocess_image(photo, bundle.preprocess), row), name
