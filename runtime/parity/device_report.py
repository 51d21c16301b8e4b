"""Checking what a phone produced for the golden inputs (the device report) against the reference."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.contracts import read_contract
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.parity.golden import Golden
from pocketclip.runtime.parity.quality import agreement, bar_for, misses, top_k_overlap


def load_device_report(path: str | Path) -> dict:
    return read_contract(path, "device-report")


def check_device_report(bundle: Bundle, report: dict, golden: Golden) -> list[dict]:
    """One row per artifact in the report: measured numbers, bar, and every reason it fails."""
    rows = []
    expected_fp = bundle.fingerprint
    for item in report["artifacts"]:
        row = {"file": item["file"], "device": report["device"], "runtime": report["runtime"], "missed": []}
        rows.append(row)
        if report["model_fingerprint"] != expected_fp:
            row["missed"].append(f"vectors of model {report['model_fingerprint'][:12]}, the bundle is "
                                 f"{expected_fp[:12]}")
        entry = next((e for e in bundle.artifacts if e["file"] == item["file"]), None)
        if entry is None:
            row["missed"].append("no such artifact in the bundle")
            continue
        if item["sha256"] != entry["sha256"]:
            row["missed"].append(f"sha256 {item['sha256'][:12]} is not the bundle's {entry['sha256'][:12]}: "
                                 "the phone ran another file")
        if item["tower"] != entry["tower"]:
            row["missed"].append(f"tower {item['tower']!r}, the artifact is the {entry['tower']} tower")
            continue
        ref = golden.image_ref if entry["tower"] == "image" else golden.text_ref
        got = np.asarray([[np.nan if v is None else v for v in vec] for vec in item["vectors"]], dtype=np.float64)
        if got.ndim != 2 or got.shape != ref.shape:
            row["missed"].append(f"vectors shaped {list(got.shape)}, the golden reference is {list(ref.shape)} "
                                 f"(dim {bundle.manifest['model']['embed_dim']})")
            continue
        measured = agreement(got, ref)
        if item.get("gallery_vectors"):
            gallery = np.asarray(item["gallery_vectors"], dtype=np.float64)
            if entry["tower"] == "image":
                measured["top10_overlap"] = top_k_overlap(golden.gallery_text_ref, gallery, golden.gallery_text_ref,
                                                          golden.gallery_image_ref)
            else:
                measured["top10_overlap"] = top_k_overlap(gallery, golden.gallery_image_ref, golden.gallery_text_ref,
                                                          golden.gallery_image_ref)
        if item.get("timings_ms"):
            measured["median_ms"] = float(np.median(item["timings_ms"]))
        bar = bar_for(entry["precision"], entry["tower"])
        row.update(measured=measured, bar=bar)
        row["missed"] += misses(measured, bar)
    return rows


def check_device_file(bundle: Bundle, path: str | Path) -> tuple[list[dict], bool]:
    """check_device_report on a report file and the bundle's golden set; (rows, passed)."""
    from pocketclip.runtime.parity.golden import load_golden

    rows = check_device_report(bundle, load_device_report(path), load_golden(bundle))
    return rows, not any(r["missed"] for r in rows)
