"""Indexing at the decode limit: throughput against the pipeline's own limits, bytes read, the first searchable
batch, the no-change re-index, JPEG draft decoding, and memory as the library grows.

    python -m benchmarks.indexing [--photos 2000] [--large 40] [--camera 240] [--students demo,hybrid]
                                  [--rss 2000,20000] [--bundle B] [--out benchmarks/results/indexing.json] [--json]

- `photos` demo pictures (640x480 JPEG), the demo student's fp32 ONNX: full index, first searchable batch,
  bytes read ÷ folder size (`rchar` of /proc/self/io over the run), the no-change re-index as a share of it.
- `camera` 12-MP JPEGs (4000x3000): for each student (demo: the shipped demo student; hybrid: the chosen
  real-shape student's image tower, student-hybrid-s at 224 px, random weights, exported as `pocketclip export`
  does) and precision, in one run on the same photos and all cores: d, the decode-only limit (read + hash +
  draft decode + preprocess, the indexer's own workers); e, the encode-only limit (the image artifact on
  onnxruntime's threads, batches of 32); the index throughput; and photos/s ÷ 1/(1/d + 1/e). Each is the
  best of two interleaved passes.
- `large` 3200x2400 JPEGs indexed with and without Pillow's draft decoding (`draft_speedup`).
- `rss`: peak RSS of `pocketclip index` on folders of that many small photos (flat: memory does not grow with
  the library).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.backends import OnnxTower, run_batched
from pocketclip.runtime.bundle.home import DEMO, resolve
from pocketclip.runtime.bundle.manifest import Bundle, load_bundle
from pocketclip.runtime.indexing.indexer import index_library
from pocketclip.runtime.indexing.source import FolderSource
from pocketclip.runtime.library import Library
from pocketclip.runtime.store import Store

ENCODE_BATCH = 32


def draw_folder(root: Path, count: int, size: tuple[int, int], quality: int = 88) -> int:
    """`count` demo pictures as JPEGs of `size`; returns the folder's bytes."""
    from pocketclip.models.data.demo_world import sample

    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sample(i, "gallery", 256)[0].resize(size).save(root / f"photo_{i:05d}.jpg", quality=quality)
    return sum(p.stat().st_size for p in root.iterdir())


def rchar() -> int:
    """Bytes this process has read through read() calls (Linux), page cache or not."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def timed_index(folder: Path, db_path: Path, bundle: Bundle, draft: bool = True, first: list | None = None
                ) -> tuple[float, object, int]:
    """(seconds, report, bytes read) of one index run; `first` receives the seconds to the first commit."""
    library = Library.create(db_path, folder, bundle)
    start, before = time.perf_counter(), rchar()

    def progress(done: int, total: int) -> None:
        if first is not None and done and not first:
            first.append(time.perf_counter() - start)

    report = library.index(draft=draft, progress=progress)
    seconds, read = time.perf_counter() - start, rchar() - before
    library.close()
    return seconds, report, read


def library_run(photos: int, large: int, bundle: Bundle, work: Path) -> dict:
    size = draw_folder(work / "photos", photos, (640, 480))
    timed_index(work / "photos", work / "warm.db", bundle)  # imports and first-use costs out of the way
    first: list[float] = []
    full_s, report, read = timed_index(work / "photos", work / "a.db", bundle, first=first)
    noop_s, noop, _ = timed_index(work / "photos", work / "a.db", bundle)
    draw_folder(work / "large", large, (3200, 2400))
    draft_s, _, _ = timed_index(work / "large", work / "draft.db", bundle, draft=True)
    full_decode_s, _, _ = timed_index(work / "large", work / "full.db", bundle, draft=False)
    return {"photos": photos, "embedded": report.embedded, "full_s": round(full_s, 3), "noop_s": round(noop_s, 4),
            "noop_unchanged": noop.unchanged, "noop_ratio": round(noop_s / full_s, 5),
            "photos_per_s": round(photos / full_s, 1), "first_searchable_s": round(first[0], 3) if first else None,
            "folder_bytes": size, "bytes_read": read, "bytes_read_ratio": round(read / size, 3),
            "timings": report.timings, "large_photos": large,
            "large_photos_per_s_draft": round(large / draft_s, 2),
            "large_photos_per_s_full_decode": round(large / full_decode_s, 2),
            "draft_speedup": round(full_decode_s / draft_s, 3)}


def _image_towers(student: str, work: Path) -> tuple[dict, dict[str, Path]]:
    """(preprocessing spec, {precision: image tower ONNX}) of a student."""
    if student == "demo":
        bundle = load_bundle(resolve(DEMO))
        return bundle.preprocess, {a["precision"]: bundle.verified(a["file"]) for a in bundle.artifacts
                                   if a["tower"] == "image" and a["format"] == "onnx"}
    import torch

    from pocketclip.exporter.golden import calibration_inputs
    from pocketclip.exporter.onnx_export import export_onnx
    from pocketclip.models.towers.checkpoint import load_model

    torch.manual_seed(0)
    model = load_model("student-hybrid-s+student-text-4l-256")  # the chosen student; random weights time the same
    images, _ = calibration_inputs(model, count=16)
    paths = {}
    for precision in ("fp32", "int8"):
        paths[precision] = work / f"hybrid_image_{precision}.onnx"
        export_onnx(model.image, "image", precision, torch.from_numpy(images[:1]), images, paths[precision])
    return asdict(model.cfg.preprocess), paths


def limits(student: str, folder: Path, count: int, work: Path, rounds: int = 2) -> dict:
    """d, e, the index throughput and their ratio, per precision, on the photos in `folder`: each measured
    `rounds` times, interleaved, and the best of each kept (another process's load slows a pass, never
    speeds it up)."""
    spec, towers = _image_towers(student, work)
    source = FolderSource(folder)
    files = source.list([])
    workers = os.cpu_count() or 1
    for f in files:  # every pass below reads the photos from the page cache, the first one too
        f.absolute.read_bytes()
    opened = {precision: OnnxTower(path, None, spinning=False)  # as Library.create opens the indexer's encoder
              for precision, path in towers.items()}
    best: dict[str, float] = {}
    timings: dict[str, dict] = {}

    def keep(key: str, rate: float) -> None:
        best[key] = max(best.get(key, 0.0), rate)

    for attempt in range(rounds):
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:  # the indexer's own read + hash + decode, alone
            decoded = list(pool.map(lambda f: source.load(f, spec, True, lambda digest: True), files))
        keep("d", count / (time.perf_counter() - start))
        pixels = np.stack([item.pixels for item in decoded])
        for precision, tower in opened.items():
            run_batched(tower, pixels[:ENCODE_BATCH], None, 0, ENCODE_BATCH)  # warm-up
            start = time.perf_counter()
            run_batched(tower, pixels, None, 0, ENCODE_BATCH)
            keep(f"e_{precision}", count / (time.perf_counter() - start))
            db = Store.open(work / f"{student}-{precision}-{attempt}.db")
            db.bind_model("bench", int(tower(pixels[:1]).shape[1]), "bench")
            start = time.perf_counter()
            report = index_library(db, source, "bench", spec,
                                   lambda photos, px, tower=tower: run_batched(tower, px, None, 0, ENCODE_BATCH),
                                   batch_size=ENCODE_BATCH)
            rate = report.embedded / (time.perf_counter() - start)
            if rate >= best.get(f"t_{precision}", 0.0):
                timings[precision] = report.timings
            keep(f"t_{precision}", rate)
            db.close()
    out = {"decode_limit_d": round(best["d"], 1), "image_size": spec["size"], "rounds": rounds}
    for precision in opened:
        e, throughput = best[f"e_{precision}"], best[f"t_{precision}"]
        limit = 1 / (1 / best["d"] + 1 / e)
        out[precision] = {"encode_limit_e": round(e, 1), "limit": round(limit, 1),
                          "photos_per_s": round(throughput, 1), "ratio": round(throughput / limit, 3),
                          "timings": timings[precision]}
    return out


def rss(sizes: list[int], bundle: Bundle, work: Path) -> list[dict]:
    """Peak RSS of `pocketclip index` (a process of its own) on `n` small photos, for each n."""
    rows = []
    for n in sizes:
        folder = work / f"rss-{n}"
        draw_folder(folder, n, (320, 240), quality=80)
        launcher = ("import os, sys\npid = os.fork()\nif pid == 0:\n    os.execv(sys.argv[1], sys.argv[1:])\n"
                    "_, status, usage = os.wait4(pid, 0)\nprint(usage.ru_maxrss)\n")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-m", "pocketclip.cli", "index",
                               str(folder), "--db", str(work / f"rss-{n}.db"), "--bundle", str(bundle.root),
                               "--silent"], capture_output=True, text=True, check=True)
        rows.append({"photos": n, "peak_rss_mib": round(int(done.stdout.split()[-1]) / 1024, 1),
                     "seconds": round(time.perf_counter() - start, 1)})
    return rows


def run(photos: int, large: int, bundle_path: str | None, camera: int = 0, students: tuple[str, ...] = (),
        rss_sizes: tuple[int, ...] = ()) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bundle = load_bundle(resolve(bundle_path))
        result = {"cores": os.cpu_count(), **library_run(photos, large, bundle, work)}
        if camera and students:
            draw_folder(work / "camera", camera, (4000, 3000), quality=90)
            result["camera_photos"] = camera
            result["pipeline"] = {s: limits(s, work / "camera", camera, work) for s in students}
        if rss_sizes:
            result["rss"] = rss(list(rss_sizes), bundle, work)
    return result


def markdown(result: dict) -> str:
    """The pipeline table docs/search.md quotes (tests/test_docs_numbers.py checks it against the JSON)."""
    lines = ["| student | input | precision | decode limit d | encode limit e | 1/(1/d+1/e) | indexed | ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for student, row in result.get("pipeline", {}).items():
        for precision in ("fp32", "int8"):
            p = row[precision]
            lines.append(f"| {student} | {row['image_size']} px | {precision} | {row['decode_limit_d']} | "
                         f"{p['encode_limit_e']} | {p['limit']} | {p['photos_per_s']} | **{p['ratio']}** |")
    lines += ["", "| photos | peak RSS (MiB) |", "|---|---|"]
    lines += [f"| {r['photos']:,} | {r['peak_rss_mib']} |" for r in result.get("rss", [])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--large", type=int, default=40, help="3200x2400 photos for the draft comparison")
    parser.add_argument("--camera", type=int, default=0, help="12-MP photos for the pipeline limits")
    parser.add_argument("--students", default="demo,hybrid", help="demo, hybrid (needs torch to export it)")
    parser.add_argument("--rss", default="", help="comma-separated library sizes for the peak-RSS runs")
    parser.add_argument("--bundle", default=None, help="model name or bundle folder (default: the demo model)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.photos, args.large, args.bundle, args.camera,
                 tuple(filter(None, args.students.split(","))), tuple(int(n) for n in filter(None, args.rss.split(","))))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else
          f"{result['photos_per_s']} photos/s, no-change re-index {result['noop_ratio']:.2%} of a full index, "
          f"draft decoding {result['draft_speedup']}x on large photos, bytes read {result['bytes_read_ratio']}x "
          f"the folder")


if __name__ == "__main__":
    main()
