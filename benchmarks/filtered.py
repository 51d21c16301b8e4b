"""Filtered search, measured: a filter's query time against the unfiltered query's, and recall@10 against
exact search on the photos the filter selects, on a 1,000,000-photo store, one core.

    python -m benchmarks.filtered [--photos 1000000] [--queries 50] [--out benchmarks/results/filtered.json]

The store is a real one, written through the Store (photos with facts, float16 vectors, PQ codes of the demo
bundle's codebooks) and searched through Library.open as `pocketclip search` does: pq+rerank above the
bundle's exact_below_photos. Vectors are drawn like the demo student's (benchmarks/synthetic.py: its
embeddings of demo-world pictures plus noise along their covariance); queries are its caption embeddings.
Facts: dates uniform over 2015-2024, 70% with GPS at one of 200 places (Zipf-like shares), five cameras,
three formats, one folder per month. Each filter's time is the median over the queries of
Library.search_vector with the filter (selection from the in-memory facts + the search), the unfiltered
median measured in the same run; the one-time load of the facts is reported on its own.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: numpy's BLAS and faiss read it at import

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks.synthetic import synthetic  # noqa: E402
from benchmarks.report import emit, out_arguments
from pocketclip.runtime.bundle.codebooks import bundle_codebooks  # noqa: E402
from pocketclip.runtime.bundle.encoders import BundleEncoder  # noqa: E402
from pocketclip.runtime.bundle.home import resolve  # noqa: E402
from pocketclip.runtime.bundle.manifest import load_bundle  # noqa: E402
from pocketclip.runtime.library import Library  # noqa: E402
from pocketclip.runtime.search.filters import Filters  # noqa: E402
from pocketclip.runtime.search.hits import mean_overlap, top  # noqa: E402
from pocketclip.runtime.store import Store, to_blob  # noqa: E402
from pocketclip.runtime.store import meta_keys as K  # noqa: E402

CAMERAS = [("Apple", "iPhone 15 Pro"), ("Apple", "iPhone 12"), ("FUJIFILM", "X-T5"), ("Canon", "Canon EOS R5"),
           ("samsung", "Galaxy S24")]
FORMATS = ["jpeg"] * 16 + ["heic"] * 3 + ["png"]
START = np.datetime64("2015-01-01T00:00:00", "s")
SPAN_S = int((np.datetime64("2025-01-01T00:00:00", "s") - START).astype(np.int64))
FILTERS = {  # name -> the filter; its selectivity is measured on the store
    "date_1pct": Filters(after="2020-01-01", before="2020-02-05"),
    "date_5pct": Filters(after="2020-01-01", before="2020-06-15"),
    "date_50pct": Filters(after="2020-01-01"),
    "place_1pct": Filters(place="Place 010"),
    "camera_20pct": Filters(camera="x-t5"),
    "folder_and_type_1pct": Filters(folder="2019", type="heic"),
}


def base_embeddings(bundle, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's embeddings of `count` demo-world pictures and of their captions."""
    from pocketclip.models.data.demo_world import sample
    from pocketclip.runtime.bundle.preprocess import preprocess_image

    encoder = BundleEncoder(bundle, "onnx", "fp32")
    pictures, captions = [], []
    for i in range(count):
        image, text, _ = sample(i, "gallery", 96)
        pictures.append(preprocess_image(image, bundle.preprocess))
        captions.append(text)
    images = np.concatenate([encoder.encode_pixels(np.stack(pictures[i:i + 64])) for i in range(0, count, 64)])
    return images, encoder.encode_texts(captions)


def write_store(path: Path, bundle, vectors16: np.ndarray, seed: int = 0, chunk: int = 50_000) -> None:
    """A store bound to `bundle` with one photo (facts, vector, code) per vector."""
    rng = np.random.default_rng(seed)
    books = bundle_codebooks(bundle)
    n = len(vectors16)
    places = [(f"Place {i:03d}", f"Region {i % 20:02d}", f"Country {i % 7}", float(rng.uniform(-60, 70)),
               float(rng.uniform(-180, 180))) for i in range(200)]
    shares = 1.0 / np.arange(1, 201) ** 0.6
    db = Store.open(path)
    db.bind_model(bundle.fingerprint, bundle.embed_dim, bundle.preprocess_sha256, precision="fp32")
    with db.atomic():
        db.set_meta({K.ROOT: str(path.parent), K.BUNDLE: str(bundle.root.resolve()), K.BACKEND: "onnx",
                     K.PQ_CODEBOOKS_SHA256: bundle.pq_sha256})
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            taken = START + rng.integers(0, SPAN_S, m).astype("timedelta64[s]")
            where = rng.choice(200, m, p=shares / shares.sum())
            gps = rng.random(m) < 0.7
            cams = rng.integers(0, len(CAMERAS), m)
            fmts = rng.integers(0, len(FORMATS), m)
            rows = []
            for j in range(m):
                t = str(taken[j])
                place = places[where[j]] if gps[j] else (None,) * 5
                rows.append((start + j + 1, f"{t[:4]}/{t[5:7]}/{start + j:07d}.{FORMATS[fmts[j]]}", 1000, 1,
                             f"{start + j:032x}", 4000, 3000, "ok", t, "+00:00", "exif", place[3], place[4],
                             place[0], place[1], place[2], *CAMERAS[cams[j]], FORMATS[fmts[j]]))
            db.conn.executemany("INSERT INTO photos (id, path, size, mtime_ns, content_hash, width, height, status, "
                                "taken_at, taken_offset, taken_source, latitude, longitude, place_city, place_region, "
                                "place_country, camera_make, camera_model, format) VALUES "
                                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            block = vectors16[start:start + m]
            codes = books.code_blobs(block.astype(np.float32))
            db.conn.executemany("INSERT INTO embeddings (photo_id, model, vector, pq_code) VALUES (?, ?, ?, ?)",
                                [(start + j + 1, bundle.fingerprint, to_blob(block[j]), codes[j]) for j in range(m)])
        db.bump_generation()
    db.close()


def median_ms(run, queries) -> tuple[float, list]:
    found, times = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(run(q))
        times.append((time.perf_counter() - start) * 1000)
    return round(float(np.median(times)), 3), found


def measure(db_path: Path, vectors16: np.ndarray, queries: np.ndarray) -> dict:
    library = Library.open(db_path)
    start = time.perf_counter()
    index = library.search_index()
    load_index_s = time.perf_counter() - start
    start = time.perf_counter()
    library.facets()
    load_facts_s = time.perf_counter() - start
    vectors = vectors16.astype(np.float32)
    library.search_vector(queries[0], 10)  # warm
    base_ms, base_found = median_ms(lambda q: [h.id for h in library.search_vector(q, 10)], queries)
    truth = [(top(vectors @ q, 10) + 1).tolist() for q in queries]  # photo id = row + 1
    report = {"mode": library.mode_used, "photos": len(index), "load_index_s": round(load_index_s, 2),
              "load_facts_s": round(load_facts_s, 2), "unfiltered_p50_ms": base_ms,
              "unfiltered_recall10": round(mean_overlap(base_found, truth), 4), "filters": {}}
    for name, filters in FILTERS.items():
        rows = library.selection(filters)
        ms, found = median_ms(lambda q, f=filters: [h.id for h in library.search_vector(q, 10, filters=f)], queries)
        subset = vectors[rows]
        truth = [(rows[top(subset @ q, 10)] + 1).tolist() for q in queries]
        allowed = set((rows + 1).tolist())
        report["filters"][name] = {
            "filter": {k: v for k, v in vars(filters).items() if v is not None}, "selected": int(len(rows)),
            "selectivity": round(len(rows) / len(index), 4), "p50_ms": ms,
            "ratio_to_unfiltered": round(ms / base_ms, 3), "recall10_vs_exact_on_subset": round(mean_overlap(found, truth), 4),
            "only_selected": all(set(hits) <= allowed for hits in found)}
    library.close()
    return report


def markdown(report: dict) -> str:
    """The lines docs/search.md quotes (tests/test_docs_numbers.py checks them against the JSON)."""
    lines = [f"{report['photos']:,} photos, one core, {report['mode']}: unfiltered p50 **{report['unfiltered_p50_ms']} "
             f"ms** (recall@10 {report['unfiltered_recall10']}); the photos' facts load once in "
             f"{report['load_facts_s']} s.", "",
             "| filter | selectivity | p50 ms | × unfiltered | recall@10 (exact on the selection) |",
             "|---|---|---|---|---|"]
    for row in report["filters"].values():
        what = ", ".join(f"{k}={v}" for k, v in row["filter"].items())
        lines.append(f"| {what} | {row['selectivity']} | {row['p50_ms']} | {row['ratio_to_unfiltered']} | "
                     f"{row['recall10_vs_exact_on_subset']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--noise", type=float, default=0.5)
    out_arguments(parser)
    args = parser.parse_args(argv)
    bundle = load_bundle(resolve(args.bundle))
    with threadpool_limits(1):
        images, texts = base_embeddings(bundle, 1000)
        vectors16, to_base = synthetic(images, args.photos, args.noise)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            write_store(Path(tmp) / "index.db", bundle, vectors16)
            write_s = time.perf_counter() - start
            report = {"model": bundle.name, "photos": args.photos, "queries": args.queries, "one_core": True,
                      "synthetic_cosine_to_base": round(to_base, 3), "write_store_s": round(write_s, 1),
                      **measure(Path(tmp) / "index.db", vectors16, texts[:args.queries])}
    report["goal"] = "1% and 50% selectivity each <= 2x the unfiltered query's time, recall@10 as exact on the subset"
    return emit(report, args.out)


if __name__ == "__main__":
    main()
