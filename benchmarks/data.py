"""Training-data throughput and what the teacher cache saves, as JSON.

    python -m benchmarks.data --json
    python -m benchmarks.data --samples 256 --teacher demo-teacher --student demo-student --json

samples_per_s_1_worker / samples_per_s_2_workers: decoded and preprocessed (runtime preprocessing)
samples per second streamed from 224-px JPEG shards through the training loader, one epoch each.
teacher_cache_speedup: the time of a distillation step (stage 1, forward and backward of the
student) that runs the teacher on the batch, over the time of one that reads the teacher's
embeddings from the cache; both timed interleaved in the same run, random weights.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from pocketclip.models.data.demo_data import trim_ids
from pocketclip.models.data.demo_world import sample
from pocketclip.models.data.feed import StreamFeed
from pocketclip.models.data.loader import StreamSpec
from pocketclip.models.data.sources import open_source
from pocketclip.models.towers.checkpoint import load_model
from pocketclip.models.train.distill import stage1_loss


def write_shards(folder: Path, count: int, size: int, per_shard: int = 128) -> str:
    import webdataset as wds

    n = (count + per_shard - 1) // per_shard
    for k in range(n):
        with open(folder / f"b-{k:05d}.tar", "wb") as f, wds.TarWriter(f) as writer:
            for i in range(k * per_shard, min(count, (k + 1) * per_shard)):
                image, caption, _ = sample(i, "train", size)
                jpeg = io.BytesIO()
                image.save(jpeg, format="JPEG", quality=90)
                writer.write({"__key__": f"{i:08d}", "jpg": jpeg.getvalue(), "txt": caption})
    return f"{folder}/b-{{00000..{n - 1:05d}}}.tar"


def loader_rate(pattern: str, workers: int, batch: int, size: int) -> float:
    spec = StreamSpec(batch, dataclasses.asdict(load_model("clip-vit-b32").cfg.preprocess) | {"size": size},
                      shuffle_buffer=256)
    feed = StreamFeed(open_source(f"shards:{pattern}"), spec, 0, 1, workers)
    seen, start = 0, None
    for batch_, state in feed.batches():
        if state["epoch"] == 1:
            break
        if start is None:  # the first batch pays for starting the workers
            start = time.perf_counter()
            continue
        seen += int(batch_["valid"].sum())
    return seen / (time.perf_counter() - start)


def step_times(teacher_name: str, student_name: str, batch: int, repeats: int) -> tuple[float, float]:
    torch.manual_seed(0)
    teacher, student = load_model(teacher_name), load_model(student_name)
    student.train()
    size, eot = student.cfg.image.image_size, student.cfg.text.eot_id
    pixels = torch.randn(batch, 3, size, size)
    t_pixels = torch.randn(batch, 3, teacher.cfg.image.image_size, teacher.cfg.image.image_size)
    ids = torch.zeros(batch, student.cfg.text.context_length, dtype=torch.long)
    ids[:, 0], ids[:, 1:16], ids[:, 16] = 49406, 320, eot  # 15-token captions
    with torch.no_grad():
        cached = {"t_image": teacher.image(t_pixels), "t_text": teacher.text(trim_ids(ids, eot))}

    def step(live: bool) -> float:
        start = time.perf_counter()
        batch_ = {"pixels": pixels, "ids": ids, "valid": torch.ones(batch, dtype=torch.bool)}
        if live:
            with torch.no_grad():
                batch_ |= {"t_image": teacher.image(t_pixels), "t_text": teacher.text(trim_ids(ids, eot))}
        else:
            batch_ |= cached
        loss, _ = stage1_loss(student, batch_, 20.0, eot)
        loss.backward()
        student.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    step(True), step(False)  # warm-up
    live, cache = [], []
    for _ in range(repeats):  # interleaved, so machine noise hits both alike
        live.append(step(True))
        cache.append(step(False))
    return statistics.median(live), statistics.median(cache)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1024, help="pictures in the benchmark shards")
    parser.add_argument("--size", type=int, default=224, help="picture and model input size, px")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--teacher", default="clip-vit-b32")
    parser.add_argument("--student", default="student-vit-s16+student-text-4l")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON (the default output too)")
    args = parser.parse_args(argv)
    if min(args.samples, args.size, args.batch, args.repeats) < 1:
        parser.error("--samples, --size, --batch and --repeats must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        pattern = write_shards(Path(tmp), args.samples, args.size)
        rates = {w: loader_rate(pattern, w, args.batch, args.size) for w in (1, 2)}
    live, cache = step_times(args.teacher, args.student, args.batch, args.repeats)
    report = {"samples": args.samples, "size": args.size, "batch": args.batch, "threads": torch.get_num_threads(),
              "samples_per_s_1_worker": round(rates[1], 1), "samples_per_s_2_workers": round(rates[2], 1),
              "workers_speedup": round(rates[2] / rates[1], 2),
              "teacher": args.teacher, "student": args.student,
              "step_ms_teacher": round(live * 1000, 1), "step_ms_cache": round(cache * 1000, 1),
              "teacher_cache_speedup": round(live / cache, 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
