"""`pocketclip serve` over HTTP: text query -> JSON hits with the model loaded, against a cold search process.

    python -m benchmarks.serve --photos 100000 [--queries 200] [--bundle B] [--json]

The store holds N synthetic photos: random unit vectors of the bundle's dimension (isotropic Gaussian
draws, normalised; exact search costs the same whatever the vectors), written through the store's own
code and bound to the bundle as `pocketclip index` binds a store, so the server opens it as any
library. The server runs once, pinned to one core; each query is a different text, sent over one
keep-alive connection from 127.0.0.1, timed from request to parsed JSON. `cold_search_s` is one
`pocketclip search --json` process on the same store, timed from start to exit, in the same run.
Without --bundle, the demo student is exported (fp32 ONNX, no PQ codebooks) to a temporary bundle.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.demo_bundle import bundle_for_benchmark
from pocketclip.runtime.bundle.codebooks import bundle_codebooks
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.store import meta_keys as K
from pocketclip.runtime.store import now, Store, to_blob

WORDS = ("red", "blue", "green", "yellow", "circle", "star", "ring", "cross", "triangle", "left", "right", "top",
         "bottom", "middle", "two", "three", "striped", "navy", "pink", "white")
START_TIMEOUT_S = 120


def synthetic_store(db_path: Path, root: Path, bundle: Bundle, photos: int, seed: int = 0, chunk: int = 10_000) -> None:
    """A store of `photos` 'ok' photos with random unit vectors, bound to `bundle` like Library.create binds."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    db = Store.open(db_path)
    db.bind_model(bundle.fingerprint, bundle.embed_dim, bundle.preprocess_sha256, precision="fp32")
    with db.atomic():
        db.set_meta({K.ROOT: str(root.resolve()), K.BUNDLE: str(bundle.root.resolve()), K.BACKEND: "onnx"})
    stamp = now()
    for start in range(0, photos, chunk):
        ids = range(start + 1, min(start + chunk, photos) + 1)
        vectors = rng.normal(size=(len(ids), bundle.embed_dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with db.atomic():
            db["photos"].insert_all(({"id": i, "path": f"synthetic/{i:07d}.jpg", "size": 1000, "mtime_ns": i,
                                      "content_hash": f"{i:032x}", "width": 640, "height": 480, "status": "ok",
                                      "indexed_at": stamp} for i in ids), batch_size=2000)
            db["embeddings"].insert_all(({"photo_id": i, "model": bundle.fingerprint, "vector": to_blob(v)}
                                         for i, v in zip(ids, vectors)), batch_size=2000)
    db.bind_codebooks(bundle_codebooks(bundle), bundle.pq_sha256, bundle.fingerprint)  # codes, if it has books
    db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_path: Path, port: int, cache: Path, log) -> subprocess.Popen:
    """The server pinned to one core (the last), this client to the others: a child inherits the affinity
    its parent has when it starts, so the client takes the server's core just for the start."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "OMP_NUM_THREADS": "1"}
    cores = os.sched_getaffinity(0)
    server_core = {max(cores)}
    os.sched_setaffinity(0, server_core)
    try:
        return subprocess.Popen([sys.executable, "-m", "pocketclip.cli", "serve", "--db", str(db_path), "--port",
                                 str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    finally:
        os.sched_setaffinity(0, cores - server_core or cores)


def wait_for_port(port: int, server: subprocess.Popen, timeout_s: float = START_TIMEOUT_S) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not listen on port {port} within {timeout_s} s")


def timed_queries(port: int, queries: int, k: int) -> tuple[list[float], str]:
    """Milliseconds per query, request sent to JSON parsed, and the search mode the server used."""
    rng = np.random.default_rng(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for i in range(queries + 5):  # the first 5 warm the connection and are not counted
        text = " ".join(rng.choice(WORDS, size=3)) + f" {i}"
        start = time.perf_counter()
        conn.request("GET", f"/api/search?q={text.replace(' ', '+')}&k={k}")
        response = conn.getresponse()
        body = json.loads(response.read())
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200 or len(body["hits"]) != k:
            raise RuntimeError(f"query {text!r} answered {response.status}: {body}")
        if i >= 5:
            times.append(elapsed)
    conn.request("GET", "/api/status")
    mode = json.loads(conn.getresponse().read())["mode"]
    conn.close()
    return times, mode


def cold_search(db_path: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pocketclip.cli", "search", "red circles on the left", "--db",
                    str(db_path), "-k", "10", "--json"], check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def run(photos: int, queries: int, k: int, bundle_path: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundle = bundle_for_benchmark(bundle_path, tmp)
        db_path = tmp / "index.db"
        synthetic_store(db_path, tmp / "photos", bundle, photos)
        port = free_port()
        with open(tmp / "server.log", "wb") as log:
            server = start_server(db_path, port, tmp / "cache", log)
            try:
                startup_s = wait_for_port(port, server)
                times, mode = timed_queries(port, queries, k)
            finally:
                server.terminate()
                try:
                    server.wait(10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        cold_s = cold_search(db_path)
    p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
    return {"photos": photos, "queries": queries, "k": k, "mode": mode, "server_cores": 1,
            "startup_s": round(startup_s, 3), "p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
            "cold_search_s": round(cold_s, 3), "speedup": round(cold_s * 1000 / p50, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("-k", type=int, default=48, help="hits per query (the page's screenful)")
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.photos, args.queries, args.k, args.bundle)
    print(json.dumps(result, indent=2) if args.json else
          f"{result['photos']} photos: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms over HTTP; "
          f"a cold `pocketclip search` {result['cold_search_s']} s ({result['speedup']}x)")


if __name__ == "__main__":
    main()
