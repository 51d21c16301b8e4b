"""One `pocketclip search` process end to end on a large store: with its memory-mappable copy, and without it.

The store is written through the runtime's own code (Store.open, Store.bind_model, Codebooks.code_blobs with the bundle's
codebooks, the generation counter) from given synthetic vectors, and its copy as an index run leaves it
(runtime/store_copy.write_copy). A search is a new Python process (`python -m pocketclip.cli search TEXT
--db STORE --json`): interpreter start, imports, bundle checks, the text tower, opening the index and the
query. It is timed three times each way, the files in the page cache (a warm disk, as on a desktop a
moment after the last search); without the copy, the process reads every row from SQLite as before.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.codebooks import bundle_codebooks
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.store import meta_keys as K
from pocketclip.runtime.store import now, Store
from pocketclip.runtime.store.copy import copy_folder

QUERY = "two red circles on the left"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def write_store(path: Path, bundle: Bundle, vectors16: np.ndarray, chunk: int = 50_000) -> float:
    """The vectors as the 'ok' photos of a store bound to `bundle`, with their codes and copy; seconds taken."""
    start = time.perf_counter()
    db = Store.open(path)
    db.bind_model(bundle.fingerprint, bundle.embed_dim, bundle.preprocess_sha256)  # codes come after the rows
    books, model, stamp = bundle_codebooks(bundle), bundle.fingerprint, now()
    with db.atomic():
        db.set_meta({K.ROOT: str(path.parent / "photos"), K.BUNDLE: str(bundle.root.resolve()), K.BACKEND: "onnx",
                      K.PRECISION: "fp32"})
    for first in range(0, len(vectors16), chunk):
        rows = np.asarray(vectors16[first:first + chunk], dtype="<f2")
        codes = books.code_blobs(rows.astype(np.float32)) if books is not None else [None] * len(rows)
        ids = range(first + 1, first + len(rows) + 1)
        with db.atomic():
            db.conn.executemany("INSERT INTO photos (id, path, size, mtime_ns, content_hash, width, height, status, "
                                "indexed_at) VALUES (?, ?, 1000, ?, ?, 224, 224, 'ok', ?)",
                                [(i, f"synthetic/{i:08d}.jpg", i, f"{i:064x}", stamp) for i in ids])
            db.conn.executemany("INSERT INTO embeddings (photo_id, model, vector, pq_code) VALUES (?, ?, ?, ?)",
                                [(i, model, row.tobytes(), code) for i, row, code in zip(ids, rows, codes)])
            db.bump_generation()
    with db.atomic():
        if books is not None:
            db.set_meta({K.PQ_CODEBOOKS_SHA256: bundle.pq_sha256})
        db.bump_generation()
    db.write_copy(model)
    db.close()
    return time.perf_counter() - start


# The timing and the peak RSS are taken by a small launcher: a child of this (large) benchmark process would
# report this process's RSS as its own peak (Linux keeps the high-water mark across fork and exec).
LAUNCHER = ("import json, os, subprocess, sys, time\n"
            "start = time.perf_counter()\n"
            "child = subprocess.Popen(sys.argv[1:])\n"
            "_, status, usage = os.wait4(child.pid, 0)\n"
            "print(json.dumps({'s': time.perf_counter() - start, 'rss_mib': usage.ru_maxrss / 1024, "
            "'exit': os.waitstatus_to_exitcode(status)}), file=sys.stderr)")


def search_process(db_path: Path, mode: str = "auto") -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, stdout) of one search process."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-m", "pocketclip.cli", "search", QUERY,
                           "--db", str(db_path), "--json", "--mode", mode], capture_output=True, text=True,
                          env={**os.environ, **ONE_THREAD})
    measured = json.loads(done.stderr.strip().splitlines()[-1])
    if measured["exit"]:
        raise RuntimeError(f"search failed: {done.stderr[-2000:]}")
    return measured["s"], measured["rss_mib"], done.stdout


def cold_search(db_path: Path, repeats: int = 3) -> dict:
    """The search process with the copy beside the store, then with the copy moved away (today's path)."""
    folder = copy_folder(db_path)
    runs = {}
    for name in ("mmap_copy", "sqlite_rows"):
        if name == "sqlite_rows":
            folder.rename(folder.with_name(folder.name + ".away"))
        try:
            timings = [search_process(db_path) for _ in range(repeats)]
        finally:
            if name == "sqlite_rows":
                folder.with_name(folder.name + ".away").rename(folder)
        runs[name] = {"median_s": round(float(np.median([t[0] for t in timings])), 3),
                      "runs_s": [round(t[0], 3) for t in timings], "peak_rss_mib": round(max(t[1] for t in timings)),
                      "hits": timings[0][2]}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pocketclip.cli"], check=True, env={**os.environ, **ONE_THREAD})
    same = runs["mmap_copy"].pop("hits") == runs["sqlite_rows"].pop("hits")
    return {"cold_search_s": runs["mmap_copy"]["median_s"], "without_copy_s": runs["sqlite_rows"]["median_s"],
            "same_hits": same, "python_and_cli_import_s": round(time.perf_counter() - start, 3), **runs}


def run(bundle: Bundle, vectors16: np.ndarray, folder: Path) -> dict:
    """Write the store under `folder`, time the searches, and remove the store again."""
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "cold.db"
    try:
        written = write_store(db_path, bundle, vectors16)
        report = cold_search(db_path)
        report.update({"photos": len(vectors16), "store_write_s": round(written, 1),
                       "store_mib": round(db_path.stat().st_size / 2**20),
                       "copy_mib": round(sum(f.stat().st_size for f in copy_folder(db_path).rglob("*")) / 2**20),
                       "codebooks": f"{bundle.manifest['pq']['subspaces']} x {bundle.manifest['pq']['codewords']}"
                       if "pq" in bundle.manifest else None})
        return report
    finally:
        shutil.rmtree(folder, ignore_errors=True)
