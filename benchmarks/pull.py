"""`models pull`, measured: download throughput against a plain HTTP copy, the int8 variants' cost, the parity of a
pulled pair with onnxruntime run directly, and (with --install) the base install's size and time to a first search.

    python -m benchmarks.pull [--megabytes 600] [--link 100] [--install] [--out benchmarks/results/pull.json]

Throughput: a repository of `--megabytes` of ONNX-named bytes (2/3 image, 1/3 text) on the local hub
(benchmarks/hub_server.py), through a link of `--link` MB/s its connections share, and at loopback speed; the pull (huggingface_hub's download and our hash checks) against urllib copying the
same files from the same server, in one run, so the ratio holds on a noisy machine. The pull's time includes
checking every byte against the hub's sha256 (each file as soon as it is in); importing huggingface_hub, once
per command, is timed apart.
Parity: the demo student in Immich's layout, pulled; our runtime (tokenizer.json through HfTokenizer, the
runtime's ONNX towers, fp32 and int8) against onnxruntime sessions on the repository's own fp32 files fed the
same pixels and the tokenizer's own padded ids, on the golden gallery.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.hub_server import Hub, HubServer
from benchmarks.report import emit, out_arguments


def _fake_repo(folder: Path, megabytes: int) -> Path:
    (folder / "visual").mkdir(parents=True)
    (folder / "textual").mkdir()
    rng = np.random.default_rng(0)
    for rel, share in (("visual/model.onnx", 2 / 3), ("textual/model.onnx", 1 / 3)):
        with (folder / rel).open("wb") as f:
            left = int(megabytes * share * 1e6)
            while left > 0:
                block = rng.integers(0, 256, min(left, 16 << 20), dtype=np.uint8).tobytes()
                f.write(block)
                left -= len(block)
    (folder / "config.json").write_text("{}")
    return folder


def _transfer(hub: Hub, work: Path, names: list[str], tag: str) -> tuple[float, float]:
    """Seconds for the pull's download (hash checks included) and for urllib copying the same files."""
    from pocketclip.hub.download import download

    with HubServer(hub) as url:
        os.environ["HF_ENDPOINT"] = url
        start = time.perf_counter()
        download("bench/big", work / f"cache-{tag}")
        pulled_s = time.perf_counter() - start
        start = time.perf_counter()
        for name in names:
            with urllib.request.urlopen(f"{url}/bench/big/resolve/main/{name}") as answer, \
                    (work / "plain.bin").open("wb") as out:
                shutil.copyfileobj(answer, out, 1 << 20)
        plain_s = time.perf_counter() - start
    shutil.rmtree(work / f"cache-{tag}")
    return pulled_s, plain_s


def throughput(megabytes: int, work: Path, link_mb_s: float) -> dict:
    """On a link of `link_mb_s` (shared by the pull's parallel connections), and at loopback speed, where the
    client's own CPU cost is all that is measured (httpx, which huggingface_hub streams with, reads a local socket
    about 3x slower than urllib)."""
    start = time.perf_counter()
    import huggingface_hub  # noqa: F401 (imported once per pull; timed apart from the transfer)

    import_s = time.perf_counter() - start
    hub = Hub()
    repo = hub.add("bench/big", _fake_repo(work / "repo", megabytes))
    total = sum(f.size for f in repo.files.values())
    report = {"bytes": total, "import_huggingface_hub_s": round(import_s, 3), "goal_ratio_min": 0.8}
    for tag, rate in ((f"link_{link_mb_s:g}MBps", link_mb_s * 1e6), ("loopback", None)):
        hub.rate = rate
        pulled_s, plain_s = _transfer(hub, work, list(repo.files), tag)
        report[tag] = {"pull_s": round(pulled_s, 3), "plain_http_s": round(plain_s, 3),
                       "pull_mb_s": round(total / pulled_s / 1e6, 1), "plain_mb_s": round(total / plain_s / 1e6, 1),
                       "ratio": round(plain_s / pulled_s, 3)}
    return report


def _pulled(work: Path, int8: bool):
    from benchmarks.hub_repos import write_immich_repo
    from pocketclip.hub.download import download
    from pocketclip.hub.immich import immich_bundle
    from pocketclip.models.towers.checkpoint import load_model

    repo = work / "immich"
    if not repo.exists():
        write_immich_repo(load_model("demo-student"), repo)
    hub = Hub()
    hub.add("bench/tiny", repo)
    with HubServer(hub) as url:
        os.environ["HF_ENDPOINT"] = url
        pulled = download("bench/tiny", work / f"cache-{int8}")
    start = time.perf_counter()
    immich_bundle(pulled, work / f"bundle-{int8}", "tiny", int8=int8)
    return repo, work / f"bundle-{int8}", time.perf_counter() - start


def int8_and_parity(work: Path) -> dict:
    from tokenizers import Tokenizer

    from pocketclip.runtime.bundle.encoders import BundleEncoder
    from pocketclip.runtime.bundle.manifest import load_bundle
    from pocketclip.runtime.bundle.privacy import onnxruntime_offline
    from pocketclip.runtime.parity.golden import load_golden
    from pocketclip.runtime.parity.quality import cosines, top_k_overlap

    _, _, fp32_s = _pulled(work, int8=False)
    repo, folder, both_s = _pulled(work, int8=True)
    bundle = load_bundle(folder)
    golden = load_golden(bundle)
    texts = json.loads((folder / "golden" / "golden.json").read_text())["gallery_texts"]
    ort = onnxruntime_offline()
    sessions = {k: ort.InferenceSession(str(repo / f"{k}/model.onnx"), providers=["CPUExecutionProvider"])
                for k in ("visual", "textual")}
    tok = Tokenizer.from_file(str(repo / "textual" / "tokenizer.json"))  # as Immich's own ML service pads it
    tok.enable_padding(length=77, pad_id=0, pad_token="!")
    tok.enable_truncation(max_length=77)
    ids = np.array([e.ids for e in tok.encode_batch(texts)], dtype=np.int32)

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    ref_img = unit(sessions["visual"].run(None, {"image": golden.gallery_pixels})[0])
    ref_txt = unit(sessions["textual"].run(None, {"text": ids})[0])
    parity = {}
    for precision in ("fp32", "int8"):
        enc = BundleEncoder(bundle, "onnx", precision)
        img, txt = enc.encode_pixels(golden.gallery_pixels), enc.encode_texts(texts)
        parity[precision] = {"image_cosine_min": round(float(cosines(img, ref_img).min()), 6),
                             "text_cosine_min": round(float(cosines(txt, ref_txt).min()), 6),
                             "top10_overlap": round(top_k_overlap(txt, img, ref_txt, ref_img), 4),
                             "bytes": sum(a["bytes"] for a in bundle.artifacts if a["precision"] == precision)}
    return {"model": "demo-student in Immich's layout", "gallery": len(golden.gallery_pixels), "captions": len(texts),
            "bundle_fp32_only_s": round(fp32_s, 2), "bundle_with_int8_s": round(both_s, 2),
            "int8_make_and_validate_s": round(both_s - fp32_s, 2), "parity_vs_onnxruntime": parity}


def base_install(work: Path) -> dict:
    """A clean venv, `pip install .` from the package index, then `pocketclip demo`: size and seconds."""
    root = Path(__file__).resolve().parents[1]
    venv = work / "venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", str(root)], check=True)
    installed_s = time.perf_counter() - start
    demo = subprocess.run([venv / "bin" / "pocketclip", "demo", "--out", str(work / "demo"), "--photos", "50"],
                          check=True, capture_output=True, text=True, cwd=work)
    first_search_s = time.perf_counter() - start
    size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())
    torch_free = subprocess.run([venv / "bin" / "python", "-c", "import torch"], capture_output=True).returncode != 0
    return {"venv_bytes": size, "install_s": round(installed_s, 1), "clean_venv_to_first_demo_search_s":
            round(first_search_s, 1), "torch_installed": not torch_free, "demo_ok": "PASS" in demo.stdout}


def markdown(report: dict) -> str:
    """The lines docs/models.md quotes (tests/test_docs_numbers.py checks them against the JSON)."""
    t, pull = report["throughput"], report["immich_pull"]
    lines = ["| where | pull (hash checks included) | plain HTTP copy | ratio |", "|---|---|---|---|"]
    for key in (k for k in t if k.startswith(("link_", "loopback"))):
        where = f"a {key[5:-4]} MB/s link" if key.startswith("link_") else "loopback, no link limit"
        lines.append(f"| {where} | {t[key]['pull_mb_s']} MB/s | {t[key]['plain_mb_s']} MB/s | {t[key]['ratio']} |")
    lines += ["", f"Making and checking the int8 pair of {pull['model']}: {pull['int8_make_and_validate_s']} s "
                  f"(the whole bundle with it {pull['bundle_with_int8_s']} s, fp32 only {pull['bundle_fp32_only_s']} s).",
              "", "| precision | image cosine min | text cosine min | top-10 overlap | bytes |", "|---|---|---|---|---|"]
    for precision, row in pull["parity_vs_onnxruntime"].items():
        lines.append(f"| {precision} | {row['image_cosine_min']} | {row['text_cosine_min']} | {row['top10_overlap']} | "
                     f"{row['bytes']:,} |")
    if "base_install" in report:
        b = report["base_install"]
        lines += ["", f"The base install takes {b['venv_bytes'] / 1e6:.0f} MB on disk (the venv, no torch); from a "
                      f"clean venv to the first demo search: {b['clean_venv_to_first_demo_search_s']} s, of which "
                      f"{b['install_s']} s is `pip install .`."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=600)
    parser.add_argument("--link", type=float, default=100.0, help="MB/s of the simulated network link")
    parser.add_argument("--install", action="store_true", help="also time a clean base install (needs PyPI)")
    out_arguments(parser, bundle=False)
    args = parser.parse_args(argv)
    os.environ.pop("HF_HUB_OFFLINE", None)
    with tempfile.TemporaryDirectory() as tmp:
        report = {"cores": os.cpu_count(), "throughput": throughput(args.megabytes, Path(tmp), args.link),
                  "immich_pull": int8_and_parity(Path(tmp))}
        if args.install:
            report["base_install"] = base_install(Path(tmp))
    return emit(report, args.out)


if __name__ == "__main__":
    main()
