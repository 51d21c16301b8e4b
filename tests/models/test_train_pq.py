"""The published PQ codebooks: bound to the weights they were trained for, and their record reproduces."""
import json

import numpy as np
import pytest
import torch

from pocketclip.models.data.demo_data import load_split
from pocketclip.models.eval.evaluate import embed_pairs
from pocketclip.models.towers.checkpoint import WEIGHTS_DIR, load_model
from pocketclip.models.train.pq import EVAL_FILE, codebooks_option, compare, published_codebooks
from pocketclip.runtime.bundle.codebooks import save_codebooks
from pocketclip.runtime.store import as_stored


def test_published_codebooks_belong_to_the_demo_student_only(tmp_path):
    student = load_model("demo-student")
    books, method = published_codebooks(student)
    report = json.loads((WEIGHTS_DIR / "demo-student" / EVAL_FILE).read_text())
    assert method == "distilled" and books.subspaces == report["subspaces"] <= 32 and books.dim == 128
    assert published_codebooks(load_model("demo-teacher")) is None  # none published for the teacher
    with torch.no_grad():
        next(student.parameters()).mul_(1.01)
    assert published_codebooks(student) is None  # other weights: these codebooks do not fit them
    assert codebooks_option(student, "none") is None
    save_codebooks(books, tmp_path / "c.npy")
    assert np.array_equal(codebooks_option(student, str(tmp_path / "c.npy"))[0].centroids, books.centroids)


@pytest.mark.slow
def test_recorded_pq_numbers_reproduce():
    model = load_model("demo-student")
    books, _ = published_codebooks(model)
    report = json.loads((WEIGHTS_DIR / "demo-student" / EVAL_FILE).read_text())
    data = load_split("test", report["recipe"]["data"]["test_size"], model.cfg.preprocess)
    with torch.no_grad():
        images, texts = (as_stored(x.numpy()) for x in embed_pairs(model, data))
    fresh = compare({"distilled": books}, images, texts, data.keys, report["candidates"])
    for key, value in fresh["distilled"].items():
        assert abs(value - report["test_split"]["distilled"][key]) <= 0.005 * max(1, abs(value)), key
    assert report["test_split"]["distilled"]["recall10_rerank"] >= 0.95
