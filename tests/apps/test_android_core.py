"""The Android app's platform-independent core (android_demo/core) against the Python runtime.

Its JUnit 5 tests run on this machine's JVM (android_demo/core/jvm-test.sh, no Gradle or Android
SDK) and read the same bundle and golden files; they also read a store this runtime wrote and write
a store, a device report and the manifest values they parsed, which this runtime then opens with its
own code.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tests_support import describe_schema

from pocketclip.cli import cli
from pocketclip.runtime.indexing.binding import bind_store
from pocketclip.runtime.indexing.conformance import SCENARIOS
from pocketclip.runtime.library import bundle_binding
from pocketclip.runtime.parity.device_report import check_device_report, load_device_report
from pocketclip.runtime.parity.golden import load_golden
from pocketclip.runtime.search.exact import VectorIndex
from pocketclip.runtime.store import Store, now, to_blob

JVM_TEST = Path(__file__).resolve().parents[2] / "android_demo" / "core" / "jvm-test.sh"


def write_python_store(bundle, path: Path) -> None:
    """The golden gallery's image embeddings as photos gallery/000.png..., with PQ codes if the bundle has codebooks."""
    golden = load_golden(bundle)
    size = bundle.preprocess["size"]
    db = Store.open(path)
    db.bind_model(bundle.fingerprint, bundle.embed_dim, bundle.preprocess_sha256)  # codes come after the rows
    with db.atomic():
        for i, vector in enumerate(golden.gallery_image_ref):
            photo_id = db["photos"].insert({
                "path": f"gallery/{i:03d}.png", "size": 1000 + i, "mtime_ns": 1_700_000_000_000_000_000 + i,
                "content_hash": f"{i:032x}", "width": size, "height": size, "status": "ok", "error": None,
                "indexed_at": now()}).last_pk
            db["embeddings"].insert({"photo_id": photo_id, "model": bundle.fingerprint, "vector": to_blob(vector),
                                     "pq_code": None})
    if bundle.manifest.get("pq"):
        bind_store(db, bundle_binding(bundle, "gallery"))
    db.close()


def run_kotlin(bundle, pq4_bundle, tmp: Path):
    """Run the Kotlin tests on `bundle`; (completed process, the paths it read and wrote)."""
    missing = subprocess.run(["bash", "-c", 'command -v java && test -x "$0"',
                              str(JVM_TEST.parent.parent / ".tools/node_modules/kotlin-compiler/bin/kotlinc-jvm")],
                             capture_output=True)
    if missing.returncode:
        pytest.fail(f"the JVM tools are not installed: run {JVM_TEST} --install (`make test` does)")
    paths = {"POCKETCLIP_BUNDLE": bundle.root, "POCKETCLIP_PQ4_BUNDLE": pq4_bundle.root,
             "POCKETCLIP_PY_STORE": tmp / "python.db",
             "POCKETCLIP_OUT_STORE": tmp / "kotlin.db", "POCKETCLIP_OUT_REPORT": tmp / "device-report.json",
             "POCKETCLIP_OUT_MANIFEST": tmp / "kotlin-manifest.json", "POCKETCLIP_SCENARIOS": SCENARIOS}
    write_python_store(bundle, paths["POCKETCLIP_PY_STORE"])
    env = {**os.environ, **{key: str(value) for key, value in paths.items()}}
    result = subprocess.run([str(JVM_TEST)], env=env, capture_output=True, text=True, timeout=1200)
    return result, paths


@pytest.fixture(scope="module")
def kotlin_run(fp32_bundle, pq4_bundle, tmp_path_factory):
    """Run the Kotlin tests once on the fp32 bundle."""
    return run_kotlin(fp32_bundle, pq4_bundle, tmp_path_factory.mktemp("android-core"))


def junit_counts(output: str) -> dict[str, int]:
    """The console launcher's summary: '[  25 tests successful  ]' and friends."""
    return {name: int(count) for count, name in re.findall(r"\[\s*(\d+) tests (\w+)\s*\]", output)}


def test_kotlin_core_passes_its_junit_tests(kotlin_run, fp32_bundle):
    result, _ = kotlin_run
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"JUnit failed (exit {result.returncode}):\n{output}"
    counts = junit_counts(output)
    assert counts.get("found", 0) >= 25 and counts.get("failed", 1) == 0, output
    # The golden-PQ tests are skipped (JUnit assumptions) only for a bundle without codebooks; this one has them.
    assert fp32_bundle.manifest.get("pq") and counts.get("aborted", 0) == 0, output
    for name in ("pqCodesMatchGolden", "pqTop10MatchesGolden", "pq4CodesMatchGolden", "pq4Top10MatchesGolden"):
        assert re.search(rf"─ {name}\(\) ✔", output), f"{name} did not pass (the tree lists it with ✔):\n{output}"
    assert counts.get("successful") == counts["found"], output


def test_kotlin_reads_the_search_settings(kotlin_run, fp32_bundle):
    """What ManifestTest.readsTheSearchSettings parsed is the manifest's `search` section, value for value."""
    result, paths = kotlin_run
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = json.loads(Path(paths["POCKETCLIP_OUT_MANIFEST"]).read_text())
    manifest = json.loads((Path(fp32_bundle.root) / "manifest.json").read_text())
    assert parsed["schema_version"] == manifest["schema_version"] == 2
    assert parsed["search"] == manifest["search"]
    assert set(parsed["search"]) == {"exact_below_photos", "rerank_candidates", "default_k"}
    assert all(type(value) is int and value > 0 for value in parsed["search"].values()), parsed


def test_python_reads_the_kotlin_store(kotlin_run, fp32_bundle):
    result, paths = kotlin_run
    assert result.returncode == 0, result.stdout + result.stderr
    model = fp32_bundle.fingerprint
    kotlin, python = Store.open(paths["POCKETCLIP_OUT_STORE"]), Store.open(paths["POCKETCLIP_PY_STORE"])
    assert describe_schema(kotlin.conn) == describe_schema(python.conn)  # tables, columns, indexes, SQL
    for key in ("schema_version", "model_fingerprint", "dim", "preprocess_sha256", "pq_codebooks_sha256"):
        assert kotlin.meta().get(key) == python.meta().get(key), key
    kotlin_index, python_index = VectorIndex(kotlin, kotlin.search_arrays(model)), VectorIndex(python, python.search_arrays(model))
    assert kotlin_index.paths == python_index.paths  # the error row is not searchable
    np.testing.assert_array_equal(kotlin_index.matrix, python_index.matrix)  # same float16 bytes
    for query in load_golden(fp32_bundle).gallery_text_ref:
        assert kotlin_index.top_k(query, 10) == python_index.top_k(query, 10)
    codes = "SELECT p.path, e.pq_code FROM embeddings e JOIN photos p ON p.id = e.photo_id ORDER BY p.path"
    assert kotlin.execute(codes).fetchall() == python.execute(codes).fetchall()
    assert kotlin.execute("SELECT status, error FROM photos WHERE path = 'gallery/broken.png'").fetchall() == [
        ("error", "cannot decode: truncated")]


def test_device_report_passes_parity(kotlin_run, fp32_bundle):
    result, paths = kotlin_run
    assert result.returncode == 0, result.stdout + result.stderr
    report = load_device_report(paths["POCKETCLIP_OUT_REPORT"])  # schema-checked
    assert report["runtime"] == "jvm golden echo"
    rows = check_device_report(fp32_bundle, report, load_golden(fp32_bundle))
    assert sorted(r["file"] for r in rows) == sorted(a["file"] for a in fp32_bundle.artifacts)
    assert all(not r["missed"] for r in rows), rows
    cli_result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--device-report",
                                          str(paths["POCKETCLIP_OUT_REPORT"])])
    assert cli_result.exit_code == 0, cli_result.output


def test_kotlin_core_passes_on_a_bundle_with_the_int8_token_table(int8_bundle, pq4_bundle, tmp_path):
    """The golden tests, store and device report on int8 artifacts whose token table is int8 rows."""
    assert all(("token_table" in a) == (a["tower"] == "text" and a["precision"] == "int8")
               for a in int8_bundle.artifacts)
    result, paths = run_kotlin(int8_bundle, pq4_bundle, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"JUnit failed (exit {result.returncode}):\n{output}"
    counts = junit_counts(output)
    assert counts.get("found", 0) >= 25 and counts.get("successful") == counts["found"], output
    report = load_device_report(paths["POCKETCLIP_OUT_REPORT"])
    rows = check_device_report(int8_bundle, report, load_golden(int8_bundle))
    assert sorted(r["file"] for r in rows) == sorted(a["file"] for a in int8_bundle.artifacts)
    assert len(rows) == 8  # image and text, .pte and ONNX, fp32 and int8
    assert all(not r["missed"] for r in rows), rows
    cli_result = CliRunner().invoke(cli, ["parity", str(int8_bundle.root), "--device-report",
                                          str(paths["POCKETCLIP_OUT_REPORT"])])
    assert cli_result.exit_code == 0, cli_result.output


def test_kotlin_meta_keys_are_the_runtime_keys():
    """StoreSchema.Meta (the keys the Kotlin store writes) is runtime.meta_keys, read from the source."""
    meta_keys = pytest.importorskip("pocketclip.runtime.store.meta_keys")
    source = (JVM_TEST.parent / "src" / "main" / "kotlin" / "org" / "pocketclip" / "core" / "StoreSchema.kt").read_text()
    block = re.search(r"object Meta \{(.*?)\n    \}", source, flags=re.S).group(1)
    assert set(re.findall(r'const val \w+ = "(\w+)"', block)) == set(meta_keys.ALL)


def kotlin_scenarios(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(JVM_TEST), "--scenarios", str(folder), "--json"], capture_output=True, text=True,
                          timeout=1200)


def test_the_kotlin_core_indexes_as_the_reference(tmp_path):
    """Every conformance scenario on the Kotlin core (its LibraryIndexer on a virtual gallery, javax.imageio
    decoding, the reference's vectors replayed): the same steps, the same store after each."""
    done = kotlin_scenarios(SCENARIOS)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["runner"] == "kotlin" and report["failed"] == 0 and report["passed"] >= 30
    assert report["passed"] == len([p for p in SCENARIOS.glob("*.json") if p.name != "models.json"])


def scenario_subset(tmp_path: Path, *keep: str) -> Path:
    """The shipped scenario folder with only the named scenario files (the runner's time goes to those)."""
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    for path in folder.glob("*.json"):
        if path.name != "models.json" and path.name not in keep:
            path.unlink()
    return folder


def test_the_kotlin_runner_fails_on_an_altered_expectation(tmp_path):
    folder = scenario_subset(tmp_path, "01-first-index.json", "26-most-of-library-gone.json")
    path = folder / "26-most-of-library-gone.json"
    scenario = json.loads(path.read_text())
    scenario["steps"][1]["expect"]["report"]["withheld"] = 0  # as if five of eight photos could vanish unnoticed
    path.write_text(json.dumps(scenario))
    done = kotlin_scenarios(folder)
    assert done.returncode == 1
    report = json.loads(done.stdout.strip().splitlines()[-1])
    failed = [s for s in report["scenarios"] if not s["passed"]]
    assert [s["scenario"] for s in failed] == ["26-most-of-library-gone"]
    assert failed[0]["difference"] == ("most-of-library-gone: step 2 (five of eight gone): report withheld: "
                                       "expected 0, got 5")


def test_a_malformed_scenario_is_one_line_on_the_kotlin_runner(tmp_path):
    folder = scenario_subset(tmp_path, "01-first-index.json")
    (folder / "01-first-index.json").write_text('{"steps": [{}, {"events": [{"jump": 1}]}]}')
    done = kotlin_scenarios(folder)
    assert done.returncode == 1 and "Exception" not in done.stderr
    assert done.stderr.strip().startswith("Error: 01-first-index.json: step 2: an event needs exactly one of")
