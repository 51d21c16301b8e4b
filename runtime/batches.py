"""Cutting work into batches: the single helper every loop over chunks of an array or a stream uses."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator:
    """Consecutive batches of `size` items, the last one shorter: slices of an array or a sequence (no
    copy for numpy), lists taken from any other iterable as they come (a stream is never held whole)."""
    if size < 1:
        raise ValueError(f"a batch holds at least 1 item, not {size}")
    if hasattr(items, "__getitem__") and hasattr(items, "__len__"):
        for start in range(0, len(items), size):
            yield items[start:start + size]
        return
    stream = iter(items)
    while chunk := list(islice(stream, size)):
        yield chunk
