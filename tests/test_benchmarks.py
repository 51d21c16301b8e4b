"""The benchmarks run (on small models here) and print the JSON keys the notes quote."""
import json
import subprocess
import sys


def test_towers_benchmark_prints_ratios():
    out = subprocess.run([sys.executable, "-m", "benchmarks.towers", "--teacher", "demo-teacher", "--student",
                          "demo-student", "--repeats", "2", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert 0 < result["size_ratio"] < 1
    assert result["image_speedup"] > 0 and result["text_speedup"] > 0
    assert result["student"]["params"] < result["teacher"]["params"]
