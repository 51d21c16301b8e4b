"""A bundle from Immich's published ONNX layout, torch-free.

    config.json                  open_clip's model config (embed_dim, text_cfg.context_length)
    visual/model.onnx            the image tower, fp32; visual/preprocess_cfg.json: size, mean, std,
                                 interpolation, resize_mode (CLIP: shortest side + centre crop; SigLIP: squash)
    textual/model.onnx           the text tower, fp32; textual/tokenizer.json (+ tokenizer_config.json: pad token)

The fp32 pair is used as pulled. The golden set is computed from it here (it is the reference), the int8
variants are made by ONNX Runtime's static quantizer and kept only if they meet the int8 bars against it,
as exported artifacts must.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pocketclip.hub.download import PullError, Pulled
from pocketclip.hub.golden_set import calibration_set, write_golden_set
from pocketclip.hub.onnx_int8 import quantize_static_int8
from pocketclip.runtime.bundle.backends import OnnxTower, fixed_batch, open_tower, run_batched
from pocketclip.runtime.bundle.manifest import DEFAULT_SEARCH, SCHEMA_VERSION, BundleError, load_bundle, sha256_path
from pocketclip.runtime.bundle.preprocess import RESAMPLE
from pocketclip.runtime.bundle.tokenizer import HfTokenizer
from pocketclip.runtime.parity.quality import bar_for, measure_tower, misses

TOWERS = {"image": "visual", "text": "textual"}
QUANTIZED_OPS = {"image": ["MatMul", "Gemm", "Conv"], "text": ["MatMul", "Gemm"]}
DTYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(int32)": "int32"}
Progress = Callable[[int, int], None]


def _json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PullError(f"{path.name}: not a readable JSON file ({exc})") from None
    if not isinstance(value, dict):
        raise PullError(f"{path.name}: not a JSON object")
    return value


def preprocess_spec(cfg: dict) -> dict:
    """visual/preprocess_cfg.json -> the manifest's `preprocess` record."""
    size = cfg.get("size", 224)
    if isinstance(size, list):
        if len(size) != 2 or size[0] != size[1]:
            raise PullError(f"preprocess_cfg.json: input size {size} is not square; only square inputs are supported")
        size = size[0]
    mode = cfg.get("resize_mode", "shortest")
    if mode not in ("shortest", "squash"):
        raise PullError(f"preprocess_cfg.json: resize_mode {mode!r} is not supported (shortest, squash)")
    resample = cfg.get("interpolation", "bicubic")
    if resample not in RESAMPLE:
        raise PullError(f"preprocess_cfg.json: interpolation {resample!r} is not one of {', '.join(RESAMPLE)}")
    mean, std = cfg.get("mean"), cfg.get("std")
    if not (isinstance(mean, list) and isinstance(std, list) and len(mean) == len(std) == 3
            and all(isinstance(v, (int, float)) for v in mean + std) and all(v > 0 for v in std)):
        raise PullError("preprocess_cfg.json: mean and std must be three numbers each (std > 0)")
    if not isinstance(size, int) or not 8 <= size <= 2048:
        raise PullError(f"preprocess_cfg.json: size {size!r} is not a side from 8 to 2048 pixels")
    return {"size": size, "resize": "shortest_side" if mode == "shortest" else "squash",
            "crop": "center" if mode == "shortest" else "none", "resample": resample,
            "mean": [float(v) for v in mean], "std": [float(v) for v in std], "channel_order": "RGB",
            "layout": "NCHW", "exif_transpose": True, "background": [255, 255, 255],
            "decode": "Pillow; EXIF orientation applied first", "alpha": "flattened onto `background`",
            "normalise": "(x / 255 - mean) / std per channel, float32"}


def _pad_id(folder: Path, tokenizer_file: Path) -> int:
    """The pad token's id, from tokenizer_config.json (open_clip's CLIP pads with 0 where it names none)."""
    from tokenizers import Tokenizer

    cfg_path = folder / "textual" / "tokenizer_config.json"
    pad = _json(cfg_path).get("pad_token") if cfg_path.exists() else None
    if isinstance(pad, dict):
        pad = pad.get("content")
    if not pad:
        return 0
    pad_id = Tokenizer.from_file(str(tokenizer_file)).token_to_id(pad)
    if pad_id is None:
        raise PullError(f"tokenizer_config.json: pad token {pad!r} is not in tokenizer.json")
    return pad_id


def _io(session_io, inner: list[int] | None) -> list[dict]:
    """The manifest's inputs/outputs record of a graph's tensors: a named first axis is the batch; a named
    inner axis takes the size the bundle feeds it (`inner`), or, for an output, leaves the shape unstated."""
    out = []
    for t in session_io:
        entry = {"name": t.name, "dtype": DTYPES.get(t.type, "float32")}
        shape = [d if isinstance(d, int) else "batch" if axis == 0 else inner[axis - 1] if inner else None
                 for axis, d in enumerate(t.shape)]
        if None not in shape:
            entry["shape"] = shape
        out.append(entry)
    return out


def _link(source: Path, target: Path) -> None:
    """A pulled file into the bundle: a hard link to the download cache's blob where possible, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source.resolve(), target)
    except OSError:
        shutil.copyfile(source, target)


def _entry(staging: Path, rel: str, kind: str, precision: str, size: int, context: int, normalised: bool) -> dict:
    tower = OnnxTower(staging / rel, None)
    return {"name": Path(rel).with_suffix("").as_posix().replace("/", "_"), "tower": kind, "format": "onnx",
            "precision": precision, "file": rel, "sha256": sha256_path(staging / rel),
            "bytes": (staging / rel).stat().st_size,
            "inputs": _io(tower.session.get_inputs()[:1], [3, size, size] if kind == "image" else [context]),
            "outputs": _io(tower.session.get_outputs()[:1], None), "l2_normalized": normalised}


def immich_bundle(pulled: Pulled, out: Path, name: str, int8: bool = True, progress: Progress | None = None
                  ) -> tuple[dict, list[str]]:
    """Write the bundle `out` (assembled in OUT.partial, renamed when complete) from a pulled Immich pair;
    returns its manifest and notes for the user (an int8 variant that missed its bars and was left out)."""
    folder, notes = pulled.folder, []
    config = _json(folder / "config.json")
    spec = preprocess_spec(_json(folder / "visual" / "preprocess_cfg.json"))
    context = (config.get("text_cfg") or {}).get("context_length", 77)
    if not isinstance(context, int) or not 3 <= context <= 4096:
        raise PullError(f"config.json: text_cfg.context_length {context!r} is not a length from 3 to 4096")
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    steps, done = 4 if int8 else 2, 0
    try:
        for rel in pulled.files:
            if rel.startswith(("visual/", "textual/")) and not rel.endswith("_cfg.json"):
                _link(folder / rel, staging / rel)
        tok_file = staging / "textual" / "tokenizer.json"
        if not tok_file.exists():
            raise PullError("the repository has no textual/tokenizer.json")
        try:
            pad_id = _pad_id(folder, tok_file)
            tokenize = HfTokenizer(tok_file, context, pad_id)
        except PullError:
            raise
        except Exception as exc:  # the tokenizers library raises a bare Exception for a malformed file
            raise PullError(f"textual/tokenizer.json: not a usable tokenizer ({str(exc)[:200]})") from None
        fp32 = {kind: f"{TOWERS[kind]}/model.onnx" for kind in TOWERS}
        raw = {kind: _tower(staging / fp32[kind]) for kind in TOWERS}
        normalised = {kind: _is_normalised(raw[kind], kind, spec, tokenize) for kind in TOWERS}
        towers = {kind: open_tower(staging / fp32[kind], "onnx", None, normalise=not normalised[kind])
                  for kind in TOWERS}
        dim = int(run_batched(towers["text"], tokenize(["a photo"]), None, 0).shape[1])
        golden = write_golden_set(staging / "golden", spec, tokenize,
                                  lambda x: run_batched(towers["image"], x, None, dim, 8),
                                  lambda x: run_batched(towers["text"], x, None, dim, 8))
        artifacts = []
        for kind in TOWERS:
            artifacts.append(_measured(staging, fp32[kind], kind, "fp32", spec["size"], context, normalised[kind],
                                       golden))
            done += 1
            if progress:
                progress(done, steps)
        if int8:
            calibration = dict(zip(("image", "text"), calibration_set(spec, tokenize)))
            for kind in TOWERS:
                rel = f"{TOWERS[kind]}/model_int8.onnx"
                quantize_static_int8(staging / fp32[kind], raw[kind].input_name,
                                     calibration[kind].astype(raw[kind].input_dtype), staging / rel, QUANTIZED_OPS[kind])
                entry = _measured(staging, rel, kind, "int8", spec["size"], context, normalised[kind], golden)
                if entry["missed"]:
                    notes.append(f"int8 {kind} tower left out: {'; '.join(entry['missed'])}")
                    (staging / rel).unlink()
                else:
                    artifacts.append(entry)
                done += 1
                if progress:
                    progress(done, steps)
        for entry in artifacts:
            del entry["missed"]
        manifest = _manifest(pulled, name, staging, spec, context, pad_id, dim, artifacts)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        load_bundle(staging).verify_all()  # the schema, the shapes and every hash, before it is installed
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return manifest, notes


def _tower(path: Path) -> OnnxTower:
    try:
        return OnnxTower(path, None)
    except Exception as exc:  # onnxruntime's own error types for a file that is not a model
        raise BundleError(f"{path.parent.name}/{path.name}: onnxruntime cannot load it ({str(exc)[:200]})") from None


def _is_normalised(tower: OnnxTower, kind: str, spec: dict, tokenize: HfTokenizer) -> bool:
    """Whether the graph ends in the L2 normalisation (Immich's exports may leave it to the caller)."""
    probe = (np.zeros((1, 3, spec["size"], spec["size"]), dtype=np.float32) if kind == "image"
             else tokenize(["a photo of a dog"]))
    out = np.asarray(tower(probe), dtype=np.float32)
    return bool(np.all(np.abs(np.linalg.norm(out, axis=-1) - 1) < 1e-5))


def _measured(staging: Path, rel: str, kind: str, precision: str, size: int, context: int, normalised: bool,
              golden) -> dict:
    entry = _entry(staging, rel, kind, precision, size, context, normalised)
    tower = open_tower(staging / rel, "onnx", entry["inputs"][0]["name"], threads=1, normalise=not normalised)
    bar = bar_for(precision, kind)
    entry["tolerance"], entry["measured"] = bar, measure_tower(tower, kind, golden, fixed_batch(entry))
    entry["missed"] = misses(entry["measured"], bar)
    if entry["missed"] and precision == "fp32":
        raise PullError(f"{rel} does not reproduce itself: {'; '.join(entry['missed'])}")
    entry["validated_on"] = "onnxruntime CPU, at pull time"
    return entry


def _manifest(pulled: Pulled, name: str, staging: Path, spec: dict, context: int, pad_id: int, dim: int,
              artifacts: list[dict]) -> dict:
    files = {p.relative_to(staging).as_posix(): {"sha256": sha256_path(p), "bytes": p.stat().st_size}
             for p in sorted(staging.rglob("*")) if p.is_file()}
    pair = hashlib.sha256()
    for kind in TOWERS:
        pair.update(files[f"{TOWERS[kind]}/model.onnx"]["sha256"].encode())
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {"name": name, "fingerprint": pair.hexdigest(), "embed_dim": dim,
                  "fingerprint_of": "sha256 of the fp32 image and text ONNX files' sha256s, in that order"},
        "source": {"kind": "hub", "repo": pulled.repo, "revision": pulled.revision, "layout": "immich",
                   "files": pulled.files},
        "preprocess": spec,
        "text": {"tokenizer": "hf-tokenizers", "files": {"tokenizer": "textual/tokenizer.json"},
                 "context_length": context, "pad_id": pad_id,
                 "truncation": "the tokenizer's own special tokens kept; cut to context_length, padded with pad_id"},
        "golden": {"folder": "golden", "index": "golden/golden.json"},
        "search": dict(DEFAULT_SEARCH),
        "artifacts": artifacts,
        "files": files,
    }
