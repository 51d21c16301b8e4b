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


def test_search_benchmark_prints_latency_per_size():
    out = subprocess.run([sys.executable, "-m", "benchmarks.search", "--sizes", "1000,5000", "--queries", "5",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["exact"]
    assert [r["vectors"] for r in rows] == [1000, 5000]
    assert all(0 < r["p50_ms"] <= r["p95_ms"] for r in rows)


def test_indexing_benchmark_prints_the_ratios(fp32_bundle):
    out = subprocess.run([sys.executable, "-m", "benchmarks.indexing", "--photos", "40", "--large", "4",
                          "--bundle", str(fp32_bundle.root), "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for key in ("photos", "full_s", "noop_s", "noop_ratio", "photos_per_s", "draft_speedup"):
        assert key in result
    assert result["embedded"] == 40 and result["noop_unchanged"] == 40
    assert 0 < result["noop_ratio"] < 1
