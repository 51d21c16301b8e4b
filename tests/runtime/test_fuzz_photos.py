"""A seeded fuzz of photos in every supported format: mutated files (flipped, truncated, inserted, zeroed
bytes) and generated ones (extreme shapes, headers that claim gigapixels, a format's bytes under another's
name, a right magic number before garbage, empty files). Every run ends, every file ends 'ok' or 'error',
nothing else in the store changes, and the indexing process's peak memory stays bounded.
POCKETCLIP_FUZZ=N runs N cases (300 by default, as in CI; the closing notes quote a 5,000-case run)."""
import io
import os
import random
import sqlite3
import sys
import time

import pytest
from PIL import Image
from tests_support import run_measured

from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.indexer import index_folder
from pocketclip.runtime.store import Store

FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "tif": "TIFF", "heic": "HEIF"}


def seed_files() -> dict[str, bytes]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    from pocketclip.models.data.demo_world import sample

    seeds = {}
    for i, (suffix, fmt) in enumerate(FORMATS.items()):
        image = sample(100 + i, "gallery", 48)[0]
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        seeds[suffix] = buffer.getvalue()
    return seeds


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    data = bytearray(data)
    ops = []
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(["flip", "flip-header", "truncate", "insert", "zero", "duplicate"])
        at = rng.randrange(min(len(data), 64) if op == "flip-header" else len(data) or 1)
        if op.startswith("flip"):
            for _ in range(rng.randint(1, 4)):
                data[at] ^= rng.randrange(1, 256)
                at = rng.randrange(len(data))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif op == "zero":
            data[at:at + rng.randint(1, 32)] = bytes(min(32, len(data) - at))
        else:
            data[at:at] = data[at:at + rng.randint(1, 64)]
        ops.append(f"{op}@{at}")
        if not data:
            break
    return bytes(data), "+".join(ops)


def generated(i: int, seeds: dict[str, bytes], rng: random.Random) -> tuple[str, bytes, str]:
    """(suffix, bytes, what) of one generated case: shapes and names no camera writes."""
    from pocketclip.runtime.indexing.scenario_writer import bomb_png

    kind = i % 5
    suffix = rng.choice(list(FORMATS))
    if kind == 0:  # an extreme shape, small on disk
        long = rng.choice([5_000, 20_000, 60_000])
        size = (long, rng.randint(1, 3)) if rng.random() < 0.5 else (rng.randint(1, 3), long)
        fmt = rng.choice(["PNG", "GIF", "TIFF", "BMP"] + (["WEBP"] if long <= 16_383 else []))
        buffer = io.BytesIO()
        Image.new("RGB", size, (rng.randrange(256), 40, 90)).save(buffer, format=fmt)
        return {"BMP": "bmp", "PNG": "png", "GIF": "gif", "TIFF": "tif", "WEBP": "webp"}[fmt], buffer.getvalue(), \
            f"shape {size[0]}x{size[1]} {fmt}"
    if kind == 1:  # a header that claims more pixels than memory holds
        side = rng.choice([50_000, 100_000, 2_000_000])
        return "png", bomb_png(side, rng.choice([1, side])), f"header claims {side} px"
    if kind == 2:  # another format's bytes under this name
        other = rng.choice([f for f in FORMATS if f != suffix])
        return suffix, seeds[other], f"{other} bytes named .{suffix}"
    if kind == 3:  # the right magic number, then garbage
        magic = seeds[suffix][:rng.randint(4, 16)]
        return suffix, magic + bytes(rng.randrange(256) for _ in range(rng.randint(0, 2048))), "magic + garbage"
    return suffix, b"", "empty file"


FUZZ_SCRIPT = """
import sys
from pocketclip.runtime.bundle.manifest import load_bundle
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.indexer import index_folder
from pocketclip.runtime.store import Store
encoder = BundleEncoder(load_bundle(sys.argv[1]), "onnx", "fp32")
report = index_folder(sys.argv[2], Store.open(sys.argv[3]), encoder, batch_size=16, log=lambda line: None)
print(report)
"""


def rows_and_vectors(path, where="1"):
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(f"SELECT * FROM photos WHERE {where} ORDER BY id").fetchall()
        vecs = conn.execute(f"SELECT e.* FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE {where} "
                            "ORDER BY e.photo_id").fetchall()
        # the store's bindings; a change counter (derived copies' staleness) may move, nothing else
        meta = conn.execute("SELECT * FROM meta WHERE key != 'generation' ORDER BY key").fetchall()
    return rows, vecs, meta


@pytest.mark.slow  # CI runs it at its default size; POCKETCLIP_FUZZ=5000 is the full run
def test_fuzzed_photos_never_crash_hang_or_touch_other_photos(tmp_path, photo_folder, fp32_bundle):
    count = int(os.environ.get("POCKETCLIP_FUZZ", "300"))
    rng = random.Random(int(os.environ.get("POCKETCLIP_FUZZ_SEED", "20240611")))
    db_path = tmp_path / "fuzz.db"
    encoder = BundleEncoder(fp32_bundle, "onnx", "fp32")
    db = Store.open(db_path)
    db.bind_model(encoder.bundle.fingerprint, encoder.bundle.embed_dim, "x")
    index_folder(photo_folder, db, encoder)
    db.close()
    good = rows_and_vectors(db_path)
    fuzz = photo_folder / "fuzz"
    fuzz.mkdir()
    seeds = seed_files()
    cases = {}
    for i in range(count):
        if i % 4 == 3:  # a quarter generated, the rest mutated
            suffix, data, ops = generated(i // 4, seeds, rng)
        else:
            suffix = list(FORMATS)[i % len(FORMATS)]
            data, ops = mutate(seeds[suffix], rng)
        name = f"fuzz/{i:05d}.{suffix}"
        (photo_folder / name).write_bytes(data)
        cases[name] = ops
    started = time.time()
    proc, peak_mib = run_measured([sys.executable, "-c", FUZZ_SCRIPT, str(fp32_bundle.root), str(photo_folder),
                                   str(db_path)], timeout=max(120, count // 5))
    elapsed = time.time() - started
    assert proc.returncode == 0, f"indexing the fuzz cases crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    with sqlite3.connect(db_path) as conn:
        fuzzed = dict(conn.execute("SELECT path, status FROM photos WHERE path LIKE 'fuzz/%'"))
        errors = dict(conn.execute("SELECT error, count(*) FROM photos WHERE status = 'error' GROUP BY error"))
    assert set(fuzzed) == set(cases) and set(fuzzed.values()) <= {"ok", "error"}
    assert rows_and_vectors(db_path, "path NOT LIKE 'fuzz/%'") == good  # nothing else changed, no vector lost
    ok = sum(s == "ok" for s in fuzzed.values())
    by_format = {suffix: sum(fuzzed[name] == "ok" for name in cases if name.endswith(suffix)) for suffix in FORMATS}
    print(f"\nfuzz: {count} cases, {ok} ok, {count - ok} error, 0 crashes, 0 hangs, 0 vectors lost, {elapsed:.1f} s, "
          f"peak RSS of the indexing process {peak_mib:.0f} MiB; ok per format {by_format}")
    assert peak_mib < 1500, "one photo's memory is bounded before any pixel is made"
    kinds = {}
    for reason, n in errors.items():
        kind = reason.split(" (")[0][:60]
        kinds[kind] = kinds.get(kind, 0) + n
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {n:6d}  {kind}")
