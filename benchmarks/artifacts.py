"""Per-artifact table of a bundle: bytes, agreement with fp32, and CPU latency, fp32 vs int8 as ratios.

    python -m benchmarks.artifacts BUNDLE [--json] [--repeats 30]

Latencies are timed here, one thread, interleaving fp32 and int8 of the same tower and format in
one run, so the int8/fp32 ratio is not skewed by machine noise.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from pocketclip.runtime.bundle.backends import RUNNABLE_FORMATS, open_tower
from pocketclip.runtime.bundle.manifest import load_bundle


def _time_once(tower, one: np.ndarray) -> float:
    start = time.perf_counter()
    tower(one)
    return time.perf_counter() - start


def latency_table(bundle_path: str, repeats: int) -> dict:
    bundle = load_bundle(bundle_path)
    inputs = {"image": np.load(bundle.verified("golden/pixels.npy"))[:1],
              "text": np.load(bundle.verified("golden/ids.npy"))[:1]}
    rows = []
    for entry in bundle.artifacts:
        rows.append({k: entry.get(k) for k in ("file", "tower", "format", "precision", "bytes")} | {
            "cosine_min": entry.get("measured", {}).get("cosine_min"),
            "top10_overlap": entry.get("measured", {}).get("top10_overlap"),
            "delegated_share": entry.get("delegated_share")})
    ratios = {}
    for fmt in RUNNABLE_FORMATS:
        for kind in ("image", "text"):
            pair = {p: bundle.artifact(kind, fmt, p) for p in ("fp32", "int8")}
            towers = {p: open_tower(bundle.verified(e["file"]), fmt, e["inputs"][0]["name"], threads=1)
                      for p, e in pair.items()}
            times = {p: [] for p in towers}
            for _ in range(repeats):
                for p, tower in towers.items():  # interleaved: both see the same machine state
                    times[p].append(_time_once(tower, inputs[kind]))
            ms = {p: float(np.median(t) * 1000) for p, t in times.items()}
            for row in rows:
                if (row["format"], row["tower"]) == (fmt, kind) and row["precision"] in ms:
                    row["cpu_ms"] = round(ms[row["precision"]], 3)
            ratios[f"{fmt}_{kind}_int8_speedup"] = round(ms["fp32"] / ms["int8"], 3)
    return {"bundle": str(bundle_path), "model": bundle.manifest["model"]["name"], "artifacts": rows, **ratios}


def markdown(result: dict) -> str:
    lines = ["| artifact | bytes | cosine vs fp32 (min) | top-10 overlap | CPU ms (1 thread) |",
             "|---|---:|---:|---:|---:|"]
    for r in result["artifacts"]:
        cos = f"{r['cosine_min']:.6f}" if r["cosine_min"] is not None else "— (Mac/iOS)"
        overlap = f"{r['top10_overlap']:.3f}" if r["top10_overlap"] is not None else "—"
        lines.append(f"| {r['file']} | {r['bytes']:,} | {cos} | {overlap} | {r.get('cpu_ms', '—')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = latency_table(args.bundle, args.repeats)
    print(json.dumps(result, indent=2) if args.json else markdown(result))


if __name__ == "__main__":
    main()
