"""`pocketclip demo`: draw a demo gallery, embed it with the bundled demo student, run example queries."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from models.checkpoint import load_model
from models.demo_world import sample
from runtime.contact_sheet import contact_sheet
from runtime.preprocess import preprocess_image
from runtime.tokenizer import load_tokenizer

EXAMPLE_QUERIES = (
    "two red circles on the left",
    "a large yellow star in the middle",
    "three small blue triangles at the bottom",
    "a green square on a striped background",
    "a white ring on a black background",
)
GALLERY_SIZE = 256  # pixels per side of a drawn demo photo


def draw_gallery(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Demo photos as JPEG files (the 'gallery' split, never used for training); kept if already there."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in tqdm(range(count), desc="drawing gallery", unit="photo"):
        path = folder / f"demo_{i:04d}.jpg"
        if not path.exists():
            image, _, _ = sample(i, "gallery", GALLERY_SIZE, seed)
            image.save(path, quality=92)
        paths.append(path)
    return paths


@torch.no_grad()
def embed_photos(model, paths: list[Path], batch_size: int = 64) -> np.ndarray:
    spec = asdict(model.cfg.preprocess)
    out = []
    for start in tqdm(range(0, len(paths), batch_size), desc="embedding", unit="batch"):
        batch = []
        for path in paths[start:start + batch_size]:
            with Image.open(path) as photo:
                batch.append(preprocess_image(photo, spec))
        out.append(model.encode_image(torch.from_numpy(np.stack(batch))).numpy())
    return np.concatenate(out)


@torch.no_grad()
def run_demo(out: Path, photos: int = 300, k: int = 5, model_name: str = "demo-student",
             queries: tuple[str, ...] = EXAMPLE_QUERIES) -> tuple[list[tuple[str, list[tuple[Path, float]]]], Path]:
    """Returns the hits per query and the contact sheet's path."""
    model = load_model(model_name)
    paths = draw_gallery(out / "gallery", photos)
    gallery = embed_photos(model, paths)
    texts = model.encode_text(torch.from_numpy(load_tokenizer()(list(queries)))).numpy()
    rows = []
    for query, vector in zip(queries, texts):
        scores = gallery @ vector
        top = np.argsort(-scores)[:k]
        rows.append((query, [(paths[i], float(scores[i])) for i in top]))
    return rows, contact_sheet(rows, out / "hits.png")
