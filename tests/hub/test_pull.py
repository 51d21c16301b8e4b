"""`pocketclip models pull` against a local hub: both layouts, resume, a flipped byte, no server, bad names."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests_support import BLOCK_TORCH

from click.testing import CliRunner

from pocketclip.cli import cli


def _run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_immich_layout_pulls_indexes_and_searches_without_torch(tmp_path, hub, home, photo_folder):
    """The base install's path: pull an Immich pair, index with the default model, search; torch blocked."""
    _, url = hub
    script = BLOCK_TORCH + textwrap.dedent(f"""
        import sys
        import json
        from click.testing import CliRunner
        from pocketclip.cli import cli
        run = lambda *a: CliRunner().invoke(cli, list(a))
        pulled = run("models", "pull", "immich-app/Tiny-CLIP@v1")
        assert pulled.exit_code == 0, pulled.output
        db = {str(tmp_path / "index.db")!r}
        indexed = run("index", {str(photo_folder)!r}, "--db", db, "--silent")
        assert indexed.exit_code == 0, indexed.output
        hits = json.loads(run("search", "two red circles on the left", "--db", db, "--json").stdout)
        models = json.loads(run("models", "list", "--json").stdout)
        demo = run("demo", "--out", {str(tmp_path / "demo")!r}, "--photos", "12", "-k", "2")
        assert demo.exit_code == 0, demo.output
        assert "torch" not in sys.modules
        print(json.dumps({{"pulled": pulled.output, "hits": len(hits), "models": models,
                          "demo": demo.output}}))
    """)
    env = {**os.environ, "HF_ENDPOINT": url}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "as model Tiny-CLIP" in result["pulled"] and "Tiny-CLIP is now the default model" in result["pulled"]
    assert result["hits"] == 10
    pulled = {m["name"]: m for m in result["models"]}["Tiny-CLIP"]
    assert pulled["default"] and pulled["formats"] == ["onnx/fp32", "onnx/int8"], pulled
    assert "parity (runtime path vs the fp32 reference)" in result["demo"]

    manifest = json.loads((home / "models" / "Tiny-CLIP" / "manifest.json").read_text())
    source, served = manifest["source"], hub[0].repos["immich-app/Tiny-CLIP"]
    assert source["revision"] == served.commit and source["layout"] == "immich"
    assert source["files"]["visual/model.onnx"] == served.files["visual/model.onnx"].sha256
    assert manifest["text"]["tokenizer"] == "hf-tokenizers"
    assert {a["precision"] for a in manifest["artifacts"]} == {"fp32", "int8"}
    assert all(a["l2_normalized"] is False for a in manifest["artifacts"])  # the runtime normalises them
    # the download cache is emptied once the bundle holds the files
    assert not list((home / "downloads").glob("models--*"))


def test_transformers_checkpoint_pulls_through_the_exporter(tmp_path, hub, home, photo_folder):
    _, url = hub
    pulled = _run("models", "pull", "openai/tiny-clip", "--formats", "onnx", "--precisions", "fp32",
                  env={"HF_ENDPOINT": url})
    assert pulled.exit_code == 0, pulled.output
    manifest = json.loads((home / "models" / "tiny-clip" / "manifest.json").read_text())
    assert manifest["source"]["layout"] == "transformers" and manifest["model"]["name"] == "tiny-clip"
    assert manifest["source"]["revision"] == hub[0].repos["openai/tiny-clip"].commit
    db = str(tmp_path / "index.db")
    indexed = _run("index", str(photo_folder), "--db", db, "--bundle", "tiny-clip", "--silent")
    assert indexed.exit_code == 0, indexed.output
    assert "embedded 24" in indexed.output
    hits = json.loads(_run("search", "a cat", "--db", db, "--json").stdout)
    assert len(hits) == 10


def test_a_cut_download_resumes_from_where_it_stopped(tmp_path, home):
    """huggingface_hub resumes a dropped transfer with a Range request; the file arrives whole."""
    from benchmarks.hub_server import Hub, HubServer
    from pocketclip.hub.download import download

    repo = tmp_path / "big"
    (repo / "visual").mkdir(parents=True)
    (repo / "textual").mkdir()
    (repo / "visual" / "model.onnx").write_bytes(os.urandom(24 << 20))  # above the library's 10 MB read chunk
    (repo / "textual" / "model.onnx").write_bytes(os.urandom(4096))
    served = Hub()
    served.add("someone/big", repo)
    served.cut["visual/model.onnx"] = 15 << 20
    with HubServer(served) as url:
        os.environ["HF_ENDPOINT"] = url
        try:
            pulled = download("someone/big", home / "downloads")
        finally:
            del os.environ["HF_ENDPOINT"]
    gets = [r for r in served.requests if r[0] == "GET" and r[1].endswith("visual/model.onnx")]
    assert len(gets) == 2 and gets[0][2] is None and gets[1][2].startswith("bytes=")
    assert int(gets[1][2][6:].rstrip("-")) >= 10 << 20  # it went on from the bytes it had, not from 0
    assert pulled.files["visual/model.onnx"] == served.repos["someone/big"].files["visual/model.onnx"].sha256


def test_a_flipped_byte_is_refused_and_fetched_anew_on_the_next_pull(hub, home):
    served, url = hub
    served.flip["visual/model.onnx"] = True
    refused = _run("models", "pull", "immich-app/Tiny-CLIP", env={"HF_ENDPOINT": url})
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-1].startswith("Error: visual/model.onnx: downloaded bytes hash to")
    assert not (home / "models" / "Tiny-CLIP").exists() and not list((home / "models").glob("*.partial"))
    served.flip.clear()
    served.requests.clear()
    pulled = _run("models", "pull", "immich-app/Tiny-CLIP", env={"HF_ENDPOINT": url})
    assert pulled.exit_code == 0, pulled.output
    assert any(m == "GET" and p.endswith("visual/model.onnx") for m, p, _ in served.requests)


def test_no_server_wrong_names_and_offline_are_one_line_errors(hub, home):
    _, url = hub
    cases = {
        ("immich-app/Tiny-CLIP", "http://127.0.0.1:9"): "could not download immich-app/Tiny-CLIP@main from",
        ("nobody/nothing", url): "no model nobody/nothing at",
        ("immich-app/Tiny-CLIP@v9", url): "has no revision 'v9'",
        ("a/b/c", url): "is not a repository id",
    }
    for (spec, endpoint), said in cases.items():
        result = _run("models", "pull", spec, env={"HF_ENDPOINT": endpoint})
        assert result.exit_code == 1 and said in result.output, (spec, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    offline = _run("models", "pull", "immich-app/Tiny-CLIP", env={"HF_ENDPOINT": url, "HF_HUB_OFFLINE": "1"})
    assert offline.exit_code == 1 and "HF_HUB_OFFLINE is set" in offline.output
    assert not (home / "models").exists() or not any((home / "models").iterdir())


def test_hostile_repositories_are_refused_in_one_line_and_leave_nothing(tmp_path, immich_repo, home):
    import shutil

    from benchmarks.hub_server import Hub, HubServer

    cases = {"textual/tokenizer.json": (b"{not json", "textual/tokenizer.json: not a usable tokenizer"),
             "visual/preprocess_cfg.json": (b'{"size": 100000, "mean": [0,0,0], "std": [1,1,1]}',
                                            "size 100000 is not a side"),
             "visual/model.onnx": (b"\0" * 4096, "visual/model.onnx: onnxruntime cannot load it"),
             "config.json": (b'{"text_cfg": {"context_length": -1}}', "context_length -1 is not a length")}
    served = Hub()
    for i, (rel, (content, _)) in enumerate(cases.items()):
        repo = shutil.copytree(immich_repo, tmp_path / f"r{i}")
        (repo / rel).write_bytes(content)
        served.add(f"bad/r{i}", repo)
    with HubServer(served) as url:
        for i, (rel, (_, said)) in enumerate(cases.items()):
            result = _run("models", "pull", f"bad/r{i}", env={"HF_ENDPOINT": url})
            assert result.exit_code == 1 and said in result.output, (rel, result.output)
            assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
        taken = _run("models", "pull", "bad/r0", "--name", "demo-student", env={"HF_ENDPOINT": url})
        assert taken.exit_code == 1 and "ships with pocketclip" in taken.output
    assert not (home / "models").exists() or not any((home / "models").iterdir())
