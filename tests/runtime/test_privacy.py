"""Nothing leaves the machine: an index run and a search open no network connection and write nothing
under the user's home (onnxruntime's telemetry kept a device id there until it was switched off)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

POCKETCLIP = Path(sys.executable).with_name("pocketclip")
NETWORK_FAMILIES = ("AF_INET", "AF_INET6", "AF_NETLINK")


def run_traced(args, home: Path, trace: Path) -> subprocess.CompletedProcess:
    """Run pocketclip with an empty home, under strace when this machine has it (the Makefile installs it)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ORT_", "HF_", "TRANSFORMERS_", "XDG_")) and key != "DO_NOT_TRACK"}
    env["HOME"] = str(home)
    command = [str(POCKETCLIP), *map(str, args)]
    if shutil.which("strace"):
        command = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace), *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_index_and_search_stay_on_the_machine(tmp_path, fp32_bundle, photo_folder):
    if not shutil.which("strace"):
        pytest.fail("strace is not installed: run `make test`, which installs it")
    home = tmp_path / "home"
    home.mkdir()
    db = tmp_path / "store" / "index.db"
    indexed = run_traced(["index", photo_folder, "--bundle", fp32_bundle.root, "--db", db, "--silent"], home,
                         tmp_path / "index.trace")
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    searched = run_traced(["search", "a red star", "--db", db], home, tmp_path / "search.trace")
    assert searched.returncode == 0, searched.stderr[-2000:]
    for trace in ("index.trace", "search.trace"):
        calls = (tmp_path / trace).read_text().splitlines()
        outward = [c for c in calls if any(family in c for family in NETWORK_FAMILIES)]
        assert not outward, outward[:5]
    assert [p for p in home.rglob("*")] == [], "something was written under the user's home"


def test_importing_pocketclip_changes_no_environment_variable():
    """Privacy is applied where sessions and loads are made, not by importing the package: a program
    that merely imports pocketclip keeps its environment (HF_HUB_OFFLINE and the rest untouched)."""
    probe = ("import os, json; before = dict(os.environ); import pocketclip, pocketclip.cli, "
             "pocketclip.runtime.library, pocketclip.web.app; print(json.dumps(dict(os.environ) == before))")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ORT_", "HF_", "TRANSFORMERS_"))}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "true"


def test_onnx_sessions_are_made_with_telemetry_off(monkeypatch, fp32_bundle):
    from pocketclip.runtime.bundle.encoders import BundleEncoder

    monkeypatch.delenv("ORT_DISABLE_TELEMETRY", raising=False)
    BundleEncoder(fp32_bundle, "onnx", "fp32").encode_texts(["a red star"])
    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
