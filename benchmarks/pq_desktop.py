"""The desktop's search path in benchmarks/pq.py: faiss scans the codes the store holds (the bundle's codebooks,
runtime/search/fastscan.py), then the candidates are re-ranked exactly on the float16 vectors; and the two settings
the manifest's `search` section carries, measured on it: the exact/PQ switch point and the candidates.

Times are per query on one thread, as benchmarks/pq.py sets it; the codes are made by Codebooks.stored_codes,
as the indexer writes them, so faiss scans exactly what a phone would.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.pq_engines import percentiles, recall, timed
from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.search.fastscan import FaissScanner
from pocketclip.runtime.search.hits import top
from pocketclip.runtime.search.pq import rerank


def stored_rows(books: Codebooks, vectors16: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """(N, code_bytes) codes of the float16 vectors, row-major as the store's blobs."""
    return np.concatenate([np.ascontiguousarray(books.stored_codes(vectors16[i:i + chunk].astype(np.float32)).T)
                           for i in range(0, len(vectors16), chunk)])


def measure_desktop(books: Codebooks, rows: np.ndarray, vectors16: np.ndarray, queries: np.ndarray, truth: list,
                    candidates: int) -> dict:
    """Candidate stage alone, pq+rerank with the query vector given, recall of both, bytes, build time."""
    start = time.perf_counter()
    scanner = FaissScanner(books, rows)
    build_ms = (time.perf_counter() - start) * 1000
    pq_only, _ = timed(lambda q: scanner.top(q, 10).tolist(), queries)
    _, stage = timed(lambda q: scanner.top(q, candidates), queries)
    reranked, times = timed(lambda q: rerank(scanner.top(q, candidates), vectors16, q, 10)[0].tolist(), queries)
    return {"engine": f"faiss {type(scanner.index).__name__}", "codebooks": f"{books.subspaces} x {books.codewords}",
            "bytes_per_photo": books.code_bytes, "candidates": candidates,
            "candidate_p50_ms": percentiles(stage)["p50_ms"], **percentiles(times),
            "recall10_pq": recall(pq_only, truth), "recall10_rerank": recall(reranked, truth),
            "index_build_ms": round(build_ms, 1)}


def candidate_sweep(books: Codebooks, rows: np.ndarray, vectors16: np.ndarray, queries: np.ndarray, truth: list,
                    counts=(100, 200, 500, 1000, 2000)) -> list[dict]:
    """Recall@10 after the re-rank and p50 per candidate count: the manifest's rerank_candidates."""
    scanner = FaissScanner(books, rows)
    out = []
    for count in counts:
        found, times = timed(lambda q: rerank(scanner.top(q, count), vectors16, q, 10)[0].tolist(), queries)
        out.append({"candidates": count, "recall10_rerank": recall(found, truth),
                    "p50_ms": percentiles(times)["p50_ms"]})
    return out


def switch_point(books: Codebooks, rows: np.ndarray, vectors16: np.ndarray, queries: np.ndarray, candidates: int,
                 sizes=(5_000, 10_000, 20_000, 50_000, 100_000, 200_000)) -> dict:
    """Exact (float32 matvec over the first n photos) against pq+rerank on them, per n: the manifest's
    exact_below_photos is the first n from which pq+rerank is faster."""
    table = []
    for n in (s for s in sizes if s <= len(vectors16)):
        matrix = vectors16[:n].astype(np.float32)
        truth, exact = timed(lambda q: top(matrix @ q, 10).tolist(), queries)
        scanner = FaissScanner(books, rows[:n])
        found, times = timed(lambda q: rerank(scanner.top(q, candidates), vectors16, q, 10)[0].tolist(), queries)
        table.append({"photos": n, "exact_p50_ms": percentiles(exact)["p50_ms"],
                      "pq_rerank_p50_ms": percentiles(times)["p50_ms"], "recall10_rerank": recall(found, truth)})
    slower = [i for i, row in enumerate(table) if row["pq_rerank_p50_ms"] >= row["exact_p50_ms"]]
    first = slower[-1] + 1 if slower else 0  # from here on, every larger size is faster with pq+rerank
    return {"codebooks": f"{books.subspaces} x {books.codewords}", "candidates": candidates, "sizes": table,
            "pq_faster_from": table[first]["photos"] if first < len(table) else None}
