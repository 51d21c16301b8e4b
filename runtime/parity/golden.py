"""The golden set of a bundle, as arrays: what every platform's output is compared with."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketclip.runtime.bundle.contracts import read_contract
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.bundle.preprocess import normalise


@dataclass
class Golden:
    images: list[str]  # photo files, relative to golden/
    texts: list[str]
    pixels: np.ndarray  # (N, 3, S, S) float32: the photo files, preprocessed
    ids: np.ndarray  # (T, 77) int64: the texts, tokenized
    gallery_pixels: np.ndarray  # (G, 3, S, S) float32
    gallery_ids: np.ndarray  # (C, 77) int64
    image_ref: np.ndarray  # fp32 PyTorch embeddings of the rows above
    text_ref: np.ndarray
    gallery_image_ref: np.ndarray
    gallery_text_ref: np.ndarray


def read_golden(load, preprocess: dict) -> Golden:
    """`load(name)` gives the path of golden/NAME; the gallery is stored as uint8 squares."""
    index = read_contract(load("golden.json"), "golden")
    squares = np.load(load("gallery_squares.npy"))
    return Golden(
        images=index["images"], texts=index["texts"],
        pixels=np.load(load("pixels.npy")), ids=np.load(load("ids.npy")),
        gallery_pixels=np.stack([normalise(s, preprocess["mean"], preprocess["std"]) for s in squares]),
        gallery_ids=np.load(load("gallery_ids.npy")),
        image_ref=np.load(load("image_embeddings.npy")), text_ref=np.load(load("text_embeddings.npy")),
        gallery_image_ref=np.load(load("gallery_image_embeddings.npy")),
        gallery_text_ref=np.load(load("gallery_text_embeddings.npy")))


def load_golden(bundle: Bundle) -> Golden:
    """The bundle's golden set, every file checked against its sha256."""
    return read_golden(lambda name: bundle.verified(f"golden/{name}"), bundle.preprocess)
