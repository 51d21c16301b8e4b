"""The CLI: every command documented with an example, clean errors, eval JSON, the demo end to end."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from tests_support import tiny

from pocketclip.cli import cli
from pocketclip.cli.demo import EXAMPLE_QUERIES
from pocketclip.models.towers.checkpoint import save_model
from pocketclip.models.towers.configs import ModelConfig
from pocketclip.models.towers.dual_encoder import DualEncoder

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
    report = json.loads(result.stdout)
    assert all(k in report for k in EVAL_KEYS) and report["pairs"] == 40


def test_unknown_model_is_a_one_line_error():
    result = CliRunner().invoke(cli, ["eval", "--model", "no-such-model"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "registered:" in result.output
    assert "Traceback" not in result.output


def test_models_lists_registry_and_committed_weights():
    result = CliRunner().invoke(cli, ["models", "architectures"])
    assert result.exit_code == 0
    assert "clip-vit-b32" in result.output
    assert "demo-student  (trained weights committed)" in result.output


def test_demo_indexes_and_searches_with_the_shipped_bundle_then_reuses_the_store(tmp_path):
    args = ["demo", "--out", str(tmp_path), "--photos", "40", "-k", "3", "--formats", "onnx"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("embedded 40, unchanged 0")
    queries = [lines.index(query) for query in EXAMPLE_QUERIES]
    for i in queries:
        scores = [float(line.rsplit(maxsplit=1)[1]) for line in lines[i + 1:i + 4]]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert any(line.startswith("bundle of demo-student") for line in lines)
    assert "image_onnx_int8.onnx" in result.stdout and "top-10" in result.stdout
    assert "parity (runtime path vs the fp32 reference):" in result.stdout and "PASS" in lines
    program, serve = next(line for line in lines if " serve --db " in line).strip().split(" serve --db ")
    assert serve == str(tmp_path / "index.db") and (program == "pocketclip" or Path(program).is_file())
    with Image.open(tmp_path / "hits.png") as sheet:
        assert sheet.width >= 3 * 128 and sheet.height >= 5 * 128
    hits = json.loads(CliRunner().invoke(cli, ["search", EXAMPLE_QUERIES[0], "--db", str(tmp_path / "index.db"),
                                               "-k", "3", "--json"]).stdout)
    printed = [Path(line.split()[1]).name for line in lines[queries[0] + 1:queries[0] + 4]]
    assert [Path(h["path"]).name for h in hits] == printed  # the demo's store is an ordinary store
    assert not (tmp_path / "bundle").exists()  # ONNX only: the demo bundle shipped in the package, not an export
    assert lines[-2].strip() == f"{program} models pull immich-app/ViT-B-32__openai"  # how to get a real model
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and again.stdout.splitlines()[0].endswith("embedded 0, unchanged 40")


def test_index_search_status_round_trip(tmp_path, photo_folder, fp32_bundle):
    db = str(tmp_path / "lib.db")
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(photo_folder), "--bundle", str(fp32_bundle.root), "--db", db, "--silent"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("embedded 24, unchanged 0")
    result = runner.invoke(cli, ["search", "two red circles", "--db", db, "-k", "3", "--json"])
    hits = json.loads(result.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3] and all(h["path"].startswith(str(photo_folder)) for h in hits)
    text = runner.invoke(cli, ["search", "two red circles", "--db", db, "-k", "3"]).stdout.splitlines()
    assert [line.split("\t")[0] for line in text] == [h["path"] for h in hits]
    photo = photo_folder / "photo_004.jpg"
    same = json.loads(runner.invoke(cli, ["search", "--image", str(photo), "--db", db, "-k", "1", "--json"]).stdout)
    assert same[0]["path"] == str(photo) and same[0]["score"] > 0.999
    status = json.loads(runner.invoke(cli, ["status", "--db", db, "--json"]).stdout)
    assert (status["ok"], status["error"], status["deleted"]) == (24, 0, 0)
    assert status["fingerprint"] == fp32_bundle.fingerprint and status["bytes"] > 0


def test_index_refuses_another_models_store(tmp_path, photo_folder, fp32_bundle):
    import numpy as np

    from pocketclip.runtime.store import Store, to_blob

    db = tmp_path / "lib.db"
    store = Store.open(db)
    store.bind_model("another-model", 128, "x")
    store["photos"].insert({"id": 1, "path": "old.jpg", "status": "ok"})
    store["embeddings"].insert({"photo_id": 1, "model": "another-model", "vector": to_blob(np.ones(128) / 128 ** .5)})
    store.close()
    result = CliRunner().invoke(cli, ["index", str(photo_folder), "--bundle", str(fp32_bundle.root), "--db", str(db)])
    assert result.exit_code == 1 and "--reindex" in result.output
    result = CliRunner().invoke(cli, ["index", str(photo_folder), "--bundle", str(fp32_bundle.root), "--db", str(db),
                                      "--reindex", "--silent"])
    assert result.exit_code == 0 and "embedded 24" in result.output


def test_a_store_keeps_its_root_and_refuses_an_empty_search(tmp_path, photo_folder, fp32_bundle):
    db = str(tmp_path / "lib.db")
    result = CliRunner().invoke(cli, ["search", "x", "--db", db])
    assert result.exit_code == 1 and "no store at" in result.output
    from pocketclip.runtime.store import Store

    Store.open(db)
    result = CliRunner().invoke(cli, ["search", "x", "--db", db])
    assert result.exit_code == 1 and "no photos indexed yet" in result.output and "Traceback" not in result.output
    CliRunner().invoke(cli, ["index", str(photo_folder), "--bundle", str(fp32_bundle.root), "--db", db, "--silent"])
    other = tmp_path / "other"
    other.mkdir()
    result = CliRunner().invoke(cli, ["index", str(other), "--bundle", str(fp32_bundle.root), "--db", db])
    assert result.exit_code == 1 and f"indexes {photo_folder.resolve()}; use another --db" in result.output


@pytest.mark.parametrize("args", [["eval", "--model", "demo-student", "--test-size", "0"],
                                  ["export", "--model", "demo-student", "--out", "x", "--gallery", "-1"],
                                  ["demo", "--photos", "0"], ["demo", "-k", "0"]])
def test_counts_out_of_range_are_usage_errors(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "Invalid value" in result.output and result.exception.__class__ is SystemExit


def test_index_withholds_a_mass_deletion_until_asked(tmp_path, photo_folder, fp32_bundle):
    """Most of a folder vanishing at once (a half-synced cloud folder, a wrong mount) deletes nothing until
    --allow-empty: the store keeps every photo, stderr says why, the exit is 0."""
    db = tmp_path / "index.db"
    args = ["index", str(photo_folder), "--bundle", str(fp32_bundle.root), "--db", str(db), "--silent"]
    runner = CliRunner()
    assert runner.invoke(cli, args).exit_code == 0
    gone = sorted(photo_folder.glob("*.jpg"))[:13]
    for path in gone:
        path.rename(tmp_path / path.name)
    result = runner.invoke(cli, args)
    assert result.exit_code == 0 and "deleted 0," in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (f"13 photos are gone from {photo_folder}, more than half of the library: none "
                                     "was marked deleted (a disk not mounted?); run again with --allow-empty if they "
                                     "were deleted")
    status = json.loads(runner.invoke(cli, ["status", "--db", str(db), "--json"]).stdout)
    assert (status["ok"], status["deleted"]) == (24, 0)
    result = runner.invoke(cli, [*args, "--allow-empty"])
    assert result.exit_code == 0 and "deleted 13," in result.stdout and "photos are gone" not in result.stderr
    status = json.loads(runner.invoke(cli, ["status", "--db", str(db), "--json"]).stdout)
    assert (status["ok"], status["deleted"]) == (11, 13)
    for path in gone:
        (tmp_path / path.name).rename(path)
