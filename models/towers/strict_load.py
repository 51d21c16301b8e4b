"""Copying tensors into a model with names and shapes asserted: never half a model, silently.

Shared by our checkpoints (checkpoint.py) and Hugging Face CLIP checkpoints (hf_clip.py).
"""
from __future__ import annotations

import torch


class CheckpointMismatch(Exception):
    """The tensors in a checkpoint do not match the architecture its config describes."""


def load_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy tensors into `model`, asserting that names and shapes match exactly."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [f"{k}: {tuple(tensors[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in tensors and tensors[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise CheckpointMismatch(f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shapes {wrong[:5]}")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
