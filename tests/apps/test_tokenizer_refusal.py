"""A bundle records the tokenizer it needs; the phone cores implement CLIP BPE (clip-bpe) only and refuse any
other in one line, before reading its files. The Kotlin core runs here (android_demo/core/jvm-test.sh
--check-bundle); the Swift core has no toolchain on Linux, so its source is read for the same check in the same words.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JVM_TEST = ROOT / "android_demo" / "core" / "jvm-test.sh"
KOTLINC = ROOT / "android_demo" / ".tools" / "node_modules" / "kotlin-compiler" / "bin" / "kotlinc-jvm"
KOTLIN_MANIFEST = ROOT / "android_demo" / "core" / "src" / "main" / "kotlin" / "org" / "pocketclip" / "core" / \
    "Manifest.kt"
SWIFT_MANIFEST = ROOT / "ios_demo" / "Sources" / "PocketClipCore" / "Manifest.swift"
HUB_TEXT = {"tokenizer": "hf-tokenizers", "files": {"tokenizer": "tokenizer/tokenizer.json"}, "context_length": 64,
            "pad_id": 1}


def check_bundle(folder: Path) -> subprocess.CompletedProcess:
    if shutil.which("java") is None or not KOTLINC.exists():
        pytest.fail(f"the JVM tools are not installed: run {JVM_TEST} --install (`make test` does)")
    return subprocess.run([str(JVM_TEST), "--check-bundle", str(folder)], capture_output=True, text=True,
                          timeout=600, check=False)


def copy_for_text(bundle, out: Path) -> Path:
    """What loading a bundle's manifest and tokenizer reads: manifest.json and tokenizer/ (no artifacts)."""
    out.mkdir()
    shutil.copy(Path(bundle.root) / "manifest.json", out / "manifest.json")
    shutil.copytree(Path(bundle.root) / "tokenizer", out / "tokenizer")
    return out


def as_hub_pull(folder: Path) -> None:
    """Turn the copy's text section into a Hugging Face pull's: tokenizer/tokenizer.json, listed with its sha256,
    and no merges file on disk or in the manifest."""
    manifest = json.loads((folder / "manifest.json").read_text())
    merges = manifest["text"]["files"]["merges"]
    (folder / merges).unlink()
    del manifest["files"][merges]
    data = b'{"version": "1.0", "model": {"type": "BPE"}}'
    (folder / HUB_TEXT["files"]["tokenizer"]).write_bytes(data)
    manifest["files"][HUB_TEXT["files"]["tokenizer"]] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    manifest["text"] = HUB_TEXT
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_the_kotlin_core_refuses_a_hub_tokenizer_in_one_line(fp32_bundle, tmp_path):
    exported = check_bundle(copy_for_text(fp32_bundle, tmp_path / "exported"))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert exported.stdout.strip().endswith(f"tokenizer clip-bpe, {len(fp32_bundle.artifacts)} artifacts")

    hub = copy_for_text(fp32_bundle, tmp_path / "hub")
    as_hub_pull(hub)
    refused = check_bundle(hub)
    assert refused.returncode == 1 and refused.stdout == "", refused.stdout + refused.stderr
    one_line = (f'Error: bundle {hub}: needs the "hf-tokenizers" tokenizer; this app implements clip-bpe only '
                '(use a bundle exported by pocketclip export)')
    assert refused.stderr.splitlines() == [one_line]


def refusal_source(path: Path, load_end: str) -> tuple[list[str], str]:
    """The string literals of the file's checkTokenizer, interpolations written {} (Kotlin `$x` / `${x}`, Swift
    `\\(x)`), and the file's load function up to `load_end`."""
    source = path.read_text()
    body = re.search(r"^( *)[\w ]*\bfunc? checkTokenizer\(.*?\n\1\}\n", source,
                     flags=re.DOTALL | re.MULTILINE).group(0)
    literals = [re.sub(r"\$\{[^}]*\}|\$\w+|\\\((?:[^()]|\([^()]*\))*\)", "{}", text)
                for text in re.findall(r'"((?:[^"\\]|\\.)*)"', body)]
    load = source[re.search(r"\bfunc? load\(", source).start():source.index(load_end)]
    return literals, load


def test_the_swift_core_refuses_in_the_kotlin_core_words():
    kotlin, kotlin_load = refusal_source(KOTLIN_MANIFEST, "return Manifest(root, json)")
    swift, swift_load = refusal_source(SWIFT_MANIFEST, "JSONDecoder().decode(Manifest.self")
    assert swift == kotlin == ["tokenizer", "needs the {} tokenizer", "missing",
                               "names no tokenizer (text.tokenizer is {})",
                               "bundle {}: {}; this app implements {} only ",
                               "(use a bundle exported by pocketclip export)"]
    # Before the text section is parsed (Kotlin reads files.merges there, Swift decodes the whole manifest).
    assert "checkTokenizer(root, json.get(\"text\"))" in kotlin_load
    assert "try checkTokenizer(root: root, text: top[\"text\"])" in swift_load
    assert re.search(r'const val TOKENIZER = "clip-bpe"', KOTLIN_MANIFEST.read_text())
    assert re.search(r'static let tokenizer = "clip-bpe"', SWIFT_MANIFEST.read_text())
