"""The one network path of pocketclip: a model repository's files from a Hugging Face hub.

Downloads go through `huggingface_hub` (resumable: a cut download continues from its `.incomplete` bytes;
a progress bar per file; `HF_ENDPOINT` names another hub) into the data home's download cache. Every file
is then checked against the hash the hub lists for it (the LFS sha256, or the git blob id of small files):
a file that does not match is deleted from the cache, so the next pull fetches it again.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pocketclip.runtime.one_line import one_line

# What each layout needs; nothing else in the repository is downloaded.
IMMICH = ["config.json", "visual/model.onnx", "visual/model.onnx_data", "visual/preprocess_cfg.json",
          "textual/model.onnx", "textual/model.onnx_data", "textual/tokenizer.json",
          "textual/tokenizer_config.json", "textual/special_tokens_map.json"]
TRANSFORMERS = ["config.json", "model.safetensors", "preprocessor_config.json", "tokenizer.json",
                "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"]


class PullError(Exception):
    """The hub could not be reached, the repository or revision is not there, or a file is not what the hub
    says it is; the message is one line."""


@dataclass
class Pulled:
    repo: str
    revision: str  # the commit the revision resolved to
    layout: str  # "immich" | "transformers"
    folder: Path  # the downloaded snapshot
    files: dict[str, str]  # repository path -> sha256, as checked


def parse_spec(spec: str) -> tuple[str, str]:
    """'owner/name[@revision]' -> (repo id, revision)."""
    repo, _, revision = spec.partition("@")
    parts = repo.split("/")
    if not 1 <= len(parts) <= 2 or not all(parts) or any(p in (".", "..") for p in parts):
        raise PullError(f"{spec!r} is not a repository id (owner/name, optionally @revision)")
    return repo, revision or "main"


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def layout_of(names: set[str]) -> str:
    if {"visual/model.onnx", "textual/model.onnx"} <= names:
        return "immich"
    if "config.json" in names and "model.safetensors" in names:
        return "transformers"
    raise PullError("the repository is neither an Immich ONNX pair (visual/model.onnx, textual/model.onnx) "
                    "nor a transformers checkpoint (config.json, model.safetensors)")


def _hub():
    """huggingface_hub, imported here only: its telemetry off first (it reads the switch when it loads)."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise PullError("HF_HUB_OFFLINE is set, and `models pull` needs the network; unset it to pull")
    import huggingface_hub

    return huggingface_hub


def _reason(exc: BaseException, repo: str, revision: str) -> PullError:
    from huggingface_hub import errors

    if isinstance(exc, errors.RevisionNotFoundError):
        return PullError(f"{repo} has no revision {revision!r} at {endpoint()}")
    if isinstance(exc, (errors.RepositoryNotFoundError, errors.GatedRepoError)):
        return PullError(f"no model {repo} at {endpoint()} (or it is private or gated)")
    if isinstance(exc, errors.EntryNotFoundError):
        return PullError(f"{repo}@{revision}: {one_line(exc)}")
    return PullError(f"could not download {repo}@{revision} from {endpoint()}: {one_line(exc)}")


def download(spec: str, cache: Path) -> Pulled:
    """Fetch what `spec`'s layout needs into `cache` and check every file's hash."""
    repo, revision = parse_spec(spec)
    hf = _hub()
    try:
        info = hf.HfApi(endpoint=endpoint()).model_info(repo, revision=revision, files_metadata=True)
        siblings = {s.rfilename: s for s in info.siblings or []}
        layout = layout_of(set(siblings))
        wanted = IMMICH if layout == "immich" else TRANSFORMERS
        names = sorted(n for n in siblings if any(fnmatch.fnmatch(n, p) for p in wanted))

        def fetch(name: str) -> str:  # each file checked as soon as it is in, while the others still download
            path = hf.hf_hub_download(repo, name, revision=info.sha, cache_dir=cache, endpoint=endpoint())
            return _checked(Path(path), name, siblings[name])

        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
            hashes = list(pool.map(fetch, names))
    except PullError:
        raise
    except Exception as exc:  # huggingface_hub's and httpx's errors: each one line, said by _reason
        raise _reason(exc, repo, revision) from None
    folder = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / info.sha
    return Pulled(repo, info.sha, layout, folder, dict(zip(names, hashes)))


def _checked(path: Path, name: str, sibling) -> str:
    """The sha256 of a downloaded file after checking it against the hub's listing; a file that does not match
    is removed from the cache (its blob too) and the pull fails."""
    lfs = getattr(sibling, "lfs", None)
    sha = hashlib.sha256()
    blob = None if lfs is not None else hashlib.sha1(b"blob %d\0" % path.stat().st_size)  # small files: git's id
    with path.open("rb") as f:
        for block in iter(lambda: f.read(4 << 20), b""):
            sha.update(block)
            if blob is not None:
                blob.update(block)
    want = (lfs.sha256, sha.hexdigest()) if blob is None else (sibling.blob_id, blob.hexdigest())
    if want[0] is not None and want[0] != want[1]:
        target = path.resolve()
        path.unlink()
        target.unlink(missing_ok=True)
        raise PullError(f"{name}: downloaded bytes hash to {want[1][:16]}…, the hub lists {want[0][:16]}…; the "
                        f"file was removed, pull again to fetch it anew")
    return sha.hexdigest()
