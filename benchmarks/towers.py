"""Teacher vs student towers at the real shapes: size ratio and CPU latency ratio per tower, as JSON.

    python -m benchmarks.towers --json
    python -m benchmarks.towers --teacher demo-teacher --student demo-student --json

Random weights are enough: size and speed do not depend on the values. Both models are timed in
the same run, interleaved, so machine noise hits both alike; the ratios are what to compare
(the "Leaner and Faster" paper reports 39% size, 1.6x image and 2.9x text speed-up).
"""
from __future__ import annotations

import argparse
import json

import torch

from pocketclip.models.eval.evaluate import size_report, tower_latency
from pocketclip.models.towers.checkpoint import load_model


def compare(teacher_name: str, student_name: str, repeats: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    teacher, student = load_model(teacher_name), load_model(student_name)
    t_size, s_size = size_report(teacher), size_report(student)
    t_ms = {"image_ms": [], "text_ms": []}
    s_ms = {"image_ms": [], "text_ms": []}
    for _ in range(3):  # interleave rounds so drift in machine load affects both models
        for model, sink in ((teacher, t_ms), (student, s_ms)):
            for key, value in tower_latency(model, repeats=repeats).items():
                sink[key].append(value)
    t_lat = {k: min(v) for k, v in t_ms.items()}
    s_lat = {k: min(v) for k, v in s_ms.items()}
    return {
        "teacher": {"model": teacher_name, **t_size, **t_lat},
        "student": {"model": student_name, **s_size, **s_lat},
        "threads": threads,
        "size_ratio": round(s_size["bytes"] / t_size["bytes"], 4),
        "image_speedup": round(t_lat["image_ms"] / s_lat["image_ms"], 3),
        "text_speedup": round(t_lat["text_ms"] / s_lat["text_ms"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="clip-vit-b32")
    parser.add_argument("--student", default="student-vit-s16+student-text-4l")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 = one core, like a phone core)")
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    args = parser.parse_args()
    result = compare(args.teacher, args.student, args.repeats, args.threads)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"size {result['size_ratio']:.0%} of the teacher, image {result['image_speedup']}x, "
              f"text {result['text_speedup']}x faster")


if __name__ == "__main__":
    main()
