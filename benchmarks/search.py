"""Exact search latency on synthetic stores: p50/p95 per query at 10k, 100k and 1M vectors.

    python -m benchmarks.search [--sizes 10000,100000,1000000] [--dim 128] [--json]

Vectors are drawn like embeddings, not uniformly: a power-law spectrum (variance of component i
proportional to 1/(i+1)), then L2-normalised and stored as float16 blobs through the real store;
the timed path is VectorIndex.top_k (float32 matvec + argpartition) after the one-time load.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from pocketclip.runtime.search.exact import VectorIndex
from pocketclip.runtime.store import Store, to_blob


def synthetic(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32) / np.sqrt(np.arange(1, dim + 1, dtype=np.float32))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def measure(n: int, dim: int, queries: int) -> dict:
    vectors = synthetic(n, dim)
    with tempfile.TemporaryDirectory() as tmp:
        db = Store.open(Path(tmp) / "s.db")
        db.bind_model("synthetic", dim, "none")
        with db.atomic():
            db["photos"].insert_all(({"id": i + 1, "path": f"{i}.jpg", "status": "ok"} for i in range(n)),
                                    batch_size=10_000)
            db["embeddings"].insert_all(({"photo_id": i + 1, "model": "synthetic", "vector": to_blob(v)}
                                         for i, v in enumerate(vectors)), batch_size=10_000)
        start = time.perf_counter()
        index = VectorIndex(db, db.search_arrays("synthetic"))
        load_s = time.perf_counter() - start
    times = []
    for q in synthetic(queries, dim, seed=1):
        start = time.perf_counter()
        index.top_k(q, 10)
        times.append((time.perf_counter() - start) * 1000)
    return {"vectors": n, "dim": dim, "load_s": round(load_s, 3), "p50_ms": round(float(np.percentile(times, 50)), 3),
            "p95_ms": round(float(np.percentile(times, 95)), 3), "matrix_mb": round(index.matrix.nbytes / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dim", type=int, default=128, help="the demo model's joint space (CLIP B/32: 512)")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(int(n), args.dim, args.queries) for n in args.sizes.split(",")]
    print(json.dumps({"exact": rows}, indent=2) if args.json else
          "\n".join(f"{r['vectors']:>9,} vectors: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms" for r in rows))


if __name__ == "__main__":
    main()
