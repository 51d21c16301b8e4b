"""The golden set every platform checks itself against, written from any pair of fp32 towers (torch-free).

golden/ holds a few photo files (one PNG with transparency, one JPEG with an EXIF rotation, one tall
textured PNG that Pillow resizes vertically first, so the preprocessing contract is exercised), their exact
preprocessed tensors, texts with their token ids, and the fp32 reference embeddings of both; plus a gallery
of demo pictures and captions on which quantized artifacts must keep the top-10 retrieval of fp32. The
exporter writes it from the eager PyTorch model; a pulled model's from its fp32 ONNX pair.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from pocketclip.models.data.demo_world import sample
from pocketclip.runtime.bundle.preprocess import normalise, preprocess_image, resize_and_crop
from pocketclip.runtime.parity.golden import Golden, read_golden

GOLDEN_TEXTS = (
    "two red circles on the left", "a large yellow star in the middle", "", "A photo of 3 small BLUE squares!",
    "émoji 🐶 and ünïcode café", "word " * 40,
)
RENDER = 256
Embed = Callable[[np.ndarray], np.ndarray]  # a batch of inputs -> (N, D) float32
Tokenize = Callable[[list[str]], np.ndarray]


def golden_photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image, _, _ = sample(i, "val", RENDER)
        if i == 0:  # transparency: the manifest says what it is flattened onto
            rgba = image.convert("RGBA")
            alpha = np.full(rgba.size[::-1], 255, dtype=np.uint8)
            alpha[:, : RENDER // 3] = 0
            rgba.putalpha(Image.fromarray(alpha))
            path = folder / f"golden_{i:02d}.png"
            rgba.save(path)
        elif i == 1:  # EXIF orientation 6: stored sideways, shown upright
            exif = Image.Exif()
            exif[0x0112] = 6
            path = folder / f"golden_{i:02d}.jpg"
            image.crop((0, 0, RENDER, RENDER * 3 // 4)).transpose(Image.Transpose.ROTATE_90).save(
                path, quality=92, exif=exif.tobytes())
        elif i == count - 1:  # tall and textured: Pillow resizes it vertically first (see the manifest)
            tall = np.asarray(image.crop((0, 0, RENDER * 5 // 16, RENDER)), dtype=np.int16)
            noise = np.random.default_rng(i).integers(-24, 25, tall.shape)
            path = folder / f"golden_{i:02d}.png"
            Image.fromarray(np.clip(tall + noise, 0, 255).astype(np.uint8)).save(path)
        else:
            path = folder / f"golden_{i:02d}.jpg"
            image.save(path, quality=92)
        paths.append(path)
    return paths


def write_golden_set(folder: Path, spec: dict, tokenize: Tokenize, embed_image: Embed, embed_text: Embed,
                     photos: int = 7, gallery: int = 200, captions: int = 50) -> Golden:
    """Write golden/ with the reference towers `embed_image`, `embed_text` and return its inputs."""
    paths = golden_photos(folder / "images", photos)
    pixels = []
    for path in paths:
        with Image.open(path) as photo:
            pixels.append(preprocess_image(photo, spec))
    pixels = np.stack(pixels)
    ids = tokenize(list(GOLDEN_TEXTS))
    squares = np.stack([np.asarray(resize_and_crop(sample(i, "test", RENDER)[0], spec["size"],
                                                   spec.get("resample", "bicubic"))) for i in range(gallery)])
    gallery_pixels = np.stack([normalise(s, spec["mean"], spec["std"]) for s in squares])
    gallery_texts = [sample(i, "test", 8)[1] for i in range(captions)]
    gallery_ids = tokenize(gallery_texts)
    embed = {
        "image_embeddings": embed_image(pixels),
        "text_embeddings": embed_text(ids),
        "gallery_image_embeddings": embed_image(gallery_pixels),
        "gallery_text_embeddings": embed_text(gallery_ids),
    }
    np.save(folder / "pixels.npy", pixels)
    np.save(folder / "ids.npy", ids)
    np.save(folder / "gallery_squares.npy", squares)  # uint8; normalise() gives the exact input
    np.save(folder / "gallery_ids.npy", gallery_ids)
    for name, value in embed.items():
        np.save(folder / f"{name}.npy", np.asarray(value, dtype=np.float32))
    (folder / "golden.json").write_text(json.dumps({
        "images": [p.relative_to(folder).as_posix() for p in paths],
        "texts": list(GOLDEN_TEXTS),
        "gallery_texts": gallery_texts,
        "note": "pixels.npy rows are the images, preprocessed; ids.npy rows are the texts; "
                "*_embeddings.npy are the fp32 reference outputs for those rows",
    }, indent=2, ensure_ascii=False) + "\n")
    return read_golden(lambda name: folder / name, spec)


def calibration_set(spec: dict, tokenize: Tokenize, count: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Representative inputs for int8 calibration: real demo pictures and captions (train split)."""
    images, texts = [], []
    for i in range(count):
        image, text, _ = sample(10_000 + i, "train", RENDER)
        images.append(preprocess_image(image, spec))
        texts.append(text)
    return np.stack(images), tokenize(texts)
