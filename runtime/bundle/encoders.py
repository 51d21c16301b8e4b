"""A bundle's two towers as one encoder: photos and texts in, normalised float32 vectors out.

Picks the artifact of the asked format and precision from the manifest, verifies its sha256
before loading it, and feeds it the batch size it was exported for.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pocketclip.runtime.bundle.backends import TowerBackend, fixed_batch, open_tower, run_batched
from pocketclip.runtime.bundle.manifest import Bundle, BundleError
from pocketclip.runtime.bundle.tokenizer import ClipTokenizer, HfTokenizer
from pocketclip.runtime.one_line import one_line

# (manifest, "image" | "text") -> tower: how a caller above the runtime hands in the PyTorch reference.
ReferenceFactory = Callable[[dict, str], TowerBackend]


def bundle_tokenizer(bundle: Bundle) -> ClipTokenizer | HfTokenizer:
    """The tokenizer the manifest names, from its verified file: CLIP's merges (what the phones implement)
    or a pulled model's Hugging Face tokenizer.json."""
    text = bundle.manifest["text"]
    if text["tokenizer"] == "hf-tokenizers":
        path = bundle.verified(text["files"]["tokenizer"])
        try:
            return HfTokenizer(path, text["context_length"], text["pad_id"])
        except Exception as exc:  # tokenizers raises its own Exception subclass for a malformed file
            raise BundleError(f"{path}: not a usable tokenizer.json ({one_line(exc)})") from None
    path = bundle.verified(text["files"]["merges"])
    try:
        return ClipTokenizer(path, text["context_length"])
    except (OSError, EOFError, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise BundleError(f"{path}: not a usable CLIP BPE merges file ({exc})") from None


def open_entry(bundle: Bundle, entry: dict, threads: int = 0, spinning: bool = True) -> TowerBackend:
    """An artifact's tower after its sha256 check; a file its runtime cannot load is a BundleError."""
    path = bundle.verified(entry["file"])
    try:
        return open_tower(path, entry["format"], entry["inputs"][0]["name"], threads, entry["tower"],
                          entry["inputs"][0].get("shape"), normalise=not entry.get("l2_normalized", True),
                          spinning=spinning)
    except Exception as exc:  # onnxruntime and ExecuTorch raise their own types for a bad file
        reason = one_line(exc)
        raise BundleError(f"{path}: the {entry['format']} runtime cannot load this {entry['tower']} tower ({reason})"
                          ) from None


class BundleEncoder:
    def __init__(self, bundle: Bundle, fmt: str = "onnx", precision: str = "fp32", threads: int = 0,
                 reference: ReferenceFactory | None = None, spinning: bool = True):
        """`fmt` 'torch' runs the eager PyTorch model the bundle came from (the parity reference),
        built by `reference` (pocketclip.models.towers.reference_tower.torch_reference). `spinning` False:
        for indexing, where the runtime's threads share the cores with the decoding workers."""
        self.bundle, self.fmt, self.precision = bundle, fmt, precision
        if fmt == "torch":
            if reference is None:
                raise BundleError("the torch backend needs the PyTorch reference from pocketclip.models "
                                  "(pip install 'pocketclip[models]')")
            self.image_entry = self.text_entry = None
            self._image_step = self._text_step = None
            self._image, self._text = reference(bundle.manifest, "image"), reference(bundle.manifest, "text")
        else:
            self.image_entry = image_entry = bundle.artifact("image", fmt, precision)
            self.text_entry = text_entry = bundle.artifact("text", fmt, precision)
            self._image_step, self._text_step = fixed_batch(image_entry), fixed_batch(text_entry)
            self._image = open_entry(bundle, image_entry, threads, spinning)
            self._text = open_entry(bundle, text_entry, threads)
        self.tokenizer = bundle_tokenizer(bundle)

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) preprocessed float32 -> (N, D)."""
        batch = np.ascontiguousarray(pixels, dtype=np.float32)
        return run_batched(self._image, batch, self._image_step, self.bundle.embed_dim, default_step=len(batch))

    def encode_ids(self, ids: np.ndarray) -> np.ndarray:
        return run_batched(self._text, ids, self._text_step, self.bundle.embed_dim, default_step=len(ids))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self.encode_ids(self.tokenizer(texts))


def artifact_entry(bundle: Bundle, file: str) -> dict:
    """The manifest entry of the artifact stored as `file`; a BundleError lists the files there are."""
    entry = next((a for a in bundle.artifacts if a["file"] == file), None)
    if entry is None:
        raise BundleError(f"no artifact {file!r} in the bundle; it has {', '.join(a['file'] for a in bundle.artifacts)}")
    return entry


def artifact_encoder(bundle: Bundle, entry: dict, threads: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """batch -> (N, D) vectors through one artifact (sha256-checked), at the batch size it was exported for."""
    tower, step = open_entry(bundle, entry, threads), fixed_batch(entry)
    if entry["tower"] == "image":
        return lambda batch: run_batched(tower, np.ascontiguousarray(batch, dtype=np.float32), step,
                                         bundle.embed_dim, default_step=len(batch))
    return lambda batch: run_batched(tower, batch, step, bundle.embed_dim, default_step=len(batch))
