"""Student initialisation from a teacher: a subset of its layers where widths match, projection otherwise.

Where widths differ each tensor keeps its leading rows/columns ("weight selection", Xu et al. 2023,
"Initializing Models with Larger Ones"); a factorised student token table takes the teacher's table
through a truncated SVD, the best rank-k approximation of it. Tensors the teacher has no counterpart
for (a hybrid student's convolution stem) keep their fresh initialisation.
"""
from __future__ import annotations

import re

import numpy as np
import torch

from pocketclip.models.towers.dual_encoder import DualEncoder

BLOCK = re.compile(r"^(image|text)\.blocks\.(\d+)\.(.+)$")


def layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """Evenly spaced teacher layers, first and last included: 6 -> 3 gives [0, 2, 5]."""
    return [int(i) for i in np.linspace(0, teacher_layers - 1, student_layers).round()]


def select(weight: torch.Tensor, shape: torch.Size, name: str) -> torch.Tensor:
    """The leading slice of `weight` in every dimension; q, k and v are sliced one by one."""
    if weight.shape == shape:
        return weight.clone()
    if name.endswith("attn.qkv.weight") or name.endswith("attn.qkv.bias"):
        parts = weight.chunk(3, dim=0)
        part_shape = (shape[0] // 3, *shape[1:])
        return torch.cat([select(p, torch.Size(part_shape), "") for p in parts])
    if weight.ndim != len(shape) or any(t < s for t, s in zip(weight.shape, shape)):
        raise ValueError(f"cannot fit teacher {name} {tuple(weight.shape)} into student shape {tuple(shape)}")
    return weight[tuple(slice(0, s) for s in shape)].clone()


def _svd_token_table(student: DualEncoder, teacher_state: dict[str, torch.Tensor], out: dict) -> None:
    table = teacher_state["text.token_embedding.weight"]  # (vocab, teacher_width)
    if "text.token_up.weight" in teacher_state:  # teacher factorised too: multiply it out first
        table = table @ teacher_state["text.token_up.weight"].T
    k = student.cfg.text.token_dim
    u, s, vh = torch.linalg.svd(table, full_matrices=False)
    out["text.token_embedding.weight"] = u[:, :k] * s[:k]  # (vocab, k)
    up = vh[:k].T  # (teacher_width, k)
    out["text.token_up.weight"] = select(up, student.text.token_up.weight.shape, "text.token_up.weight")


@torch.no_grad()
def inherit_from(student: DualEncoder, teacher: DualEncoder) -> dict[str, str]:
    """Copy the teacher into the student in place; returns where each student tensor came from."""
    t_state = teacher.state_dict()
    s_state = student.state_dict()
    maps = {"image": layer_map(student.cfg.image.layers, teacher.cfg.image.layers),
            "text": layer_map(student.cfg.text.layers, teacher.cfg.text.layers)}
    new: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    if student.text.token_up is not None:
        _svd_token_table(student, t_state, new)
        origin.update({k: "svd(text.token_embedding)" for k in new})
    for name, target in s_state.items():
        if name in new:
            continue
        source = name
        if m := BLOCK.match(name):
            tower, index, rest = m.groups()
            source = f"{tower}.blocks.{maps[tower][int(index)]}.{rest}"
        if source not in t_state:
            origin[name] = "fresh (no teacher counterpart)"
            continue
        if source == "image.positional_embedding" and t_state[source].shape[0] != target.shape[0]:
            origin[name] = "fresh (different patch grid)"  # positions of another grid do not transfer
            continue
        new[name] = select(t_state[source], target.shape, source)
        origin[name] = source
    student.load_state_dict({**s_state, **new})
    return origin
