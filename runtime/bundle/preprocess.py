"""Photo -> image-tower input, exactly as the manifest's preprocessing spec says, in numpy.

The same function feeds training, export calibration, the golden files and indexing, so a phone
that follows the manifest reproduces these tensors.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PIL import Image, ImageOps

RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
            "lanczos": Image.Resampling.LANCZOS, "nearest": Image.Resampling.NEAREST}


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is flattened onto `background`."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, tuple(background))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clipping at 255.
        return Image.fromarray((np.asarray(image, dtype=np.float64) / 257.0).round().astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


MAX_RESIZED_PIXELS = 16_000_000  # the scaled picture is made whole only below this (48 MB as RGB)


def resize_and_crop(image: Image.Image, size: int, resample: str = "bicubic") -> Image.Image:
    """Scale the shorter side to `size` (aspect kept), then take the centred size x size square.

    A picture of extreme shape (a 1,000,000 x 1 strip scales to 64,000,000 x 64) is never scaled whole: past
    MAX_RESIZED_PIXELS only the square that survives the crop is computed, from the same source region
    (Pillow's `box`), so memory stays bounded by the model input whatever the photo's shape."""
    w, h = image.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
    if new_w * new_h > MAX_RESIZED_PIXELS:
        sx, sy = w / new_w, h / new_h
        return image.resize((size, size), RESAMPLE[resample],
                            box=(left * sx, top * sy, (left + size) * sx, (top + size) * sy))
    image = image.resize((new_w, new_h), RESAMPLE[resample])
    return image.crop((left, top, left + size, top + size))


def normalise(rgb: Image.Image | np.ndarray, mean, std) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, H, W) float32, (x / 255 - mean) / std."""
    x = np.asarray(rgb, dtype=np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def preprocess_image(image: Image.Image, spec: Mapping) -> np.ndarray:
    """A decoded photo -> (3, size, size) float32 per `spec` (the manifest's `preprocess` record)."""
    if spec.get("exif_transpose", True):
        image = ImageOps.exif_transpose(image)
    rgb = to_rgb(image, tuple(spec.get("background", (255, 255, 255))))
    size, resample = int(spec["size"]), spec.get("resample", "bicubic")
    if spec.get("resize", "shortest_side") == "squash":  # SigLIP's: the whole picture, aspect not kept, no crop
        square = rgb.resize((size, size), RESAMPLE[resample])
    else:
        square = resize_and_crop(rgb, size, resample)
    return normalise(square, spec["mean"], spec["std"])
