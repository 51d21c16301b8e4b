"""Other engines beside pocketclip's search, on the same vectors, queries and exact top-10 (benchmarks/pq.py).

- faiss with its own k-means codebooks at the same bytes: IndexPQ (8-bit codes) and IndexPQFastScan
  (4-bit codes), each with the same exact re-rank of `candidates` on the float16 vectors;
- usearch's HNSW graph over the float16 vectors (inner product; connectivity 16, expansion 128 to build,
  64 to search), built with every core, searched on one;
- sqlite-vec's exact scan (a vec0 table of float32 vectors, L2 = inner-product order on unit vectors) in an
  in-memory database, through apsw (this Python's sqlite3 module cannot load extensions); it reads every
  vector per query, so it is timed on fewer queries.
Searches are one at a time on one thread, like a person's query.
"""
from __future__ import annotations

import os
import time

import numpy as np

from pocketclip.runtime.search.hits import mean_overlap
from pocketclip.runtime.search.pq import rerank


def percentiles(times: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(times, 50)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}


def timed(fn, queries: np.ndarray) -> tuple[list, list[float]]:
    results, times = [], []
    for q in queries:
        start = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - start) * 1000)
    return results, times


def recall(found: list, truth: list) -> float:
    return round(mean_overlap(found, truth), 4)


def faiss_side_by_side(train: np.ndarray, vectors16: np.ndarray, vectors: np.ndarray, queries: np.ndarray,
                       truth: list, subspaces: int, candidates: int) -> dict:
    """faiss trained by itself: exact flat, 8-bit PQ and 4-bit fast-scan PQ at `subspaces` bytes a photo."""
    import faiss

    faiss.omp_set_num_threads(1)
    dim = vectors.shape[1]
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors)
    _, flat_times = timed(lambda q: flat.search(q[None], 10)[1][0].tolist(), queries)
    report = {"version": faiss.__version__, "flat_ip": percentiles(flat_times)}
    flat.reset()  # its 512 MB go before the PQ indexes are built
    for name, index in (("index_pq_8bit", faiss.IndexPQ(dim, subspaces, 8, faiss.METRIC_INNER_PRODUCT)),
                        ("pq_fastscan_4bit", faiss.IndexPQFastScan(dim, 2 * subspaces, 4,
                                                                  faiss.METRIC_INNER_PRODUCT))):
        index.train(train)
        index.add(vectors)
        approx, _ = timed(lambda q: index.search(q[None], 10)[1][0].tolist(), queries)
        reranked, times = timed(lambda q: rerank(index.search(q[None], candidates)[1][0], vectors16, q, 10)[0]
                                .tolist(), queries)
        report[name] = {"codebooks": "faiss k-means", "bytes_per_photo": index.code_size,
                        "recall10_pq": recall(approx, truth), "recall10_rerank": recall(reranked, truth),
                        **percentiles(times)}
    return report


def usearch_hnsw(vectors16: np.ndarray, queries: np.ndarray, truth: list) -> dict:
    """HNSW over the float16 vectors: build time, memory, recall@10 (no re-rank needed) and latency."""
    import usearch
    from usearch.index import Index

    index = Index(ndim=vectors16.shape[1], metric="ip", dtype="f16", connectivity=16, expansion_add=128,
                  expansion_search=64)
    start = time.perf_counter()
    index.add(np.arange(len(vectors16), dtype=np.uint64), vectors16, threads=os.cpu_count() or 1)
    build_s = time.perf_counter() - start
    found, times = timed(lambda q: index.search(q.astype(np.float16), 10, threads=1).keys.astype(np.int64)
                         .tolist(), queries)
    return {"version": usearch.__version__, "build_s": round(build_s, 1), "build_threads": os.cpu_count(),
            "bytes_per_photo": round(index.memory_usage / len(vectors16), 1), "recall10": recall(found, truth),
            **percentiles(times)}


def sqlite_vec_exact(vectors: np.ndarray, queries: np.ndarray, truth: list, chunk: int = 50_000) -> dict:
    """sqlite-vec's brute-force k-NN in SQLite (exact, so its recall is 1 up to float rounding)."""
    import apsw
    import sqlite_vec

    db = apsw.Connection(":memory:")
    db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
    db.enable_load_extension(False)
    version = db.execute("SELECT vec_version()").fetchone()[0]
    db.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{vectors.shape[1]}])")
    start = time.perf_counter()
    with db:
        for first in range(0, len(vectors), chunk):
            db.executemany("INSERT INTO v (rowid, embedding) VALUES (?, ?)",
                           ((first + i, row.tobytes()) for i, row in enumerate(vectors[first:first + chunk])))
    load_s = time.perf_counter() - start
    sql = "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 10 ORDER BY distance"
    found, times = timed(lambda q: [r[0] for r in db.execute(sql, (q.astype(np.float32).tobytes(),))], queries)
    db.close()
    return {"version": version, "load_s": round(load_s, 1), "queries": len(queries),
            "recall10": recall(found, truth[:len(queries)]), **percentiles(times)}
