"""A raw sample -> model inputs, through the runtime's own decoding and preprocessing (what phones
are checked against), plus the optional train-time random resized crop.

Augmentation is off by default. When a recipe turns it on (`"augment": {"scale": [0.5, 1.0]}`), each
image is cropped to a random box covering `scale` of its area with an aspect ratio in `ratio`, then
resized to the model input; the crop is a pure function of (seed, epoch, sample position), so a
resumed run draws the same crops.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from pocketclip.models.data.sources import RawSample
from pocketclip.runtime.bundle.preprocess import RESAMPLE, normalise, preprocess_image, to_rgb
from pocketclip.runtime.indexing.decode import DecodeError, load_photo


@dataclass(frozen=True)
class RandomResizedCrop:
    scale: tuple[float, float] = (0.5, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)

    @classmethod
    def from_recipe(cls, cfg: Mapping | None) -> "RandomResizedCrop | None":
        if not cfg:
            return None
        crop = cls(tuple(cfg.get("scale", cls.scale)), tuple(cfg.get("ratio", cls.ratio)))
        if not (0 < crop.scale[0] <= crop.scale[1] <= 1 and 0 < crop.ratio[0] <= crop.ratio[1]):
            raise ValueError(f"augment: need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1], got {cfg}")
        return crop

    def __call__(self, image: Image.Image, spec: Mapping, rng: np.random.Generator) -> np.ndarray:
        if spec.get("exif_transpose", True):
            image = ImageOps.exif_transpose(image)
        rgb = to_rgb(image, tuple(spec.get("background", (255, 255, 255))))
        w, h = rgb.size
        for _ in range(10):
            area = w * h * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
            cw, ch = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < cw <= w and 0 < ch <= h:
                x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
                break
        else:  # no box fits (an extreme panorama): the largest centred square
            cw = ch = min(w, h)
            x, y = (w - cw) // 2, (h - ch) // 2
        size = int(spec["size"])
        box = rgb.resize((size, size), RESAMPLE[spec.get("resample", "bicubic")], box=(x, y, x + cw, y + ch))
        return normalise(box, spec["mean"], spec["std"])


def sample_pixels(raw: RawSample, spec: Mapping, augment: RandomResizedCrop | None = None,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """(3, S, S) float32, or DecodeError with the reason the sample is skipped."""
    if raw.error:
        raise DecodeError(f"unreadable shard data ({raw.error})")
    if raw.image is None:
        raise DecodeError("no image in the sample")
    finish = (lambda image: augment(image, spec, rng)) if augment else None
    if isinstance(raw.image, Image.Image):
        return finish(raw.image) if finish else preprocess_image(raw.image, spec)
    if isinstance(raw.image, bytes):
        return load_photo(raw.image, spec, finish=finish)[0]
    if finish:
        if not raw.image.is_file():
            raise DecodeError("no such file")
        return load_photo(raw.image.read_bytes(), spec, finish=finish)[0]
    return load_photo(raw.image, spec)[0]


def image_skip_reason(raw: RawSample) -> str:
    """The counted reason a sample's image could not be used (after sample_pixels raised)."""
    return "unreadable shard data" if raw.error else "no image" if raw.image is None else "undecodable image"


def skip_reason(raw: RawSample) -> str | None:
    """Why a sample's caption makes it unusable, or None."""
    if raw.caption is None or not raw.caption.strip():
        return "no caption"
    return None
