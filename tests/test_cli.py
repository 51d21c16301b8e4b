"""The CLI: every command documented with an example, clean errors, eval JSON, the demo end to end."""
import json

import pytest
from click.testing import CliRunner
from PIL import Image

from models.checkpoint import save_model
from models.configs import ModelConfig
from models.dual_encoder import DualEncoder
from runtime.cli import cli
from tests_support import tiny

EVAL_KEYS = ("params", "bytes", "image_ms", "text_ms", "t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10")


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_eval_prints_json_with_the_report_keys(tmp_path):
    save_model(DualEncoder(ModelConfig.from_dict(tiny())), tmp_path / "m")
    result = CliRunner().invoke(cli, ["eval", "--model", str(tmp_path / "m"), "--test-size", "40", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert all(k in report for k in EVAL_KEYS) and report["pairs"] == 40


def test_unknown_model_is_a_one_line_error():
    result = CliRunner().invoke(cli, ["eval", "--model", "no-such-model"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "registered:" in result.output
    assert "Traceback" not in result.output


def test_models_lists_registry_and_committed_weights():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0
    assert "clip-vit-b32" in result.output
    assert "demo-student  (trained weights committed)" in result.output


def test_demo_searches_a_drawn_gallery_and_writes_a_contact_sheet(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path), "--photos", "40", "-k", "3", "--formats", ""])
    assert result.exit_code == 0, result.output
    blocks = [b for b in result.output.strip().split("\n\n") if not b.startswith("contact sheet")]
    assert len(blocks) == 5
    for block in blocks:
        lines = block.splitlines()
        scores = [float(line.rsplit(maxsplit=1)[1]) for line in lines[1:]]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert len(list((tmp_path / "gallery").glob("*.jpg"))) == 40
    with Image.open(tmp_path / "hits.png") as sheet:
        assert sheet.width >= 3 * 128 and sheet.height >= 5 * 128


def test_demo_exports_the_student_once_and_prints_the_bundle(tmp_path):
    args = ["demo", "--out", str(tmp_path), "--photos", "12", "-k", "2", "--formats", "onnx"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "bundle of demo-student" in first.output
    assert "image_onnx_int8.onnx" in first.output and "top-10" in first.output
    stamp = (tmp_path / "bundle" / "manifest.json").stat().st_mtime_ns
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0
    assert (tmp_path / "bundle" / "manifest.json").stat().st_mtime_ns == stamp  # intact bundle reused
