"""Vectors as the store keeps them (L2-normalised little-endian float16 blobs) and its timestamps."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def as_stored(vectors) -> np.ndarray:
    """The float32 values a store holds for these vectors: rounded through float16, as in its blobs."""
    return np.asarray(vectors, dtype="<f2").astype(np.float32)


def from_blobs(blobs: list[bytes], dim: int) -> np.ndarray:
    """(N, dim) float32 from float16 blobs: numpy has no fast float16 kernel, so convert once."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), dim).astype(np.float32)


def now() -> str:
    """ISO 8601 UTC to the second: `indexed_at` and the lock's start time."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
