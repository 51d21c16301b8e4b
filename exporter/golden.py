"""The golden set and the int8 calibration inputs of an exported model: hub/golden_set.py's, with the eager
PyTorch model as the fp32 reference."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from pocketclip.hub.golden_set import calibration_set, write_golden_set
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.bundle.tokenizer import load_tokenizer
from pocketclip.runtime.parity.golden import Golden
from pocketclip.runtime.search.pq import adc_scores


def _torch_embed(encode):
    def embed(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return encode(torch.from_numpy(batch)).numpy()
    return embed


def write_golden(model: DualEncoder, folder: Path, photos: int = 7, gallery: int = 200,
                 captions: int = 50) -> Golden:
    """Write golden/ and return its inputs; embeddings come from the fp32 eager model."""
    return write_golden_set(folder, asdict(model.cfg.preprocess), load_tokenizer(), _torch_embed(model.encode_image),
                            _torch_embed(model.encode_text), photos, gallery, captions)


def calibration_inputs(model: DualEncoder, count: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Representative inputs for int8 calibration: real demo pictures and captions (train split)."""
    return calibration_set(asdict(model.cfg.preprocess), load_tokenizer(), count)


def ranked(scores: np.ndarray, k: int = 10) -> np.ndarray:
    """Top-k indices per row, best first, ties to the lower index: what every platform must reproduce."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int32)


def write_pq_golden(books: Codebooks, folder: Path, golden: Golden) -> None:
    """Codes of the gallery pictures as stored (column-major (code_bytes, G): the pq_code blobs, packed two
    a byte for 4-bit codes) and the top-10 per gallery caption, by PQ (ADC, summed in sub-space order) and
    exactly."""
    codes = books.encode(golden.gallery_image_ref)
    adc = np.stack([adc_scores(books.lookup_tables(q), codes) for q in golden.gallery_text_ref])
    np.save(folder / "pq_codes.npy", books.pack(codes))
    np.save(folder / "pq_top10.npy", ranked(adc))
    np.save(folder / "exact_top10.npy", ranked(golden.gallery_text_ref @ golden.gallery_image_ref.T))
