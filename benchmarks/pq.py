"""The compressed index: bytes per photo, recall@10 against exact search, and latency on one core.

    python -m benchmarks.pq --vectors 1000000 [--queries 200] [--candidates 1000] [--codebooks F] [--json]

Two settings, each with the distilled codebooks published for the model (models/train/pq.py) and the
k-means baseline at the same bytes:
- demo_split: the model's own embeddings of the held-out demo split (1000 pictures; its captions are
  the queries). The baseline's k-means is fitted on training-split picture embeddings, the same
  pictures the distilled codebooks saw.
- synthetic (the top-level keys): --vectors stored vectors drawn to resemble the stored ones: each is
  a training-split picture embedding plus Gaussian noise with the covariance of those embeddings
  (scaled by --noise), L2-normalised, stored as float16. Queries are real caption embeddings of the
  held-out split. The baseline's k-means is fitted on a sample of these stored vectors.
Times are per query, one thread (threadpoolctl for numpy's BLAS, faiss.omp_set_num_threads(1)), with
the codes and float16 vectors in memory as `search --mode` holds them (loading is benchmarks.search's).
faiss runs side by side on the same vectors: exact IndexFlatIP, IndexPQ (8-bit codes, same bytes)
and IndexPQFastScan (4-bit codes, same bytes) with the same exact re-rank.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from benchmarks import cold_start
from benchmarks.synthetic import synthetic
from benchmarks.pq_desktop import candidate_sweep, measure_desktop, stored_rows, switch_point
from benchmarks.pq_engines import faiss_side_by_side, percentiles, recall, sqlite_vec_exact, timed, usearch_hnsw
from pocketclip.models.data.demo_data import load_split
from pocketclip.models.eval.evaluate import embed_pairs
from pocketclip.models.towers.checkpoint import load_model
from pocketclip.models.train.pq import code_entropy, published_codebooks
from pocketclip.models.train.pq_kmeans import fit_kmeans_codebooks
from pocketclip.runtime.bundle.codebooks import Codebooks, load_codebooks
from pocketclip.runtime.search.hits import top
from pocketclip.runtime.search.pq import PQScanner, rerank
from pocketclip.runtime.store import as_stored


def measure_codebooks(books: Codebooks, vectors16: np.ndarray, queries: np.ndarray, truth: list, candidates: int,
                      exact_p50: float) -> dict:
    """bytes, recall of pq and pq+rerank, latency of both, usage entropy, for one set of codebooks."""
    vectors = vectors16.astype(np.float32) if vectors16.dtype != np.float32 else vectors16
    start = time.perf_counter()
    scanner = PQScanner(books, books.encode(vectors))
    encode_s = time.perf_counter() - start
    pq_only, pq_times = timed(lambda q: top(scanner.scores(q), 10).tolist(), queries)
    reranked, times = timed(lambda q: rerank(top(scanner.scores(q), candidates), vectors16, q, 10)[0].tolist(),
                            queries)
    result = {"bytes_per_photo": books.subspaces, "recall10_pq": recall(pq_only, truth),
              "recall10_rerank": recall(reranked, truth), **percentiles(times),
              "pq_only_p50_ms": percentiles(pq_times)["p50_ms"], "encode_s": round(encode_s, 2),
              "usage_entropy": round(code_entropy(books, vectors[:100_000]), 4)}
    result["speedup_vs_exact"] = round(exact_p50 / result["p50_ms"], 2)
    return result


def exact_search(vectors: np.ndarray, queries: np.ndarray) -> tuple[list, list[float]]:
    return timed(lambda q: top(vectors @ q, 10).tolist(), queries)


def embed(model, split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    data = load_split(split, n, model.cfg.preprocess)
    with torch.no_grad():
        images, texts = embed_pairs(model, data)
    return as_stored(images.numpy()), as_stored(texts.numpy())


def run(args) -> dict:
    model = load_model(args.model).eval()
    import faiss

    faiss.omp_set_num_threads(1)
    fast = load_codebooks(args.fastscan_codebooks) if args.fastscan_codebooks else published_codebooks(model, "pq4")[0]
    if args.codebooks:  # e.g. runs/pq8/pq_codebooks.npy from models/recipes/demo-student-pq8.json
        learned = load_codebooks(args.codebooks)
    elif (published := published_codebooks(model)) is not None:
        learned = published[0]
    else:
        raise SystemExit(f"{args.model} has no published PQ codebooks; run models/train/pq.py or give --codebooks")
    train_images, _ = embed(model, "train", args.base)
    test_images, test_texts = embed(model, "test", args.test_size)
    m = learned.subspaces
    kmeans_train = fit_kmeans_codebooks(train_images, m, seed=args.seed)
    queries = test_texts[:args.queries]
    with threadpool_limits(limits=1):
        truth, demo_exact = exact_search(test_images, test_texts)
        demo = {"vectors": len(test_images), "queries": len(test_texts), "candidates": args.demo_candidates,
                "exact_p50_ms": percentiles(demo_exact)["p50_ms"]}
        demo.update(measure_codebooks(learned, test_images.astype(np.float16), test_texts, truth,
                                      args.demo_candidates, demo["exact_p50_ms"]))
        demo["baseline"] = measure_codebooks(kmeans_train, test_images.astype(np.float16), test_texts, truth,
                                             args.demo_candidates, demo["exact_p50_ms"])
        vectors16, to_base = synthetic(train_images, args.vectors, args.noise, args.seed)
        vectors = vectors16.astype(np.float32)
        truth, exact_times = exact_search(vectors, queries)
        exact_p50 = percentiles(exact_times)["p50_ms"]
        rng = np.random.default_rng(args.seed)
        sample = vectors[rng.choice(len(vectors), size=min(100_000, len(vectors)), replace=False)]
        kmeans = fit_kmeans_codebooks(sample, m, seed=args.seed)
        result = {"vectors": args.vectors, "dim": vectors.shape[1], "queries": len(queries),
                  "candidates": args.candidates, "codebooks": args.codebooks or "distilled (published)", "float16_bytes_per_photo": 2 * vectors.shape[1],
                  "exact_p50_ms": exact_p50, "exact_p95_ms": percentiles(exact_times)["p95_ms"],
                  "synthetic": {"base": f"{len(train_images)} training-split picture embeddings",
                                "noise": args.noise, "mean_cosine_to_base": round(to_base, 4)}}
        result.update(measure_codebooks(learned, vectors16, queries, truth, args.candidates, exact_p50))
        result["baseline"] = {"codebooks": "k-means (scikit-learn) on 100k stored vectors",
                              **measure_codebooks(kmeans, vectors16, queries, truth, args.candidates, exact_p50)}
        if not args.no_faiss:
            result["faiss"] = faiss_side_by_side(sample, vectors16, vectors, queries, truth, m, args.candidates)
            result["faiss"]["ratios"] = {
                "ours_p50_over_flat_p50": round(result["p50_ms"] / result["faiss"]["flat_ip"]["p50_ms"], 3),
                "ours_p50_over_index_pq_p50": round(result["p50_ms"] / result["faiss"]["index_pq_8bit"]["p50_ms"], 3),
                "ours_recall_rerank_over_index_pq": round(
                    result["recall10_rerank"] / max(result["faiss"]["index_pq_8bit"]["recall10_rerank"], 1e-9), 3)}
        desktop(args, result, fast, learned, vectors16, vectors, queries, truth)
    result["demo_split"] = demo
    if not args.no_cold:
        result.update(cold(args, model, vectors16))
    return result


def desktop(args, result: dict, fast: Codebooks, learned: Codebooks, vectors16: np.ndarray, vectors: np.ndarray,
            queries: np.ndarray, truth: list) -> None:
    """The desktop path (faiss over the store's codes) with the 4-bit and the 8-bit codebooks, the manifest's two
    settings measured on it, and the other engines."""
    rows = {"fast": stored_rows(fast, vectors16), "learned": stored_rows(learned, vectors16)}
    result["fastscan"] = measure_desktop(fast, rows["fast"], vectors16, queries, truth, args.candidates)
    result["faiss_pq8"] = measure_desktop(learned, rows["learned"], vectors16, queries, truth, args.candidates)
    result["candidates_sweep"] = {name: candidate_sweep(books, rows[key], vectors16, queries, truth)
                                  for name, key, books in (("4bit", "fast", fast), ("8bit", "learned", learned))}
    result["switch"] = {name: switch_point(books, rows[key], vectors16, queries[:50], args.candidates)
                        for name, key, books in (("4bit", "fast", fast), ("8bit", "learned", learned))}
    result["numpy_exact"] = {"p50_ms": result["exact_p50_ms"], "p95_ms": result["exact_p95_ms"], "recall10": 1.0}
    if not args.no_engines:
        result["usearch_hnsw"] = usearch_hnsw(vectors16, queries, truth)
        result["sqlite_vec_exact"] = sqlite_vec_exact(vectors, queries[:args.engine_queries], truth)


def cold(args, model, vectors16: np.ndarray) -> dict:
    """`cold_search`: one search process on a store of the synthetic vectors, with and without its copy."""
    import tempfile
    from pathlib import Path

    from pocketclip.runtime.bundle.manifest import load_bundle

    with tempfile.TemporaryDirectory(prefix="pocketclip-cold-") as scratch:
        if args.bundle:
            bundle = load_bundle(args.bundle)
        else:  # the bundle `pocketclip export` makes by default (ONNX fp32 suffices for a text query)
            from pocketclip.exporter.bundle_writer import export_bundle
            from pocketclip.models.train.pq import codebooks_option

            export_bundle(model, Path(scratch) / "bundle", ["onnx"], ["fp32"], codebooks=codebooks_option(model,
                                                                                                         args.cold_pq))
            bundle = load_bundle(Path(scratch) / "bundle")
        report = cold_start.run(bundle, vectors16, Path(scratch) / "store")
    return {"cold_search_s": report.pop("cold_search_s"), "cold_search": report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="caption embeddings of the held-out split")
    parser.add_argument("--candidates", type=int, default=1000, help="re-ranked exactly (pq+rerank)")
    parser.add_argument("--demo-candidates", type=int, default=50)
    parser.add_argument("--model", default="demo-student")
    parser.add_argument("--codebooks", default=None, help="distilled codebooks .npy (default: the published ones)")
    parser.add_argument("--base", type=int, default=5000, help="training-split pictures the synthetic vectors start from")
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--noise", type=float, default=0.5, help="noise std relative to the embeddings' spread")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-faiss", action="store_true", help="skip faiss trained by itself")
    parser.add_argument("--fastscan-codebooks", default=None,
                        help="4-bit codebooks .npy for `fastscan` (default: the published pq4 ones)")
    parser.add_argument("--no-engines", action="store_true", help="skip usearch and sqlite-vec")
    parser.add_argument("--engine-queries", type=int, default=20, help="queries for sqlite-vec's exact scan")
    parser.add_argument("--no-cold", action="store_true", help="skip the search-process timing")
    parser.add_argument("--bundle", default=None, help="cold start: the bundle (default: export one)")
    parser.add_argument("--cold-pq", default="auto", help="cold start without --bundle: `pocketclip export --pq`")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, r in (("distilled", result), ("k-means", result["baseline"])):
            print(f"{name}: {r['bytes_per_photo']} B/photo, recall@10 pq {r['recall10_pq']}, pq+rerank "
                  f"{r['recall10_rerank']}, p50 {r['p50_ms']} ms (exact {result['exact_p50_ms']} ms)")


if __name__ == "__main__":
    main()


def markdown(result: dict) -> str:
    """The engine table docs/search.md quotes, from one run's JSON."""
    def row(name: str, books: str, r: dict, pq_key: str = "recall10_pq", final_key: str = "recall10_rerank",
            stage: bool = False) -> str:
        pq = f"{r[pq_key]}" if pq_key in r else ""
        stage_ms = f"{r['candidate_p50_ms']}" if stage else ""
        return f"| {name} | {books} | {pq} | {r[final_key]} | {stage_ms} | {r['p50_ms']} / {r['p95_ms']} |"

    faiss_own = result.get("faiss", {})
    lines = ["| engine (one core) | codebooks | recall@10 pq | recall@10 final | candidate stage p50 ms | "
             "p50 / p95 ms |", "|---|---|---:|---:|---:|---:|",
             row("**faiss fast-scan on the store's codes (desktop, 4-bit)**",
                 f"distilled {result['fastscan']['codebooks']}", result["fastscan"], stage=True),
             row("faiss IndexPQ on the store's codes (desktop, 8-bit)",
                 f"distilled {result['faiss_pq8']['codebooks']}", result["faiss_pq8"], stage=True),
             row("numpy scan (reference, fallback), 8-bit", "distilled", result),
             row("numpy scan, 8-bit", "k-means on the stored vectors", result["baseline"])]
    if faiss_own:
        lines += [row("faiss IndexPQ, its own training", "faiss k-means, 8-bit", faiss_own["index_pq_8bit"]),
                  row("faiss fast-scan, its own training", "faiss k-means, 4-bit", faiss_own["pq_fastscan_4bit"])]
    if "usearch_hnsw" in result:
        hnsw = result["usearch_hnsw"]
        lines.append(row(f"usearch HNSW on float16 vectors ({hnsw['bytes_per_photo']} B/photo, {hnsw['build_s']} s "
                         f"to build on {hnsw['build_threads']} threads)", "", hnsw, pq_key="-", final_key="recall10"))
        lines.append(row(f"sqlite-vec exact scan (float32, {result['sqlite_vec_exact']['queries']} queries)", "",
                         result["sqlite_vec_exact"], pq_key="-", final_key="recall10"))
    lines.append(row("numpy exact (float32 matrix in memory)", "", result["numpy_exact"], pq_key="-",
                     final_key="recall10"))
    if faiss_own:
        lines.append(f"| faiss IndexFlatIP exact | | | 1.0 | | {faiss_own['flat_ip']['p50_ms']} / "
                     f"{faiss_own['flat_ip']['p95_ms']} |")
    return "\n".join(lines)
