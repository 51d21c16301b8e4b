"""Preprocessing: orientation first, any mode to RGB, shortest side, centre crop, CLIP normalisation."""
import numpy as np
import pytest
from PIL import Image

from pocketclip.runtime.bundle.preprocess import normalise, preprocess_image, resize_and_crop, to_rgb

SPEC = {"size": 32, "resample": "bicubic", "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25),
        "exif_transpose": True, "background": (255, 255, 255)}


def test_output_shape_and_normalisation():
    x = preprocess_image(Image.new("RGB", (100, 60), (255, 0, 128)), SPEC)
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    assert np.allclose(x[0], 2.0) and np.allclose(x[1], -2.0)
    assert np.allclose(x[2], (128 / 255 - 0.5) / 0.25, atol=1e-6)


def test_shortest_side_then_centre_crop_keeps_the_middle():
    image = Image.new("RGB", (300, 100), (0, 0, 0))
    image.paste((255, 255, 255), (100, 0, 200, 100))  # white middle third
    square = np.asarray(resize_and_crop(image, 32))
    assert square.shape == (32, 32, 3) and square.min() > 200


def test_exif_orientation_is_applied_first(tmp_path):
    image = Image.new("RGB", (80, 40), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 40, 40))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    image.save(tmp_path / "p.jpg", exif=exif.tobytes(), quality=95)
    with Image.open(tmp_path / "p.jpg") as photo:
        x = preprocess_image(photo, {**SPEC, "size": 40})
    # After rotation the picture is 40 wide, 80 tall, white on top: the centre crop is split.
    top, bottom = x[:, :10].mean(), x[:, -10:].mean()
    assert top > 1.5 and bottom < -1.5


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "CMYK", "L", "I;16"])
def test_every_mode_becomes_rgb(mode):
    image = Image.new("RGB", (8, 8), (10, 200, 30)).convert(mode) if mode != "I;16" else \
        Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16))
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    if mode == "I;16":
        assert np.asarray(rgb).min() == 255  # 16-bit white stays white, not clipped garbage


def test_transparency_is_flattened_on_the_manifest_background():
    clear = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert np.asarray(to_rgb(clear, (255, 255, 255))).min() == 255
    assert np.asarray(to_rgb(clear, (0, 0, 0))).max() == 0


def test_normalise_matches_the_formula():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 5, 3), dtype=np.uint8)
    x = normalise(rgb, SPEC["mean"], SPEC["std"])
    assert np.allclose(x.transpose(1, 2, 0), (rgb / 255 - 0.5) / 0.25, atol=1e-6)


def test_transparent_pixels_take_the_background_and_opaque_ones_keep_their_colour():
    half = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    half.paste((0, 0, 255, 255), (0, 0, 2, 4))  # left half opaque blue
    flat = np.asarray(to_rgb(half))  # the default background: white
    assert flat[:, :2].tolist() == [[[0, 0, 255]] * 2] * 4 and flat[:, 2:].tolist() == [[[255, 255, 255]] * 2] * 4
    palette = half.convert("P")  # a palette picture with a transparent index
    palette.info["transparency"] = palette.getpixel((3, 0))
    flat = np.asarray(to_rgb(palette, (0, 0, 0)))
    assert flat[0, 3].tolist() == [0, 0, 0] and flat[0, 0].tolist() == [0, 0, 255]


def test_the_manifest_defaults_apply_when_the_spec_leaves_them_out(tmp_path):
    spec = {"size": 8, "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}  # no background, orientation, resample
    x = preprocess_image(Image.new("LA", (8, 8), (0, 0)), spec)
    assert np.allclose(x, 2.0)  # transparent: flattened onto white
    image = Image.new("RGB", (80, 40), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(tmp_path / "p.jpg", exif=exif.tobytes(), quality=95)
    with Image.open(tmp_path / "p.jpg") as photo:
        x = preprocess_image(photo, {**spec, "size": 40})
    assert x[:, :10].mean() > 1.5 and x[:, -10:].mean() < -1.5  # EXIF orientation applied by default


def test_the_square_is_resize_then_crop_and_a_strip_is_never_scaled_whole(monkeypatch):
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 300, 3), dtype=np.uint8))
    expected = picture.resize((107, 32), Image.Resampling.BICUBIC).crop((38, 0, 70, 32))
    assert np.array_equal(np.asarray(resize_and_crop(picture, 32)), np.asarray(expected))
    sizes = []
    real = Image.Image.resize
    monkeypatch.setattr(Image.Image, "resize", lambda self, size, *a, **k: sizes.append(size) or real(self, size, *a, **k))
    strip = Image.new("RGB", (1_000_000, 1), (40, 80, 120))
    square = resize_and_crop(strip, 32)
    assert square.size == (32, 32) and sizes == [(32, 32)]  # only the square that survives the crop is made
    assert np.asarray(square).reshape(-1, 3).tolist()[0] == [40, 80, 120]
