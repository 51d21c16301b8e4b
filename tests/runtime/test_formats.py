"""Every format a camera writes: AVIF and WebP through Pillow, camera RAW through LibRaw (its embedded
preview, or a half-size demosaic when it has none), and hostile files of each."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from raw_files import dng

from pocketclip.models.data.demo_world import sample
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.decode import DecodeError, load_photo
from pocketclip.runtime.indexing.indexer import index_folder
from pocketclip.runtime.store import Store


@pytest.fixture
def encoder(fp32_bundle):
    return BundleEncoder(fp32_bundle, "onnx", "fp32")


def _picture(i: int, size=(320, 240)) -> Image.Image:
    return sample(i, "val", 256)[0].resize(size)


def _vectors(db: Store) -> dict[str, np.ndarray]:
    rows = db.execute("SELECT p.path, e.vector FROM photos p JOIN embeddings e ON e.photo_id = p.id").fetchall()
    return {path: np.frombuffer(blob, dtype="<f2").astype(np.float32) for path, blob in rows}


def test_avif_webp_and_raw_are_indexed_like_the_jpeg_of_the_same_picture(tmp_path, encoder):
    root = tmp_path / "photos"
    root.mkdir()
    picture = _picture(1)
    picture.save(root / "reference.jpg", quality=95)
    picture.save(root / "modern.avif", quality=90)
    picture.save(root / "web.webp", quality=90)
    (root / "camera.dng").write_bytes(dng(picture))  # with the JPEG preview cameras embed
    (root / "camera.jpg").write_bytes((root / "reference.jpg").read_bytes()[:-2] + b"\xff\xd9")  # its JPEG twin
    (root / "bare.dng").write_bytes(dng(picture, preview=False))  # no preview: demosaiced at half size
    (root / "sideways.dng").write_bytes(dng(picture.transpose(Image.Transpose.ROTATE_90), orientation=6))
    db = Store.open(tmp_path / "index.db")
    db.bind_model(encoder.bundle.fingerprint, encoder.bundle.embed_dim, "x")
    report = index_folder(root, db, encoder)
    assert (report.embedded, report.errors) == (7, 0)
    vectors = _vectors(db)
    reference = vectors["reference.jpg"]
    for name in ("modern.avif", "web.webp", "camera.dng", "camera.jpg", "sideways.dng"):
        assert float(vectors[name] @ reference) > 0.98, name
    assert float(vectors["bare.dng"] @ reference) > 0.9  # LibRaw's own colour rendering, not the JPEG's
    sizes = dict(db.execute("SELECT path, width || 'x' || height FROM photos").fetchall())
    assert sizes["camera.dng"] == "320x240" and sizes["sideways.dng"] == "240x320"  # as stored, as for a JPEG


def test_the_raw_preview_is_used_not_a_demosaic(encoder):
    """The preview (a JPEG of the picture) and a demosaic (LibRaw's rendering of the mosaic) differ; a RAW
    with a preview decodes to the preview's pixels."""
    picture = _picture(2)
    jpeg = io.BytesIO()
    picture.save(jpeg, "JPEG", quality=90)
    spec = encoder.bundle.preprocess
    preview, _, _ = load_photo(jpeg.getvalue(), spec)
    with_preview, _, _ = load_photo(dng(picture), spec, name="a.nef")
    without, _, _ = load_photo(dng(picture, preview=False), spec, name="a.dng")
    assert np.abs(with_preview - preview).max() < 1e-6 < np.abs(without - preview).mean()


@pytest.mark.parametrize("name, data", [
    ("cut.dng", dng(_picture(3))[:2000]),
    ("noise.cr2", bytes(range(256)) * 64),
    ("empty.arw", b""),
    ("cut.avif", None),
])
def test_hostile_raw_and_avif_files_are_one_line_errors(tmp_path, encoder, name, data):
    if data is None:
        buffer = io.BytesIO()
        _picture(3).save(buffer, "AVIF")
        data = buffer.getvalue()[:300]
    with pytest.raises(DecodeError) as caught:
        load_photo(data, encoder.bundle.preprocess, name=name)
    assert "\n" not in str(caught.value)
    root = tmp_path / "photos"
    root.mkdir()
    (root / name).write_bytes(data)
    _picture(4).save(root / "fine.jpg")
    db = Store.open(tmp_path / "index.db")
    db.bind_model(encoder.bundle.fingerprint, encoder.bundle.embed_dim, "x")
    report = index_folder(root, db, encoder)
    assert (report.embedded, report.errors) == (1, 1)
