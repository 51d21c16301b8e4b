"""Helpers the tests import by name (conftest.py itself cannot be imported)."""
from __future__ import annotations


def tiny(name: str = "tiny", layers: int = 2, width: int = 32, token_dim: int | None = 8) -> dict:
    """A model config small enough to train for a few steps inside a unit test."""
    return {
        "name": name,
        "image": {"image_size": 32, "patch_size": 8, "width": width, "layers": layers, "heads": 2,
                  "embed_dim": 16, "act": "gelu"},
        "text": {"width": width, "layers": layers, "heads": 2, "embed_dim": 16, "token_dim": token_dim,
                 "act": "gelu"},
        "preprocess": {"size": 32},
    }


def draw_photos(root, count: int, start: int = 0, size: int = 160) -> list:
    """Demo pictures saved as JPEG files, every third one in a subfolder."""
    from models.demo_world import sample

    paths = []
    for i in range(start, start + count):
        folder = root / "album" if i % 3 == 0 else root
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"photo_{i:03d}.jpg"
        sample(i, "gallery", size)[0].save(path, quality=90)
        paths.append(path)
    return paths
