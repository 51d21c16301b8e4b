"""The demo world written as WebDataset shards (KEY.jpg + KEY.txt + KEY.json, as img2dataset writes
them), so the shard path is exercised by the same world in tests, CI and the demo recipe.

    python -m pocketclip.models.data.demo_shards --shards DIR --count 60000 [--split train] [--per-shard 2000]
"""
from __future__ import annotations

import io
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from pocketclip.models.data.demo_data import RENDER_SIZE
from pocketclip.models.data.demo_world import sample

JPEG_QUALITY = 95


def _shard(args: tuple) -> Path:
    import webdataset as wds

    path, split, start, stop, seed = args
    tmp = path.with_suffix(".tar.tmp")
    with open(tmp, "wb") as f, wds.TarWriter(f, mtime=0.0) as writer:  # fixed mtime: the same bytes every time
        for i in range(start, stop):
            image, caption, scene = sample(i, split, RENDER_SIZE, seed)
            jpeg = io.BytesIO()
            image.save(jpeg, format="JPEG", quality=JPEG_QUALITY)
            writer.write({"__key__": f"{split}-{i:08d}", "jpg": jpeg.getvalue(), "txt": caption,
                          "json": {"group": "|".join(map(str, scene.key()))}})
    tmp.replace(path)
    return path


def write_demo_shards(folder: Path, count: int, split: str = "train", per_shard: int = 2000, seed: int = 0,
                      workers: int = 2) -> str:
    """Write the shards (skipping ones already complete); returns their brace pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    n = (count + per_shard - 1) // per_shard
    jobs = [(folder / f"{split}-{k:05d}.tar", split, k * per_shard, min(count, (k + 1) * per_shard), seed)
            for k in range(n)]
    todo = [job for job in jobs if not job[0].exists()]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for _ in tqdm(pool.map(_shard, todo), total=len(todo), desc=f"writing {split} shards", unit="shard"):
            pass
    return str(folder / (f"{split}-{{00000..{n - 1:05d}}}.tar" if n > 1 else f"{split}-00000.tar"))


def main(argv: list[str] | None = None) -> None:
    """`python -m pocketclip.models.data.demo_shards --shards DIR --count N`: the demo world as WebDataset shards."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--shards", required=True, type=Path, help="folder to write the .tar shards into")
    parser.add_argument("--count", required=True, type=int, help="pictures to write")
    parser.add_argument("--split", default="train", choices=["train", "test", "gallery"])
    parser.add_argument("--per-shard", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.count < 1 or args.per_shard < 1:
        parser.error("--count and --per-shard must be at least 1")
    print(write_demo_shards(args.shards, args.count, args.split, args.per_shard, args.seed))


if __name__ == "__main__":
    main()
