"""Parity on a user's own photos: artifacts against the fp32 reference, and a phone's store against
this runtime, photo by photo (a preprocessing mismatch shows up here first)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.backends import RUNNABLE_FORMATS
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.facts.photo_facts import read_facts
from pocketclip.runtime.indexing.conformance import same_fact
from pocketclip.runtime.indexing.decode import DecodeError, load_photo
from pocketclip.runtime.indexing.raw import is_raw
from pocketclip.runtime.indexing.walk import stored_file, walk_photos
from pocketclip.runtime.parity.quality import bar_for, cosines
from pocketclip.runtime.search.hits import mean_overlap
from pocketclip.runtime.store import Store
from pocketclip.runtime.store import meta_keys as K

BUILT_IN_QUERIES = (
    "a dog on a beach at sunset", "people smiling at a party", "a red car", "snowy mountains", "food on a plate",
    "a cat sleeping", "a city street at night", "flowers in a garden", "a child playing", "a document or receipt",
    "two red circles on the left", "a large yellow star in the middle", "three small blue triangles",
)


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-a between two score lists over the same items (O(k^2); k is a top-k, ~10)."""
    i, j = np.triu_indices(len(a), k=1)
    concordance = np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
    return float(concordance.mean()) if len(i) else 1.0


def decode_folder(folder: Path, spec: dict) -> tuple[list[str], np.ndarray]:
    paths, pixels = [], []
    for photo in walk_photos(folder):
        try:
            pixels.append(load_photo(photo.absolute, spec)[0])
            paths.append(photo.path)
        except DecodeError:
            continue  # the indexer reports bad files; parity compares what decodes
    if not pixels:
        raise ValueError(f"no decodable photos under {folder}")
    return paths, np.stack(pixels)


def rank_agreement(reference: BundleEncoder, candidate: BundleEncoder, paths: list[str], pixels: np.ndarray,
                   queries: list[str], k: int = 10, worst: int = 5) -> dict:
    ref_img, got_img = reference.encode_pixels(pixels), candidate.encode_pixels(pixels)
    ref_txt, got_txt = reference.encode_texts(queries), candidate.encode_texts(queries)
    cos = cosines(got_img, ref_img)
    k = min(k, len(paths))
    overlaps, taus = [], []
    for r, g in zip(ref_txt @ ref_img.T, got_txt @ got_img.T):
        top_ref, top_got = np.argsort(-r)[:k], np.argsort(-g)[:k]
        overlaps.append(mean_overlap([top_got], [top_ref], k))
        taus.append(kendall_tau(r[top_ref], g[top_ref]))
    order = np.argsort(cos)[:worst]
    return {"photos": len(paths), "queries": len(queries), "top10_overlap_mean": round(float(np.mean(overlaps)), 4),
            "top10_overlap_min": round(float(np.min(overlaps)), 4), "kendall_tau_mean": round(float(np.mean(taus)), 4),
            "image_cosine_min": round(float(cos.min()), 6), "image_cosine_mean": round(float(cos.mean()), 6),
            "worst_photos": [{"path": paths[i], "cosine": round(float(cos[i]), 6)} for i in order]}


def compare_store(store_path: Path, folder: Path, reference: BundleEncoder, bar: float, worst: int = 10) -> dict:
    """A phone-built store against this runtime's embeddings of the same files, photo by photo."""
    db = Store.open(store_path, readonly=True)
    try:
        fingerprint = db.meta().get(K.MODEL_FINGERPRINT)
        if fingerprint != reference.bundle.fingerprint:
            raise ValueError(f"{store_path} holds vectors of model {str(fingerprint)[:12]}, the bundle is "
                             f"{reference.bundle.fingerprint[:12]}: nothing to compare")
        arrays = db.search_arrays(fingerprint, with_codes=False)
        rows = db.photo_rows() if db.has_facts() else None
    finally:
        db.close()
    found, missing, undecodable, facts_differ = [], [], [], []
    for path, vector in zip(arrays.paths, arrays.vectors):
        file = stored_file(folder, path)
        if not file.exists():
            missing.append(path)
            continue
        try:
            pixels = load_photo(file, reference.bundle.preprocess)[0]
        except DecodeError:
            undecodable.append(path)
            continue
        if rows is not None:
            facts_differ += facts_differences(path, file, rows[path])
        ours = reference.encode_pixels(pixels[None])[0]
        theirs = vector.astype(np.float32)
        found.append((float(cosines(ours, theirs)[0]), path))
    if not found:
        raise ValueError(f"no photo of {store_path} was found under {folder}")
    values = np.array([c for c, _ in found])
    below = sorted((c, p) for c, p in found if c < bar)
    return {"photos": len(found), "bar": bar, "cosine_min": round(float(values.min()), 6),
            "cosine_p5": round(float(np.percentile(values, 5)), 6), "cosine_median": round(float(np.median(values)), 6),
            "below_bar": [{"path": p, "cosine": round(c, 6)} for c, p in below[:worst]], "below_bar_count": len(below),
            "missing_files": missing, "undecodable": undecodable, "facts_checked": rows is not None,
            "facts_differ": facts_differ[:worst], "facts_differ_count": len(facts_differ),
            "passed": not below and not facts_differ}


def facts_differences(path: str, file: Path, row: dict) -> list[dict]:
    """The facts columns (R21) a phone stored for a photo that differ from what this runtime reads of its file."""
    ours = read_facts(file.read_bytes(), row["mtime_ns"] or 0, is_raw(path)).columns()
    return [{"path": path, "column": column, "store": row[column], "reference": value}
            for column, value in ours.items() if not same_fact(value, row[column])]


def check_photos(bundle: Bundle, folder: Path, texts: list[str], store: Path | None = None, bar: float = 0.99) -> dict:
    """Parity on a folder of the user's own photos: each runnable image artifact's rank agreement with
    the fp32 reference, or (with `store`) a phone's store photo by photo. The result has `passed`."""
    fmt = "onnx" if any(a["format"] == "onnx" for a in bundle.artifacts) else "pte"
    reference = BundleEncoder(bundle, fmt, "fp32")
    if store:
        return compare_store(store, folder, reference, bar)
    paths, pixels = decode_folder(folder, bundle.preprocess)
    result = {"reference": f"{fmt} fp32", "artifacts": {}, "passed": True}
    for entry in bundle.artifacts:
        if entry["tower"] != "image" or entry["format"] not in RUNNABLE_FORMATS:
            continue
        candidate = BundleEncoder(bundle, entry["format"], entry["precision"])
        row = rank_agreement(reference, candidate, paths, pixels, texts)
        wanted = bar_for(entry["precision"], "image")
        row["missed"] = [f"{name} {row[key]} < {wanted[bar_key]}" for name, key, bar_key in (
            ("image cosine", "image_cosine_min", "cosine_min"),
            ("top-10 overlap", "top10_overlap_mean", "top10_overlap_min"))
            if bar_key in wanted and row[key] < wanted[bar_key]]
        result["passed"] &= not row["missed"]
        result["artifacts"][f"{entry['format']}/{entry['precision']}"] = row
    return result
