"""Named models: the demo bundle shipped in the package, the default model, `models list/default/rm`, the
notes a user sees about the demo model and random weights."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from pocketclip.cli import cli
from pocketclip.runtime.bundle.home import DEMO, SHIPPED
from pocketclip.runtime.bundle.manifest import load_bundle


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def test_the_shipped_demo_bundle_equals_a_fresh_export(int8_bundle):
    """Same model, same options as the int8_bundle fixture's export: every file of the shipped bundle has the
    bytes that export wrote (the ONNX artifacts, the golden set, the codebooks, the merges)."""
    shipped = load_bundle(SHIPPED / DEMO)
    shipped.verify_all()
    assert shipped.fingerprint == int8_bundle.fingerprint
    fresh = int8_bundle.manifest["files"]
    assert shipped.manifest["files"] == {name: fresh[name] for name in shipped.manifest["files"]}
    assert {(a["format"], a["precision"]) for a in shipped.artifacts} == {("onnx", "fp32"), ("onnx", "int8")}
    assert shipped.trained_on == "demo-world" and not shipped.random_weights


def test_default_model_and_the_demo_note_once(tmp_path, monkeypatch, photo_folder):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    indexed = _run("index", str(photo_folder), "--silent")  # no --bundle, no --db: the default model and store
    assert indexed.exit_code == 0, indexed.output
    assert indexed.stderr.count("is the demo model") == 1 and "models pull" in indexed.stderr
    assert (tmp_path / "data" / "pocketclip" / "index.db").exists()
    searched = _run("search", "two red circles on the left")
    assert searched.exit_code == 0 and searched.stderr.count("is the demo model") == 1
    status = json.loads(_run("status", "--json").stdout)
    assert status["model"] == DEMO and status["trained_on"] == "demo-world"
    listed = _run("models", "list")
    assert listed.output.startswith(f"* {DEMO}") and "shipped with pocketclip" in listed.output


def test_models_default_rm_and_unknown_names(tmp_path, monkeypatch, photo_folder):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    home = tmp_path / "data" / "pocketclip" / "models"
    home.mkdir(parents=True)
    shutil.copytree(SHIPPED / DEMO, home / "my-copy")
    assert _run("models", "default", "my-copy").exit_code == 0
    rows = json.loads(_run("models", "list", "--json").stdout)
    assert [(r["name"], r["default"]) for r in rows] == [(DEMO, False), ("my-copy", True)]
    db = str(tmp_path / "a.db")
    assert _run("index", str(photo_folder), "--db", db, "--silent").exit_code == 0
    assert json.loads(_run("status", "--db", db, "--json").stdout)["bundle"] == str(home / "my-copy")
    for args, said in [(("models", "rm", DEMO), "ships with pocketclip"),
                       (("models", "default", "nope"), "no model named 'nope'; installed: demo-student, my-copy"),
                       (("models", "rm", "nope"), "no model named 'nope'"),
                       (("index", str(photo_folder), "--db", db, "--bundle", "nope"), "no model named 'nope'"),
                       (("search", "x", "--db", db, "--bundle", "nope"), "no model named 'nope'")]:
        result = _run(*args)
        assert result.exit_code == 1 and said in result.output, (args, result.output)
    assert _run("models", "rm", "my-copy").exit_code == 0 and not (home / "my-copy").exists()
    assert json.loads(_run("models", "list", "--json").stdout)[0]["default"]  # the demo model is the default again
    gone = _run("search", "x", "--db", db)
    assert gone.exit_code == 1 and "is gone and no model named 'my-copy' is installed" in gone.output


def test_registered_architectures_need_random_weights_and_say_so(tmp_path, tiny_config, photo_folder):
    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.models.towers.dual_encoder import DualEncoder

    refused = _run("export", "--model", "clip-vit-b32", "--out", str(tmp_path / "b"))
    assert refused.exit_code == 1 and "without trained weights" in refused.output and "--random-weights" in \
        refused.output
    assert not (tmp_path / "b").exists()
    model = DualEncoder(tiny_config).eval()
    model.random_weights = True  # what load_model marks a registered architecture with
    export_bundle(model, tmp_path / "random", ["onnx"], ["fp32"], gallery=20, captions=10)
    assert load_bundle(tmp_path / "random").random_weights
    db = str(tmp_path / "r.db")
    assert _run("index", str(photo_folder), "--db", db, "--bundle", str(tmp_path / "random"), "--silent").exit_code == 0
    searched = _run("search", "a dog", "--db", db)
    assert searched.exit_code == 0 and "RANDOM WEIGHTS" in searched.stderr
    assert json.loads(_run("status", "--db", db, "--json").stdout)["random_weights"] is True


@pytest.mark.parametrize("spec", ["../x", "a b", ".hidden", "x.partial"])
def test_model_names_are_checked(spec):
    from pocketclip.runtime.bundle.home import check_name
    from pocketclip.runtime.bundle.manifest import BundleError

    with pytest.raises(BundleError):
        check_name(spec)
