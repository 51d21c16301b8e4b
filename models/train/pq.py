"""Train a model's product-quantization codebooks by distillation from the teacher, and publish them.

`python -m pocketclip.models.train.pq models/recipes/demo-student-pq.json --out runs/pq [--publish]` embeds the
recipe's training pairs with the stored model and the teacher, starts from k-means codebooks (the
baseline), distils, and writes DIR/pq_codebooks.npy with DIR/pq_eval.json (learned vs k-means at the
same bytes on the held-out split). `--publish` copies both next to the model's weights, where
`pocketclip export` picks them up for the bundle. A recipe's `codewords` (default 256) sets K: 16 gives 4-bit
codes, two per byte; its `name` (default "pq") names the published files NAME_codebooks.npy and
NAME_eval.json, so 4-bit codebooks (models/recipes/demo-student-pq4.json, name "pq4") are published beside
the 8-bit ones instead of replacing them.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pocketclip.models.data.demo_data import load_split
from pocketclip.models.eval.evaluate import embed_pairs
from pocketclip.models.eval.retrieval import group_ids, recall_at_k
from pocketclip.models.towers.checkpoint import WEIGHTS_DIR, CheckpointMismatch, fingerprint, load_model
from pocketclip.models.towers.configs import UnknownModel
from pocketclip.models.train.pq_head import PQHead, distill_codebooks, usage_entropy
from pocketclip.models.train.pq_kmeans import fit_kmeans_codebooks
from pocketclip.models.train.recipe_check import RecipeError, load_recipe
from pocketclip.runtime.bundle.codebooks import Codebooks, load_codebooks, save_codebooks
from pocketclip.runtime.one_line import one_line
from pocketclip.runtime.search.pq import recall_at_10
from pocketclip.runtime.store import as_stored

CODEBOOKS_FILE = "pq_codebooks.npy"
EVAL_FILE = "pq_eval.json"


def published_files(name: str = "pq") -> tuple[str, str]:
    """(codebooks file, evaluation file) a recipe of this `name` publishes next to the weights."""
    return f"{name}_codebooks.npy", f"{name}_eval.json"


def code_entropy(books: Codebooks, vectors: np.ndarray) -> float:
    """Codeword usage entropy of the hard codes, nats, mean over sub-spaces (max log K: 5.545 for 256)."""
    codes = torch.from_numpy(books.encode(vectors).T.astype(np.int64))  # (N, M)
    return float(usage_entropy(F.one_hot(codes, books.codewords).float()))


def compare(books: dict[str, Codebooks], images: np.ndarray, texts: np.ndarray, keys: list[tuple],
            candidates: int) -> dict:
    """Per codebook set: recall@10 of pq and pq+rerank against exact search, text-to-image R@1/5/10
    of the pq scores alone (the task the teacher's similarities stand for), and usage entropy."""
    groups = group_ids(keys)
    report = {"exact": {f"t2i_r{k}": round(v * 100, 2) for k, v in
                        recall_at_k(torch.from_numpy(texts @ images.T), groups, groups).items()}}
    for name, b in books.items():
        approx = torch.from_numpy(texts @ b.decode(b.encode(images)).T)  # = the look-up-table scores
        report[name] = {"recall10_pq": recall_at_10(b, images, texts, None),
                        "recall10_rerank": recall_at_10(b, images, texts, candidates),
                        **{f"t2i_r{k}_pq": round(v * 100, 2) for k, v in recall_at_k(approx, groups, groups).items()},
                        "usage_entropy": round(code_entropy(b, images), 4)}
    return report


def train_pq(recipe: dict) -> tuple[Codebooks, dict]:
    """The distilled codebooks and the evaluation record of a `pq` recipe."""
    torch.manual_seed(recipe["seed"])
    model, teacher = load_model(recipe["model"]).eval(), load_model(recipe["teacher"]).eval()
    if model.cfg.image.embed_dim % recipe["subspaces"]:
        raise ValueError(f"subspaces {recipe['subspaces']} does not divide {model.cfg.name}'s "
                         f"{model.cfg.image.embed_dim}-dim embeddings")
    data = recipe["data"]
    train = load_split("train", data["train_size"], model.cfg.preprocess, data["seed"])
    pairs = recipe["pairs"]
    subset = train if teacher.cfg.preprocess == model.cfg.preprocess else load_split(
        "train", data["train_size"], teacher.cfg.preprocess, data["seed"])
    with torch.no_grad():
        images, texts = (torch.from_numpy(as_stored(x.numpy())) for x in embed_pairs(model, _head(train, pairs)))
        t_images, t_texts = embed_pairs(teacher, _head(subset, pairs))
    kmeans = fit_kmeans_codebooks(images.numpy(), recipe["subspaces"], recipe.get("codewords", 256),
                                  seed=recipe["seed"])
    head = PQHead(kmeans)
    opt = recipe["distill"]
    losses = distill_codebooks(head, images, texts, t_images, t_texts, float(teacher.scale()), seed=recipe["seed"],
                               progress=True, **opt)
    learned = head.export()
    test = load_split("test", data["test_size"], model.cfg.preprocess, data["seed"])
    with torch.no_grad():
        test_images, test_texts = (as_stored(x.numpy()) for x in embed_pairs(model, test))
    report = {"model": model.cfg.name, "model_fingerprint": fingerprint(model), "teacher": teacher.cfg.name,
              "subspaces": learned.subspaces, "codewords": learned.codewords, "bytes_per_photo": learned.code_bytes,
              "pairs": pairs, "loss_first": round(float(np.mean(losses[:20])), 4),
              "loss_last": round(float(np.mean(losses[-20:])), 4), "candidates": recipe["candidates"],
              "test_split": compare({"distilled": learned, "kmeans": kmeans}, test_images, test_texts, test.keys,
                                    recipe["candidates"]),
              "recipe": recipe}
    return learned, report


def _head(data, n: int):
    """The first n pairs of a split, as a PairSet."""
    from dataclasses import replace

    return replace(data, squares=data.squares[:n], ids=data.ids[:n], captions=data.captions[:n], keys=data.keys[:n])


def published_codebooks(model, name: str = "pq") -> tuple[Codebooks, str] | None:
    """The codebooks published next to this model's weights under `name` ("pq": the bundle default, 8-bit;
    "pq4": 4-bit), if they were trained for these weights."""
    folder = WEIGHTS_DIR / model.cfg.name
    books_file, eval_file = published_files(name)
    if not (folder / books_file).exists() or not (folder / eval_file).exists():
        return None
    report = json.loads((folder / eval_file).read_text())
    if report.get("model_fingerprint") != fingerprint(model):
        return None
    return load_codebooks(folder / books_file), "distilled"


def codebooks_option(model, choice: str) -> tuple[Codebooks, str] | None:
    """`pocketclip export --pq`: 'auto' (the published default, if any), 'pq4' (the published 4-bit ones),
    'none', or a codebooks .npy path."""
    if choice == "none":
        return None
    if choice == "auto":
        return published_codebooks(model)
    if choice == "pq4":
        return published_codebooks(model, "pq4")
    return load_codebooks(choice), "given"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", help="e.g. models/recipes/demo-student-pq.json")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--publish", action="store_true", help="copy the codebooks next to the model's weights")
    args = parser.parse_args(argv)
    try:
        recipe = load_recipe(args.recipe)
        if recipe["kind"] != "pq":
            raise RecipeError(f"{args.recipe}: not a pq recipe (kind {recipe['kind']!r})")
        books, report = train_pq(recipe)
    except (ValueError, OSError, UnknownModel, CheckpointMismatch) as exc:  # bad input: one line, no traceback
        parser.exit(1, f"error: {one_line(exc, 500)}\n")
    args.out.mkdir(parents=True, exist_ok=True)
    save_codebooks(books, args.out / CODEBOOKS_FILE)
    (args.out / EVAL_FILE).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "recipe"}, indent=2))
    if args.publish:
        target = WEIGHTS_DIR / recipe["model"]
        for source, name in zip((CODEBOOKS_FILE, EVAL_FILE), published_files(recipe.get("name", "pq"))):
            shutil.copy(args.out / source, target / name)
        print(f"published to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
