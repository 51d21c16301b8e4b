"""Indexing throughput: full index, no-change re-index, and JPEG draft decoding of large photos.

    python -m benchmarks.indexing --photos 2000 [--large 40] [--bundle B] [--json]

Photos are demo pictures (640x480 JPEG). The no-change ratio (re-index with nothing changed /
full index) is measured in the same run; `draft_speedup` indexes large photos (3200x2400 JPEG)
with and without Pillow's draft decoding, in the same run. Without --bundle, the demo student is
exported (fp32 ONNX) to a temporary bundle first.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.demo_bundle import bundle_for_benchmark
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.library import Library


def draw_folder(root: Path, count: int, size: tuple[int, int]) -> None:
    from pocketclip.models.data.demo_world import sample

    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = sample(i, "gallery", 256)[0].resize(size)
        image.save(root / f"photo_{i:05d}.jpg", quality=88)


def timed_index(folder: Path, db_path: Path, bundle: Bundle, draft: bool = True) -> tuple[float, object]:
    library = Library.create(db_path, folder, bundle)
    start = time.perf_counter()
    report = library.index(draft=draft)
    library.close()
    return time.perf_counter() - start, report


def run(photos: int, large: int, bundle_path: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundle = bundle_for_benchmark(bundle_path, tmp)
        draw_folder(tmp / "photos", photos, (640, 480))
        full_s, report = timed_index(tmp / "photos", tmp / "a.db", bundle)
        noop_s, noop = timed_index(tmp / "photos", tmp / "a.db", bundle)
        draw_folder(tmp / "large", large, (3200, 2400))
        draft_s, _ = timed_index(tmp / "large", tmp / "draft.db", bundle, draft=True)
        full_decode_s, _ = timed_index(tmp / "large", tmp / "full.db", bundle, draft=False)
    return {"photos": photos, "embedded": report.embedded, "full_s": round(full_s, 3), "noop_s": round(noop_s, 4),
            "noop_unchanged": noop.unchanged, "noop_ratio": round(noop_s / full_s, 5),
            "photos_per_s": round(photos / full_s, 1), "large_photos": large,
            "large_photos_per_s_draft": round(large / draft_s, 2),
            "large_photos_per_s_full_decode": round(large / full_decode_s, 2),
            "draft_speedup": round(full_decode_s / draft_s, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--large", type=int, default=40, help="3200x2400 photos for the draft comparison")
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.photos, args.large, args.bundle)
    print(json.dumps(result, indent=2) if args.json else
          f"{result['photos_per_s']} photos/s, no-change re-index {result['noop_ratio']:.2%} of a full index, "
          f"draft decoding {result['draft_speedup']}x on large photos")


if __name__ == "__main__":
    main()
