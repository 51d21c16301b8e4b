"""benchmarks/serve.py runs at a small size and prints the keys the README quotes."""
import json
import subprocess
import sys

import pytest


def test_serve_benchmark_prints_latency_and_the_cold_start(fp32_bundle):
    out = subprocess.run([sys.executable, "-m", "benchmarks.serve", "--photos", "2000", "--queries", "20",
                          "--bundle", str(fp32_bundle.root), "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["photos"] == 2000 and result["queries"] == 20 and result["mode"] == "exact"
    assert 0 < result["p50_ms"] <= result["p95_ms"] and result["cold_search_s"] > 0
    assert result["speedup"] == pytest.approx(result["cold_search_s"] * 1000 / result["p50_ms"], rel=0.02)
