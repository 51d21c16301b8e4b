"""`pocketclip eval` by the standard protocol: Karpathy, shards, CSV, exported artifacts, bad input."""
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pocketclip.cli import cli

sys.path.insert(0, str(Path(__file__).parent / "models"))
from test_data_sources import karpathy_fixture  # noqa: E402


def run(*args):
    return CliRunner().invoke(cli, ["eval", *args])


def test_karpathy_test_split_every_caption_is_a_query(tmp_path):
    path = karpathy_fixture(tmp_path)
    result = run("--model", "demo-student", "--data", f"karpathy:{path}", "--images", str(tmp_path), "--split",
                 "train", "--workers", "0", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 3 and report["captions"] == 15 and report["skipped"] == {}
    assert set(report) >= {"t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10", "mean_recall"}
    assert report["t2i_r5"] == 100.0  # 3 images: every caption's image is within the top 5


def test_missing_pictures_are_skipped_and_counted(tmp_path):
    path = karpathy_fixture(tmp_path)
    (tmp_path / "val2014" / "img1.jpg").unlink()
    (tmp_path / "val2014" / "img2.jpg").write_bytes(b"not a jpeg")
    result = run("--model", "demo-student", "--data", f"karpathy:{path}", "--images", str(tmp_path), "--split",
                 "train", "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 1 and report["captions"] == 5
    assert report["skipped"] == {"undecodable image": 10}


def test_an_exported_artifact_is_measured_through_the_runtime(fp32_bundle):
    both = run("--bundle", str(fp32_bundle.root), "--test-size", "200", "--workers", "0", "--json")
    assert both.exit_code == 0, both.output
    report = json.loads(both.stdout)
    assert report["artifacts"] == {"image": "image_onnx_fp32.onnx", "text": "text_onnx_fp32.onnx"}
    model = json.loads(run("--model", "demo-student", "--test-size", "200", "--json").stdout)
    # the fp32 artifacts are the float16-published model exported: the same retrieval to 1 query in 200
    assert abs(report["t2i_r1"] - model["t2i_r1"]) <= 0.5 and report["images"] == 200
    pte = run("--bundle", str(fp32_bundle.root), "--artifact", "image_xnnpack_fp32.pte", "--test-size", "50",
              "--workers", "0", "--json")
    assert pte.exit_code == 0, pte.output
    assert json.loads(pte.stdout)["artifacts"] == {"image": "image_xnnpack_fp32.pte", "text": "text_xnnpack_fp32.pte"}


@pytest.mark.parametrize("args, message", [
    ([], "give --model or --bundle"),
    (["--model", "demo-student", "--artifact", "x.onnx"], "--artifact names a file in --bundle"),
    (["--model", "demo-student", "--data", "parquet:x"], "use shards:PATTERN"),
    (["--model", "demo-student", "--data", "karpathy:/no/such.json"], "no such file"),
    (["--model", "demo-student", "--data", "shards:/no/such-{0..3}.tar"], "4 of 4 shards not found"),
])
def test_bad_arguments_are_one_line_errors(args, message):
    result = run(*args)
    assert result.exit_code in (1, 2) and message in result.output and "Traceback" not in result.output


def test_an_unknown_artifact_names_the_ones_there(fp32_bundle):
    result = run("--bundle", str(fp32_bundle.root), "--artifact", "image_onnx_int4.onnx")
    assert result.exit_code == 1 and "image_onnx_fp32.onnx" in result.output
    assert len(result.output.strip().splitlines()) == 1
