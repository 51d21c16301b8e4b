"""The PyTorch eager reference tower that the runtime's parity checks compare artifacts with.

The runtime never imports this module: the CLI (or a test) builds the towers here and hands them
to `pocketclip.runtime.bundle.encoders.BundleEncoder(..., reference=torch_reference)`.
"""
from __future__ import annotations

import numpy as np
import torch

from pocketclip.models.towers.checkpoint import fingerprint, load_model


class TorchTower:
    """One tower of the model a bundle was exported from, loaded from its committed weights or
    checkpoint and refused unless its fingerprint matches the manifest's."""

    def __init__(self, manifest: dict, kind: str, source: str | None = None):
        model = load_model(source or manifest["model"]["name"])
        if fingerprint(model) != manifest["model"]["fingerprint"]:
            raise ValueError(f"the PyTorch model {source or manifest['model']['name']!r} is not the one this "
                             f"bundle was exported from (fingerprint {manifest['model']['fingerprint'][:12]})")
        self.tower = model.image if kind == "image" else model.text

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.tower(torch.from_numpy(np.ascontiguousarray(batch))).numpy()


def torch_reference(manifest: dict, kind: str) -> TorchTower:
    """The factory BundleEncoder takes for its `torch` backend."""
    return TorchTower(manifest, kind)
