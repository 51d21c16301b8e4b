"""`pocketclip export`: every requested artifact, validated, in one self-contained bundle folder.

The bundle is assembled in DIR.partial and renamed to DIR only when every artifact has met its
bar, so a failed export never leaves a manifest claiming success.
"""
from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from pocketclip.exporter.golden import calibration_inputs, write_golden, write_pq_golden
from pocketclip.exporter.targets import INPUT, TARGETS, artifact_name
from pocketclip.exporter.validate import check
from pocketclip.models.towers.checkpoint import fingerprint
from pocketclip.models.towers.dual_encoder import DualEncoder
from pocketclip.runtime.bundle.backends import RUNNABLE_FORMATS, open_tower
from pocketclip.runtime.bundle.codebooks import Codebooks, save_codebooks
from pocketclip.runtime.bundle.manifest import DEFAULT_SEARCH, SCHEMA_VERSION, sha256_path, size_path
from pocketclip.runtime.bundle.tokenizer import DEFAULT_MERGES, load_tokenizer
from pocketclip.runtime.parity.golden import Golden
from pocketclip.runtime.parity.quality import bar_for, measure_tower

PRECISIONS = {fmt: target.precisions for fmt, target in TARGETS.items()}


def plan(formats: list[str], precisions: list[str] | None) -> list[tuple[str, str]]:
    """(format, precision) pairs to build; bad options fail before any work, listing the valid ones."""
    pairs = []
    for fmt in formats:
        if fmt not in PRECISIONS:
            raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(PRECISIONS)}")
        wanted = precisions or PRECISIONS[fmt]
        pairs += [(fmt, p) for p in wanted if p in PRECISIONS[fmt]]
    unknown = set(precisions or []) - {p for v in PRECISIONS.values() for p in v}
    if unknown:
        raise ValueError(f"unknown precision {sorted(unknown)}; valid: {PRECISIONS}")
    if not pairs:
        raise ValueError(f"no artifact matches formats {formats} and precisions {precisions}: {PRECISIONS}")
    return pairs


def measure(path: Path, fmt: str, kind: str, golden: Golden, fixed_batch: int | None) -> dict:
    """Run a saved artifact on the golden inputs and gallery; the numbers its manifest entry records."""
    tower = open_tower(path, fmt, INPUT[kind], threads=1)
    return measure_tower(tower, kind, golden, fixed_batch)


PQ_FILE = "pq/codebooks.npy"


def _pq_entry(books: Codebooks, method: str, files: dict) -> dict:
    code = "code_m = argmin_k |x_m - codebooks[m, k]|^2 (first k on ties) over sub-vector m of the stored float16 " \
           "vector, read as float32; "
    code += ("K <= 16: two 4-bit codes a byte, byte j = code_2j | code_2j+1 << 4 (low nibble = even sub-space; "
             "an odd M leaves the last high nibble 0), M / 2 bytes a photo; " if books.nibbles else
             "byte m = code_m, M bytes a photo; ")
    code += "kept in embeddings.pq_code, meta pq_codebooks_sha256 names the codebooks"
    return {"file": PQ_FILE, "subspaces": books.subspaces, "codewords": books.codewords,
            "sub_dim": books.dim // books.subspaces, "dtype": "float32", "method": method,
            "sha256": files[PQ_FILE]["sha256"], "bytes_per_photo": books.code_bytes, "code": code,
            "score": "sum over m, in order, of dot(query_m, codebooks[m, code_m]) in float32 (asymmetric: the "
                     "query is not quantized)"}


def _manifest(model: DualEncoder, artifacts: list[dict], files: dict) -> dict:
    tok = load_tokenizer()
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {"name": model.cfg.name, "fingerprint": fingerprint(model), "embed_dim": model.cfg.image.embed_dim,
                  "config": model.cfg.to_dict(), **_provenance(model)},
        "source": {"kind": "export"},
        "preprocess": {**asdict(model.cfg.preprocess), "decode": "Pillow; EXIF orientation applied first",
                       "resize_passes": "Pillow 13's separable convolution, support scaled by the downscale "
                                        "factor, uint8 rounding between passes; horizontal pass first, except "
                                        "vertical first when out_h < h and h - out_h > 2 * (w - out_w)",
                       "jpeg_draft": "JPEGs whose shorter side is >= 4x size are decoded at the smallest DCT "
                                     "scale (1/2, 1/4, 1/8) keeping the shorter side >= 2x size, then resized",
                       "alpha": "flattened onto `background`", "16_bit": "scaled to 8 bits (x / 257, rounded)",
                       "normalise": "(x / 255 - mean) / std per channel, float32"},
        "text": {"tokenizer": "clip-bpe", "files": {"merges": "tokenizer/" + DEFAULT_MERGES.name},
                 "merges_used": 48894, "context_length": tok.context_length, "lower_case": True,
                 "cleaning": "ftfy.fix_text, html.unescape twice, collapse whitespace, strip, lower case",
                 "sot_id": tok.sot_id, "eot_id": tok.eot_id, "pad_id": tok.pad_id,
                 "truncation": "start + first 75 BPE ids + end; zero padding to context_length"},
        "golden": {"folder": "golden", "index": "golden/golden.json"},
        "search": dict(DEFAULT_SEARCH),
        "artifacts": artifacts,
        "files": files,
        "exported_on": {"platform": platform.platform(), "torch": torch.__version__},
    }


def _provenance(model: DualEncoder) -> dict:
    """What the manifest says about the weights: untrained (random), or what they were trained on."""
    known = {"random_weights": True} if getattr(model, "random_weights", False) else {}
    if getattr(model, "trained_on", None):
        known["trained_on"] = model.trained_on
    return known


def export_bundle(model: DualEncoder, out: str | Path, formats: list[str], precisions: list[str] | None = None,
                  gallery: int = 200, captions: int = 50, codebooks: tuple[Codebooks, str] | None = None,
                  progress: Callable[[int, int], None] | None = None, source: dict | None = None) -> dict:
    """Export, validate and write the bundle; raises (leaving no bundle at `out`) if any artifact drifts.

    `codebooks` (codebooks, how they were made) adds the product-quantization codebooks and their golden codes;
    `progress(done, total)` is called after each artifact; `source` (where the weights were pulled from) goes
    into the manifest.
    """
    pairs = plan(formats, precisions)
    out = Path(out)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        model = model.eval()
        golden = write_golden(model, staging / "golden", gallery=gallery, captions=captions)
        if codebooks is not None:
            if codebooks[0].dim != model.cfg.image.embed_dim:
                raise ValueError(f"codebooks of dim {codebooks[0].dim} do not fit embeddings of dim "
                                 f"{model.cfg.image.embed_dim}")
            (staging / "pq").mkdir()
            save_codebooks(codebooks[0], staging / PQ_FILE)
            write_pq_golden(codebooks[0], staging / "golden", golden)
        calib_images, calib_ids = calibration_inputs(model)
        (staging / "tokenizer").mkdir()
        shutil.copy(DEFAULT_MERGES, staging / "tokenizer" / DEFAULT_MERGES.name)
        artifacts = []
        jobs = [(fmt, precision, kind) for fmt, precision in pairs for kind in ("image", "text")]
        for done, (fmt, precision, kind) in enumerate(jobs):
            if progress:
                progress(done, len(jobs))
            artifacts.append(_export_one(model, staging, fmt, precision, kind, golden, calib_images, calib_ids))
        if progress:
            progress(len(jobs), len(jobs))
        files = {p.relative_to(staging).as_posix(): {"sha256": sha256_path(p), "bytes": size_path(p)}
                 for p in sorted(staging.rglob("*")) if _is_entry(p, staging)}
        manifest = _manifest(model, artifacts, files)
        if source is not None:
            manifest["source"] = source
        if codebooks is not None:
            manifest["pq"] = _pq_entry(*codebooks, files)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return manifest


def _is_entry(path: Path, root: Path) -> bool:
    """Files, and .mlpackage folders as one entry (not the files inside them)."""
    if any(part.endswith(".mlpackage") for part in path.relative_to(root).parts[:-1]):
        return False
    return path.suffix == ".mlpackage" or path.is_file()


def _export_one(model, staging: Path, fmt: str, precision: str, kind: str, golden: Golden,
                calib_images: np.ndarray, calib_ids: np.ndarray) -> dict:
    tower = model.image if kind == "image" else model.text
    name = artifact_name(kind, fmt, precision)
    path = staging / name
    calibration = calib_images if kind == "image" else calib_ids
    source = golden.pixels if kind == "image" else golden.ids
    info = TARGETS[fmt].export(tower, kind, precision, torch.from_numpy(source[:1]), calibration, path)
    entry = {"name": name.rsplit(".", 1)[0], "tower": kind, "format": fmt, "precision": precision, "file": name,
             "sha256": sha256_path(path), "bytes": size_path(path), **info}
    bar = bar_for(precision, kind)
    entry["tolerance"] = bar
    if fmt in RUNNABLE_FORMATS:
        fixed = 1 if fmt == "pte" else None
        entry["measured"] = measure(path, fmt, kind, golden, fixed)
        check(name, entry["measured"], bar)
        entry["validated_on"] = f"{platform.system().lower()}-{platform.machine()}, " + (
            "onnxruntime CPU" if fmt == "onnx" else "executorch runtime (XNNPACK)")
    else:
        entry["validated_on"] = ("linux: package reloads, I/O names, shapes, dtypes and op list checked; "
                                 "numbers are checked on macOS/iOS by ios_demo's tests against golden/")
    return entry
