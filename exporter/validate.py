"""Refusing an exported artifact that misses the design's bars (runtime/parity/quality.py holds them)."""
from __future__ import annotations

from pocketclip.runtime.parity.quality import misses


class ExportValidationError(Exception):
    """An exported artifact drifted from the PyTorch model beyond its bar; nothing was written."""


def check(name: str, measured: dict, bar: dict) -> None:
    """Raise naming every bar `measured` misses, and by how much."""
    missed = misses(measured, bar)
    if missed:
        raise ExportValidationError(f"{name}: " + "; ".join(missed))
