"""A bundle's two towers as one encoder: photos and texts in, normalised float32 vectors out.

Picks the artifact of the asked format and precision from the manifest, verifies its sha256
before loading it, and feeds it the batch size it was exported for.
"""
from __future__ import annotations

import numpy as np

from runtime.backends import TorchTower, open_tower
from runtime.bundle import Bundle
from runtime.tokenizer import ClipTokenizer


class BundleEncoder:
    def __init__(self, bundle: Bundle, fmt: str = "onnx", precision: str = "fp32", threads: int = 0):
        """`fmt` 'torch' runs the eager PyTorch model the bundle came from (the parity reference)."""
        self.bundle, self.fmt, self.precision = bundle, fmt, precision
        if fmt == "torch":
            self.image_entry = self.text_entry = {"inputs": [{"shape": ["batch"]}]}
            self._image, self._text = TorchTower(bundle.manifest, "image"), TorchTower(bundle.manifest, "text")
        else:
            self.image_entry = bundle.artifact("image", fmt, precision)
            self.text_entry = bundle.artifact("text", fmt, precision)
            self._image = open_tower(bundle.verified(self.image_entry["file"]), fmt,
                                     self.image_entry["inputs"][0]["name"], threads)
            self._text = open_tower(bundle.verified(self.text_entry["file"]), fmt,
                                    self.text_entry["inputs"][0]["name"], threads)
        text = bundle.manifest["text"]
        self.tokenizer = ClipTokenizer(bundle.verified(text["files"]["merges"]), text["context_length"])

    @staticmethod
    def _fixed_batch(entry: dict) -> int | None:
        first = entry["inputs"][0]["shape"][0]
        return first if isinstance(first, int) else None

    def _run(self, tower, entry: dict, batch: np.ndarray) -> np.ndarray:
        step = self._fixed_batch(entry) or len(batch)
        if len(batch) == 0:
            return np.zeros((0, self.bundle.manifest["model"]["embed_dim"]), dtype=np.float32)
        return np.concatenate([tower(batch[i:i + step]) for i in range(0, len(batch), step)])

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) preprocessed float32 -> (N, D)."""
        return self._run(self._image, self.image_entry, np.ascontiguousarray(pixels, dtype=np.float32))

    def encode_ids(self, ids: np.ndarray) -> np.ndarray:
        return self._run(self._text, self.text_entry, ids)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self.encode_ids(self.tokenizer(texts))
