"""Duplicates, measured: pair precision and recall on transformed copies, and the time and memory of a
100,000-photo library.

    python -m benchmarks.duplicates [--originals 300] [--copied 100] [--vectors 100000] [--bundle B]
                                    [--out benchmarks/results/duplicates.json]

Quality: `originals` demo pictures (640x480 JPEG), `copied` of them with five copies each: the same bytes,
half the size, re-encoded at JPEG quality 50, 6% cropped from the edges, 12% brighter. Every pair within a
picture's family is a true pair; a threshold's precision and recall count the pairs its groups join.
Speed: `vectors` random unit vectors as float16 with 1% planted near copies, one core (faiss's threads 1),
the peak RSS growth of the call (measured first, in a fresh process).
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from benchmarks.report import emit, out_arguments
from pocketclip.runtime.bundle.home import resolve
from pocketclip.runtime.library import Library
from pocketclip.runtime.search.duplicates import duplicate_groups

THRESHOLDS = (0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)


def _copies(picture: Image.Image, original: Path, folder: Path, stem: str) -> list[Path]:
    w, h = picture.size
    made = {f"{stem}_same.jpg": None, f"{stem}_half.jpg": picture.resize((w // 2, h // 2)),
            f"{stem}_q50.jpg": picture, f"{stem}_crop.jpg": picture.crop((w * 3 // 100, h * 3 // 100,
                                                                           w - w * 3 // 100, h - h * 3 // 100)),
            f"{stem}_bright.jpg": ImageEnhance.Brightness(picture).enhance(1.12)}
    paths = []
    for name, image in made.items():
        path = folder / name
        if image is None:
            path.write_bytes(original.read_bytes())
        else:
            image.save(path, quality=50 if name.endswith("q50.jpg") else 90)
        paths.append(path)
    return paths


def quality(originals: int, copied: int, bundle: str | None, work: Path) -> dict:
    from pocketclip.models.data.demo_world import sample

    folder = work / "photos"
    folder.mkdir()
    families = []
    for i in range(originals):
        picture = sample(i, "gallery", 256)[0].resize((640, 480))
        original = folder / f"p{i:04d}.jpg"
        picture.save(original, quality=90)
        if i < copied:
            families.append([original, *_copies(picture, original, folder, f"p{i:04d}")])
    library = Library.create(work / "index.db", folder, bundle)
    library.index()
    library.close()
    library = Library.open(work / "index.db")
    truth = {frozenset((a.name, b.name)) for family in families for a, b in combinations(family, 2)}
    sweep = []
    for threshold in THRESHOLDS:
        groups, paths = library.duplicates(threshold)
        found = {frozenset((paths[a], paths[b])) for g in groups for a, b in combinations(g.ids, 2)}
        hit = len(found & truth)
        sweep.append({"threshold": threshold, "pairs_found": len(found), "precision": round(hit / max(len(found), 1), 4),
                      "recall": round(hit / len(truth), 4), "groups": len(groups)})
    library.close()
    return {"photos": originals + 5 * copied, "true_pairs": len(truth), "sweep": sweep}


def speed(count: int) -> dict:
    """`count` random unit vectors of dim 128 as float16, 1% of them near copies of another; run first, in a fresh
    process, so the peak RSS growth is the call's own."""
    import faiss

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    copies = rng.choice(count, size=count // 100, replace=False)
    vectors[copies] = vectors[copies - 1] + rng.normal(0, 0.02, (len(copies), 128))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)
    ids = np.arange(count, dtype=np.int64)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    groups = duplicate_groups(ids, vectors, [None] * count, 0.95)
    seconds = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    found = sum(len(g.ids) - 1 for g in groups)
    return {"vectors": count, "dim": 128, "seconds_one_core": round(seconds, 2), "goal_seconds_max": 60,
            "planted_copies": len(copies), "copies_found": found, "peak_rss_growth_mib": round(grown / 1024, 1)}


def chosen(sweep: list[dict]) -> dict:
    """The threshold with the best F1 of pair precision and recall (ties: the higher threshold), if both
    reach 0.9 there: the default the runtime uses (runtime/search/duplicates.py, DUPLICATE_COSINE)."""
    good = [row for row in sweep if row["precision"] >= 0.9 and row["recall"] >= 0.9]
    f1 = lambda r: 2 * r["precision"] * r["recall"] / (r["precision"] + r["recall"])  # noqa: E731
    return max(good, key=lambda r: (round(f1(r), 4), r["threshold"])) if good else {}


def markdown(report: dict) -> str:
    """The lines docs/search.md quotes (tests/test_docs_numbers.py checks them against the JSON)."""
    q, sp = report["quality"], report["speed"]
    lines = ["| cosine threshold | pairs found | pair precision | pair recall |", "|---|---|---|---|"]
    lines += [f"| {r['threshold']} | {r['pairs_found']} | {r['precision']} | {r['recall']} |" for r in q["sweep"]]
    if q.get("chosen"):
        c = q["chosen"]
        lines += ["", f"The default threshold, {c['threshold']}, has the best F1: pair precision {c['precision']}, "
                      f"recall {c['recall']} on {q['photos']} photos ({q['true_pairs']} true pairs)."]
    lines += ["", f"{sp['vectors']:,} photos take {sp['seconds_one_core']} s on one core (peak memory "
                  f"+{sp['peak_rss_growth_mib']} MiB); {sp['copies_found']} of {sp['planted_copies']} planted copies "
                  f"found."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=300)
    parser.add_argument("--copied", type=int, default=100)
    parser.add_argument("--vectors", type=int, default=100_000)
    out_arguments(parser)
    args = parser.parse_args(argv)
    report = {"model": str(resolve(args.bundle).name), "speed": speed(args.vectors)}
    with tempfile.TemporaryDirectory() as tmp:
        report["quality"] = quality(args.originals, args.copied, args.bundle, Path(tmp))
    report["quality"]["chosen"] = chosen(report["quality"]["sweep"])
    return emit(report, args.out)


if __name__ == "__main__":
    main()
