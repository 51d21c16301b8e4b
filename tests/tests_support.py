"""Helpers the tests import by name (conftest.py itself cannot be imported)."""
from __future__ import annotations

import subprocess
import sys


def tiny(name: str = "tiny", layers: int = 2, width: int = 32, token_dim: int | None = 8) -> dict:
    """A model config small enough to train for a few steps inside a unit test."""
    return {
        "name": name,
        "image": {"image_size": 32, "patch_size": 8, "width": width, "layers": layers, "heads": 2,
                  "embed_dim": 16, "act": "gelu"},
        "text": {"width": width, "layers": layers, "heads": 2, "embed_dim": 16, "token_dim": token_dim,
                 "act": "gelu"},
        "preprocess": {"size": 32},
    }


def draw_photos(root, count: int, start: int = 0, size: int = 160) -> list:
    """Demo pictures saved as JPEG files, every third one in a subfolder."""
    from pocketclip.models.data.demo_world import sample

    paths = []
    for i in range(start, start + count):
        folder = root / "album" if i % 3 == 0 else root
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"photo_{i:03d}.jpg"
        sample(i, "gallery", size)[0].save(path, quality=90)
        paths.append(path)
    return paths


def filled_store(tmp_path, n=500, dim=16, seed=0):
    """A store of n random unit vectors of model "m" (every 50th photo from the 8th on deleted)."""
    import numpy as np

    from pocketclip.runtime.store import Store, to_blob

    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = Store.open(tmp_path / "s.db")
    db.bind_model("m", dim, "x")
    db["photos"].insert_all({"id": i + 1, "path": f"p{i}.jpg", "status": "deleted" if i % 50 == 7 else "ok"}
                            for i in range(n))
    db["embeddings"].insert_all({"photo_id": i + 1, "model": "m", "vector": to_blob(v)} for i, v in enumerate(vectors))
    return db, vectors


def describe_schema(db) -> dict:
    """Per table: columns (name, type, notnull, pk), indexes (name, unique, origin, columns); and the SQL."""
    out = {}
    for table in ("meta", "photos", "embeddings", "_sqlite_migrations"):
        out[f"columns {table}"] = [(r[1], r[2], r[3], r[5]) for r in db.execute(f'PRAGMA table_info("{table}")')]
        out[f"indexes {table}"] = sorted(
            (r[1], r[2], r[3], [c[2] for c in db.execute(f'PRAGMA index_info("{r[1]}")')])
            for r in db.execute(f'PRAGMA index_list("{table}")'))
        out[f"foreign keys {table}"] = [r[2:5] for r in db.execute(f'PRAGMA foreign_key_list("{table}")')]
    out["sql"] = sorted(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
                        key=lambda r: r[1])
    return out


def write_shard(path, samples: list[dict]) -> None:
    """A WebDataset tar as img2dataset writes it; each sample a dict of extension -> bytes or str."""
    import webdataset as wds

    with open(path, "wb") as f, wds.TarWriter(f, mtime=0.0) as writer:
        for sample in samples:
            writer.write(sample)


def demo_jpeg(index: int, split: str = "train", size: int = 48) -> tuple[bytes, str]:
    """(JPEG bytes, caption) of a demo-world picture."""
    import io

    from pocketclip.models.data.demo_world import sample

    image, caption, _ = sample(index, split, size)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue(), caption


# The peak RSS of a command is taken by a small launcher that forks it: a child of the (large) pytest process
# would report the parent's RSS as its own peak (Linux keeps the high-water mark across fork and exec).
def run_measured(args: list[str], timeout: int = 600) -> tuple[subprocess.CompletedProcess, float]:
    """(the finished command, its peak RSS in MiB), measured from a launcher process of its own."""
    launcher = ("import os, subprocess, sys\n"
                "pid = os.fork()\n"
                "if pid == 0:\n"
                "    os.execv(sys.argv[1], sys.argv[1:])\n"
                "_, status, usage = os.wait4(pid, 0)\n"
                "sys.stderr.write(f'\\npeak_rss_kib={usage.ru_maxrss} exit={os.waitstatus_to_exitcode(status)}\\n')\n"
                "sys.exit(os.waitstatus_to_exitcode(status))\n")
    done = subprocess.run([sys.executable, "-c", launcher, *args], capture_output=True, text=True, timeout=timeout)
    marker = done.stderr.rsplit("peak_rss_kib=", 1)
    peak = int(marker[1].split()[0]) / 1024 if len(marker) == 2 else float("nan")
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, marker[0].rstrip("\n")), peak


def opens(source, path) -> bool:
    """Whether a decoder's `source` (a path, or the bytes the indexer read into a BytesIO) is the file `path`."""
    if hasattr(source, "getvalue"):
        return source.getvalue() == path.read_bytes()
    return str(source) == str(path)


# The first lines of a script run as a base install would run it: `import torch` fails.
BLOCK_TORCH = """import sys
class BlockTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked for this test")
sys.meta_path.insert(0, BlockTorch())
"""
