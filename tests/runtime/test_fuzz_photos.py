"""A seeded fuzz of mutated photos in every supported format: every run ends, every file ends 'ok' or
'error', and nothing else in the store changes. POCKETCLIP_FUZZ=N runs N cases (300 by default)."""
import io
import os
import random
import sqlite3
import subprocess
import sys
import time

from PIL import Image  # noqa: F401 - seed_files saves through it

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
        suffix = list(FORMATS)[i % len(FORMATS)]
        data, ops = mutate(seeds[suffix], rng)
        name = f"fuzz/{i:05d}.{suffix}"
        (photo_folder / name).write_bytes(data)
        cases[name] = ops
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", FUZZ_SCRIPT, str(fp32_bundle.root), str(photo_folder), str(db_path)],
                          check=False, capture_output=True, text=True, timeout=max(120, count // 5))
    elapsed = time.time() - started
    assert proc.returncode == 0, f"indexing the fuzz cases crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    with sqlite3.connect(db_path) as conn:
        fuzzed = dict(conn.execute("SELECT path, status FROM photos WHERE path LIKE 'fuzz/%'"))
        errors = dict(conn.execute("SELECT error, count(*) FROM photos WHERE status = 'error' GROUP BY error"))
    assert set(fuzzed) == set(cases) and set(fuzzed.values()) <= {"ok", "error"}
    assert rows_and_vectors(db_path, "path NOT LIKE 'fuzz/%'") == good  # nothing else changed, no vector lost
    ok = sum(s == "ok" for s in fuzzed.values())
    by_format = {suffix: sum(fuzzed[name] == "ok" for name in cases if name.endswith(suffix)) for suffix in FORMATS}
    print(f"\nfuzz: {count} cases, {ok} ok, {count - ok} error, {elapsed:.1f} s; ok per format {by_format}")
    kinds = {}
    for reason, n in errors.items():
        kind = reason.split(" (")[0][:60]
        kinds[kind] = kinds.get(kind, 0) + n
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {n:6d}  {kind}")
