"""Reading a bundle: the manifest, and every file checked against its sha256 before use."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pocketclip.runtime.bundle.contracts import ContractError, read_contract

# 2: the `search` section (exact/PQ switch point, candidates to re-rank, default k).
SCHEMA_VERSION = 2
# The search settings every platform reads from the manifest, re-measured with faiss's scan of the store's
# codes (`python -m benchmarks.pq --vectors 1000000`, keys `switch` and `candidates_sweep`; README, "Search
# modes"), one core, 128-d vectors: exact takes 0.16 ms at 20,000 photos (the matrix fits the cache) but
# 0.98 ms at 50,000, where pq+rerank of 1,000 candidates takes 0.37 ms (4-bit fast-scan) / 0.93 ms (8-bit
# IndexPQ) and stays faster at every larger size, so PQ pays from 50,000 on. At 1M photos, 1,000 re-ranked
# candidates give recall@10 0.994 (4-bit) / 0.989 (8-bit); 500 give 0.974 / 0.944, below the 0.95 bar.
DEFAULT_SEARCH = {"exact_below_photos": 50_000, "rerank_candidates": 1000, "default_k": 10}


class BundleError(Exception):
    """The bundle is missing, malformed, or newer than this code."""


class BundleHashMismatch(BundleError):
    """A file in the bundle does not have the sha256 the manifest records: it was changed."""


def sha256_path(path: Path) -> str:
    """sha256 of a file, or of a folder (an .mlpackage) as the hash of its sorted (name, file hash) list."""
    if path.is_dir():
        h = hashlib.sha256()
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(child.relative_to(path).as_posix().encode() + b"\0" + sha256_path(child).encode() + b"\n")
        return h.hexdigest()
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def size_path(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


@dataclass
class Bundle:
    root: Path
    manifest: dict

    @property
    def artifacts(self) -> list[dict]:
        return self.manifest["artifacts"]

    @property
    def preprocess(self) -> dict:
        return self.manifest["preprocess"]

    @property
    def preprocess_sha256(self) -> str:
        """Identity of the preprocessing spec, recorded in stores built with this bundle."""
        return hashlib.sha256(json.dumps(self.preprocess, sort_keys=True).encode()).hexdigest()

    @property
    def fingerprint(self) -> str:
        return self.manifest["model"]["fingerprint"]

    def path(self, relative: str) -> Path:
        """A file of the bundle; a path that leads outside the bundle folder (`..`, a symlink) is refused."""
        path = self.root / relative
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise BundleError(f"{relative!r} in {self.root / 'manifest.json'} points outside the bundle folder")
        return path

    def verified(self, relative: str) -> Path:
        """The path of a bundle file after checking it against the manifest's sha256."""
        record = self.manifest["files"].get(relative)
        if record is None:
            raise BundleError(f"{relative} is not listed in {self.root / 'manifest.json'}")
        path = self.path(relative)
        if not path.exists():
            raise BundleError(f"{path} is missing from the bundle")
        actual = sha256_path(path)
        if actual != record["sha256"]:
            raise BundleHashMismatch(f"{path}: sha256 {actual[:16]}… does not match the manifest's "
                                     f"{record['sha256'][:16]}…; the file was changed after export")
        return path

    def artifact(self, tower: str, fmt: str, precision: str) -> dict:
        for entry in self.artifacts:
            if (entry["tower"], entry["format"], entry["precision"]) == (tower, fmt, precision):
                return entry
        have = sorted({(a["format"], a["precision"]) for a in self.artifacts if a["tower"] == tower})
        raise BundleError(f"no {tower} artifact in {fmt}/{precision}; the bundle has {have}")

    @property
    def pq_sha256(self) -> str | None:
        """sha256 of the bundle's product-quantization codebooks, None if it has none."""
        return self.manifest["pq"]["sha256"] if "pq" in self.manifest else None

    @property
    def search(self) -> dict[str, int]:
        """The search settings every platform reads: exact_below_photos, rerank_candidates, default_k."""
        return self.manifest["search"]

    @property
    def name(self) -> str:
        return self.manifest["model"]["name"]

    @property
    def random_weights(self) -> bool:
        """True for an architecture exported untrained (`export --random-weights`): its results are noise."""
        return bool(self.manifest["model"].get("random_weights", False))

    @property
    def trained_on(self) -> str | None:
        """What the model was trained on, where the manifest says (the demo model: the demo world's shapes)."""
        return self.manifest["model"].get("trained_on")

    @property
    def embed_dim(self) -> int:
        return self.manifest["model"]["embed_dim"]

    def verify_all(self) -> None:
        for relative in self.manifest["files"]:
            self.verified(relative)


def load_bundle(root: str | Path) -> Bundle:
    """Read a bundle's manifest, validated against its JSON schema (types, ranges, and every path kept
    inside the bundle folder); files are checked against their sha256 when they are used."""
    root = Path(root)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise BundleError(f"{root} is not a bundle: no manifest.json")
    try:
        version = json.loads(manifest_path.read_text()).get("schema_version")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise BundleError(f"{manifest_path} is not a readable JSON object ({exc})") from None
    if not isinstance(version, int) or isinstance(version, bool) or version > SCHEMA_VERSION:
        raise BundleError(f"{manifest_path}: schema_version {version!r}; this code reads up to {SCHEMA_VERSION}")
    if version < SCHEMA_VERSION:
        raise BundleError(f"{manifest_path}: schema_version {version} predates the `search` section; "
                          f"export the bundle again with `pocketclip export`")
    try:
        manifest = read_contract(manifest_path, "manifest")
    except ContractError as exc:
        raise BundleError(str(exc)) from None
    listed = set(manifest["files"])
    used = [a["file"] for a in manifest["artifacts"]] + list(manifest["text"]["files"].values()) + \
        ([manifest["pq"]["file"]] if "pq" in manifest else [])
    if missing := sorted(set(used) - listed):
        raise BundleError(f"{manifest_path}: {', '.join(missing)} not listed under `files` (no sha256 to check)")
    check_shapes(manifest_path, manifest)
    return Bundle(root, manifest)


def check_shapes(manifest_path: Path, manifest: dict) -> None:
    """Refuse a manifest whose values do not fit its artifacts' inputs and outputs (a context length, an input
    size or a dim the graphs were not exported for): every search with it would fail inside the runtime."""
    size, context = manifest["preprocess"]["size"], manifest["text"]["context_length"]
    dim = manifest["model"]["embed_dim"]
    for entry in manifest["artifacts"]:
        shape = entry["inputs"][0]["shape"]
        wanted = [3, size, size] if entry["tower"] == "image" else [context]
        fixed = shape[1:]
        if len(fixed) != len(wanted) or any(isinstance(d, int) and d != w for d, w in zip(fixed, wanted)):
            what = f"preprocess.size {size}" if entry["tower"] == "image" else f"text.context_length {context}"
            raise BundleError(f"{manifest_path}: {what} does not fit {entry['file']}, whose input is {shape}")
        out = entry["outputs"][0].get("shape")
        if out and isinstance(out[-1], int) and out[-1] != dim:
            raise BundleError(f"{manifest_path}: model.embed_dim {dim} does not fit {entry['file']}, whose output "
                              f"is {out}")
