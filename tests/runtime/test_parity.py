"""`pocketclip parity`: passes on a good bundle, and fails, naming the bar, when something drifts."""
import json
import shutil

import numpy as np
import onnx
from click.testing import CliRunner
from onnx import numpy_helper

from pocketclip.cli import cli
from pocketclip.runtime.bundle.manifest import load_bundle, sha256_path
from pocketclip.runtime.parity.bundle_parity import check_bundle


def rehash(root, relative):
    """Record a deliberately changed file in the manifest, as a re-export would."""
    manifest = json.loads((root / "manifest.json").read_text())
    digest = sha256_path(root / relative)
    manifest["files"][relative]["sha256"] = digest
    for entry in manifest["artifacts"]:
        if entry["file"] == relative:
            entry["sha256"] = digest
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_good_bundle_passes_and_prints_its_table(fp32_bundle):
    report = check_bundle(fp32_bundle)
    assert report.passed and report.tokenizer_identical and report.preprocess_max_abs == 0
    assert {a.file for a in report.artifacts} == {e["file"] for e in fp32_bundle.artifacts}
    result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("artifact") and result.stdout.strip().endswith("PASS")
    as_json = json.loads(CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--json"]).stdout)
    assert as_json["passed"] is True and len(as_json["artifacts"]) == 4


def test_noise_in_the_weights_fails_the_cosine_bar(fp32_bundle, tmp_path):
    root = shutil.copytree(fp32_bundle.root, tmp_path / "noisy")
    path = root / "image_onnx_fp32.onnx"
    model = onnx.load(str(path))
    rng = np.random.default_rng(0)
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype == np.float32 and w.ndim == 2:
            init.CopyFrom(numpy_helper.from_array(w + rng.normal(0, 0.05, w.shape).astype(np.float32), init.name))
    onnx.save(model, str(path))
    rehash(root, "image_onnx_fp32.onnx")
    result = CliRunner().invoke(cli, ["parity", str(root)])
    assert result.exit_code == 1
    line = next(l for l in result.stdout.splitlines() if l.startswith("image_onnx_fp32.onnx"))
    assert "FAIL" in line and "cosine" in line and "< 0.99999" in line and "max abs diff" in line
    assert "text_onnx_fp32.onnx" in result.stdout and result.stdout.strip().endswith("FAIL")


def test_changed_golden_text_fails_the_tokenizer_check(fp32_bundle, tmp_path):
    root = shutil.copytree(fp32_bundle.root, tmp_path / "tok")
    index = json.loads((root / "golden" / "golden.json").read_text())
    index["texts"][0] = "something else entirely"
    (root / "golden" / "golden.json").write_text(json.dumps(index))
    rehash(root, "golden/golden.json")
    report = check_bundle(load_bundle(root))
    assert not report.passed and report.tokenizer_rows_differing == [0]


def test_a_tampered_artifact_is_refused_by_name(fp32_bundle, tmp_path):
    root = shutil.copytree(fp32_bundle.root, tmp_path / "tampered")
    data = bytearray((root / "text_xnnpack_fp32.pte").read_bytes())
    data[-100] ^= 0xFF
    (root / "text_xnnpack_fp32.pte").write_bytes(bytes(data))
    result = CliRunner().invoke(cli, ["parity", str(root)])
    assert result.exit_code == 1 and "text_xnnpack_fp32.pte" in result.output and "sha256" in result.output
