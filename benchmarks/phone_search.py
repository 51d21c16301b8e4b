"""The phones' search from codes at library size: the Kotlin core's CodeIndex against the reference.

    python -m benchmarks.phone_search --bundle BUNDLE --photos 100000 --json \\
        [--out benchmarks/results/phone_search.json]

A store of `photos` synthetic vectors (the bundle's golden gallery embeddings as the base, noise along their
covariance: benchmarks/synthetic.py) with codes of the bundle's codebooks is written through the runtime
(benchmarks/cold_start.write_store). The queries are the golden captions' embeddings, perturbed. The exact top 10
of each query (float32 dot products over the stored float16 vectors) is the truth; the reference's pq+rerank
(numpy's scan, runtime/search/pq.py) and the Kotlin core's CodeIndex (ids and codes in memory, the candidates'
vectors read from SQLite; `android_demo/core/jvm-test.sh --bench-search`) are measured against it, on the same
store. The JSON carries the Kotlin index's resident heap (the goal: at most 16 MB at 100,000 photos, where all
vectors as float32 would take ~51 MB at dim 128), its load and query times, and both recalls.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.cold_start import write_store
from benchmarks.synthetic import synthetic
from pocketclip.runtime.bundle.codebooks import bundle_codebooks
from pocketclip.runtime.bundle.manifest import load_bundle
from pocketclip.runtime.parity.golden import load_golden
from pocketclip.runtime.search.hits import top
from pocketclip.runtime.search.pq import PQScanner, search_pq

JVM_TEST = Path(__file__).resolve().parents[1] / "android_demo" / "core" / "jvm-test.sh"
HEAP_GOAL_BYTES = 16 * 2**20


def run(bundle_path: str, photos: int, queries: int, seed: int = 0) -> dict:
    bundle = load_bundle(bundle_path)
    books = bundle_codebooks(bundle)
    if books is None:
        raise SystemExit(f"{bundle_path} has no PQ codebooks: export it with --pq")
    golden = load_golden(bundle)
    vectors16, to_base = synthetic(golden.gallery_image_ref.astype(np.float32), photos, noise=0.5, seed=seed)
    rng = np.random.default_rng(seed + 1)
    base = golden.gallery_text_ref[rng.integers(0, len(golden.gallery_text_ref), queries)].astype(np.float32)
    asked = base + 0.05 * rng.standard_normal(base.shape).astype(np.float32)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    vectors = vectors16.astype(np.float32)
    truth = np.array([top(vectors @ q, 10) for q in asked], dtype=np.int64)  # row i is photo id i + 1
    candidates = bundle.search["rerank_candidates"]
    scanner = PQScanner(books, books.stored_codes(vectors))
    start = time.perf_counter()
    found = [search_pq(scanner, q, 10, vectors16, candidates)[0] for q in asked]
    reference_ms = (time.perf_counter() - start) * 1000 / queries
    reference_recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))
    scratch = Path(tempfile.mkdtemp(prefix="pocketclip-phone-search-"))
    try:
        store = scratch / "phone.db"
        write_store(store, bundle, vectors16)
        np.save(scratch / "queries.npy", asked)
        np.save(scratch / "truth.npy", truth + 1)
        codebooks = bundle.path(bundle.manifest["pq"]["file"])
        done = subprocess.run([str(JVM_TEST), "--bench-search", str(store), str(codebooks), bundle.fingerprint,
                               str(scratch / "queries.npy"), str(scratch / "truth.npy"), str(candidates)],
                              capture_output=True, text=True, timeout=1800)
        if done.returncode:
            raise SystemExit(f"the Kotlin benchmark failed: {done.stderr[-2000:]}")
        kotlin = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"photos": photos, "dim": int(vectors.shape[1]), "queries": queries, "candidates": candidates,
            "code_bytes": books.code_bytes, "cores": os.cpu_count(),
            "synthetic": {"base": f"{len(golden.gallery_image_ref)} golden gallery embeddings of the bundle",
                          "noise": 0.5, "mean_cosine_to_base": round(to_base, 4)},
            "kotlin_code_index": kotlin,
            "reference_pq_rerank": {"recall_at_10": round(reference_recall, 4), "mean_ms": round(reference_ms, 2)},
            "float32_vectors_bytes": int(vectors.nbytes),
            "heap_goal_bytes": HEAP_GOAL_BYTES, "heap_within_goal": kotlin["index_heap_bytes"] <= HEAP_GOAL_BYTES,
            "recall_kotlin_minus_reference": round(kotlin["recall_at_10"] - reference_recall, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, help="a bundle with PQ codebooks (pocketclip export)")
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", help="also write the JSON here (e.g. benchmarks/results/phone_search.json)")
    args = parser.parse_args()
    result = run(args.bundle, args.photos, args.queries)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    kotlin, reference = result["kotlin_code_index"], result["reference_pq_rerank"]
    print(text if args.json else f"Kotlin index: {kotlin['index_heap_bytes'] / 2**20:.1f} MiB, recall@10 "
          f"{kotlin['recall_at_10']} (reference {reference['recall_at_10']})")


if __name__ == "__main__":
    main()
