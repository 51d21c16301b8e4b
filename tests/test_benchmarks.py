"""The benchmarks run (on small models here) and print the JSON keys the notes quote."""
import json
import subprocess
import sys

import numpy as np
import pytest


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
                          "--camera", "4", "--students", "demo", "--rss", "20", "--bundle", str(fp32_bundle.root),
                          "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for key in ("photos", "full_s", "noop_s", "noop_ratio", "photos_per_s", "draft_speedup", "first_searchable_s"):
        assert key in result
    assert result["embedded"] == 40 and result["noop_unchanged"] == 40
    assert 0 < result["noop_ratio"] < 1
    assert 1.0 <= result["bytes_read_ratio"] <= 1.1  # each photo read once
    demo = result["pipeline"]["demo"]
    for precision in ("fp32", "int8"):
        row = demo[precision]
        assert row["limit"] == pytest.approx(1 / (1 / demo["decode_limit_d"] + 1 / row["encode_limit_e"]), rel=0.01)
    assert result["rss"][0]["photos"] == 20 and result["rss"][0]["peak_rss_mib"] > 0


def test_pq_benchmark_prints_the_issue_keys(fp32_bundle):
    out = subprocess.run([sys.executable, "-m", "benchmarks.pq", "--vectors", "20000", "--queries", "20",
                          "--base", "600", "--test-size", "300", "--candidates", "200", "--engine-queries", "5",
                          "--bundle", str(fp32_bundle.root), "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    keys = ("bytes_per_photo", "recall10_pq", "recall10_rerank", "p50_ms", "p95_ms", "usage_entropy")
    for scope in (result, result["baseline"], result["demo_split"], result["demo_split"]["baseline"]):
        assert all(key in scope for key in keys)
        assert 0 <= scope["recall10_pq"] <= scope["recall10_rerank"] <= 1 and scope["bytes_per_photo"] <= 32
        assert 0 < scope["usage_entropy"] <= np.log(256) + 1e-6
    assert result["exact_p50_ms"] > 0 and result["vectors"] == 20000
    assert result["faiss"]["index_pq_8bit"]["bytes_per_photo"] == result["bytes_per_photo"]
    assert result["faiss"]["pq_fastscan_4bit"]["bytes_per_photo"] == result["bytes_per_photo"]
    fast = result["fastscan"]  # the published 4-bit codebooks, the store's codes, faiss's fast-scan
    assert fast["bytes_per_photo"] == 16 and fast["engine"] == "faiss IndexPQFastScan"
    assert 0 < fast["candidate_p50_ms"] <= fast["p50_ms"] and 0 <= fast["recall10_pq"] <= fast["recall10_rerank"] <= 1
    assert result["faiss_pq8"]["engine"] == "faiss IndexPQ"
    for engine in ("usearch_hnsw", "sqlite_vec_exact", "numpy_exact"):
        assert 0 < result[engine]["p50_ms"] and 0 < result[engine]["recall10"] <= 1, engine
    assert result["sqlite_vec_exact"]["recall10"] >= 0.99  # exact, up to float rounding
    for bits in ("4bit", "8bit"):
        assert [row["photos"] for row in result["switch"][bits]["sizes"]] == [5000, 10000, 20000]
        assert [row["candidates"] for row in result["candidates_sweep"][bits]][-1] == 2000
    cold = result["cold_search"]  # one search process each way on a 20k-photo store
    assert result["cold_search_s"] > 0 and cold["without_copy_s"] > 0 and cold["same_hits"], cold
    assert cold["photos"] == 20000 and cold["copy_mib"] > 0


def test_data_benchmark_prints_loader_rates_and_the_teacher_cache_speedup():
    out = subprocess.run([sys.executable, "-m", "benchmarks.data", "--samples", "96", "--size", "64", "--batch", "8",
                          "--teacher", "demo-teacher", "--student", "demo-student", "--repeats", "2", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["samples_per_s_1_worker"] > 0 and result["samples_per_s_2_workers"] > 0
    assert result["teacher_cache_speedup"] > 0 and result["step_ms_cache"] > 0


def test_students_benchmark_prints_the_front_and_a_choice(tmp_path):
    """A tiny front: the demo teacher against one demo-scale candidate, two distillation steps a stage."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.students", "--teacher", "demo-teacher", "--candidates",
                          "demo-hybrid-s+demo-text-4l-256", "--steps", "2", "--stage2-steps", "2", "--train-size",
                          "600", "--test-size", "300", "--rounds", "1", "--repeats", "2", "--work", str(tmp_path),
                          "--json"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["chosen"] == "demo-hybrid-s+demo-text-4l-256"
    row = result["candidates"][0]
    for key in ("image_speedup_pte_int8", "text_speedup_pte_int8", "image_speedup_onnx_int8",
                "text_speedup_onnx_int8", "bytes_ratio"):
        assert row[key] > 0, key
    assert 0 < row["bytes_ratio"] < 1 and row["image_params"] < result["teacher"]["image_params"]
    assert row["demo_name"] == row["name"] and 0 <= row["demo_t2i_r1"] <= 100
    assert result["teacher"]["demo"]["name"] == "demo-teacher" and set(row["goals"]) == {
        "image_speedup", "text_speedup", "bytes_ratio", "demo_quality"}


def test_students_benchmark_refuses_an_unknown_candidate():
    out = subprocess.run([sys.executable, "-m", "benchmarks.students", "--candidates", "vit-huge+student-text-4l",
                          "--skip-train"], capture_output=True, text=True, timeout=300)
    last = out.stderr.strip().splitlines()[-1]
    assert out.returncode == 2 and last.startswith("students.py: error: unknown model 'vit-huge+student-text-4l'")
    assert "student-hybrid-s" in last and not out.stdout


def test_phone_search_benchmark_measures_the_kotlin_code_index(int8_bundle):
    """The Kotlin core's search from codes on a store the runtime wrote: its heap, times and recall beside the
    reference's on the same store (the full 100,000-photo run is benchmarks/results/phone_search.json)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.phone_search", "--bundle", str(int8_bundle.root),
                          "--photos", "1000", "--queries", "10", "--json"], capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    kotlin = result["kotlin_code_index"]
    assert kotlin["photos"] == 1000 and kotlin["code_bytes"] == 16
    assert 0 < kotlin["index_heap_bytes"] <= result["heap_goal_bytes"] and result["heap_within_goal"]
    assert 0 < kotlin["p50_ms"] <= kotlin["p95_ms"]
    assert abs(result["recall_kotlin_minus_reference"]) <= 0.05
    assert result["reference_pq_rerank"]["recall_at_10"] >= 0.9


@pytest.mark.slow  # mutates runtime/search/exact.py in place for a few seconds: run the suite one process at a time
def test_mutation_run_kills_a_sample_and_puts_the_file_back(tmp_path):
    """Three mutants of exact search, each judged by tests/runtime/test_search.py; reports only (the full run and its
    90% bar: `python -m benchmarks.mutation`, docs/testing.md)."""
    import hashlib
    from pathlib import Path

    source = Path(__file__).parents[1] / "runtime" / "search" / "exact.py"
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    out = subprocess.run([sys.executable, "-m", "benchmarks.mutation", "--module", "runtime/search/exact.py",
                          "--sample", "3", "--seed", "1", "--quiet", "--out", str(tmp_path / "mutation.json")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    assert not list(source.parent.glob("*.mutation-backup"))
    report = json.loads((tmp_path / "mutation.json").read_text())
    module = report["modules"]["runtime/search/exact.py"]
    assert module["run"] + module["equivalent"] + module["not_compiled"] == 3 == report["sample"]
    assert module["killed"] + module["survived"] + module["timed_out"] == module["run"]
    assert module["killed"] >= 1, "no sampled mutant was killed: the tests no longer fail when exact search is wrong"
    assert all(s["where"].startswith("runtime/search/exact.py:") for s in module["survivors"])
    assert report["groups"]["search"]["run"] == module["run"]
    print(f"mutation sample: {module['killed']} of {module['run']} killed, survivors {module['survivors']}")


def test_every_equivalent_mutant_listed_still_exists_and_every_mapped_test_too():
    """An entry of benchmarks/mutation_equivalent.json that no longer matches a mutant (the line changed) would
    hide nothing, but it would rot: it is reported here, with the module's tests the run would look for."""
    from pathlib import Path

    from benchmarks.mutation import MODULES, equivalent_reason, load_equivalents, mutants_of

    root = Path(__file__).parents[1]
    entries = load_equivalents()
    matched = set()
    for file in MODULES:
        for mutant in mutants_of(file):
            for i, entry in enumerate(entries):
                if equivalent_reason(mutant, [entry]) is not None:
                    matched.add(i)
    assert [entries[i] for i in range(len(entries)) if i not in matched] == []
    assert all(entry["reason"] for entry in entries)
    for file, (group, tests) in MODULES.items():
        assert (root / file).is_file() and group in ("store", "indexing", "search", "photos")
        assert all((root / test.split("::")[0]).is_file() for test in tests), file


@pytest.mark.slow
def test_filtered_benchmark_prints_ratios_and_keeps_to_the_selection():
    out = subprocess.run([sys.executable, "-m", "benchmarks.filtered", "--photos", "30000", "--queries", "5"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["mode"] == "exact" and result["unfiltered_recall10"] == 1.0  # below the demo's exact_below_photos
    for row in result["filters"].values():
        assert row["only_selected"] and row["recall10_vs_exact_on_subset"] == 1.0 and 0 < row["selectivity"] < 1
        assert row["p50_ms"] > 0 and row["ratio_to_unfiltered"] > 0
