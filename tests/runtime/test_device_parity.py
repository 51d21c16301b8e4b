"""A phone's outputs checked against the reference: device reports, phone-built stores, own photos."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from pocketclip.cli import cli
from pocketclip.runtime.bundle.contracts import ContractError
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.decode import load_photo
from pocketclip.runtime.indexing.indexer import index_folder
from pocketclip.runtime.parity.device_report import check_device_report, load_device_report
from pocketclip.runtime.parity.golden import load_golden
from pocketclip.runtime.store import Store, to_blob


def device_report(bundle, fmt="pte"):
    """What a phone running the fp32 artifacts writes: here the same artifacts, run by this runtime."""
    encoder = BundleEncoder(bundle, fmt, "fp32")
    golden = load_golden(bundle)
    return {
        "schema": "pocketclip-device-report/1", "device": "test-host", "runtime": f"{fmt} via pocketclip",
        "model_fingerprint": bundle.fingerprint,
        "artifacts": [
            {"file": encoder.image_entry["file"], "sha256": encoder.image_entry["sha256"], "tower": "image",
             "vectors": encoder.encode_pixels(golden.pixels).tolist(),
             "gallery_vectors": encoder.encode_pixels(golden.gallery_pixels).tolist(), "timings_ms": [1.0, 2.0]},
            {"file": encoder.text_entry["file"], "sha256": encoder.text_entry["sha256"], "tower": "text",
             "vectors": encoder.encode_ids(golden.ids).tolist()},
        ]}


def write(tmp_path, report, name="report.json"):
    path = tmp_path / name
    path.write_text(json.dumps(report))
    return path


def test_a_faithful_device_report_passes(fp32_bundle, tmp_path):
    path = write(tmp_path, device_report(fp32_bundle))
    result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--device-report", str(path)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["missed"] for r in rows] == [[], []] and rows[0]["measured"]["top10_overlap"] == 1.0


@pytest.mark.parametrize("change, reason", [
    (lambda r: r["artifacts"][0].update(sha256="0" * 64), "the phone ran another file"),
    (lambda r: r["artifacts"][1].update(vectors=[v[:-1] for v in r["artifacts"][1]["vectors"]]), "dim"),
    (lambda r: r["artifacts"][0]["vectors"][2].__setitem__(5, None), "not finite"),
    (lambda r: r.update(model_fingerprint="f" * 64), "vectors of model ffffffffffff"),
])
def test_bad_device_reports_are_refused_with_the_reason(fp32_bundle, tmp_path, change, reason):
    report = device_report(fp32_bundle)
    change(report)
    rows = check_device_report(fp32_bundle, load_device_report(write(tmp_path, report)), load_golden(fp32_bundle))
    assert any(reason in miss for row in rows for miss in row["missed"]), rows


def test_vectors_of_another_model_fail_on_cosine_even_when_labelled_right(fp32_bundle, tmp_path):
    report = device_report(fp32_bundle)
    rng = np.random.default_rng(0)
    for item in report["artifacts"]:
        noise = rng.normal(size=np.shape(item["vectors"]))
        item["vectors"] = (noise / np.linalg.norm(noise, axis=1, keepdims=True)).tolist()
    result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--device-report",
                                      str(write(tmp_path, report))])
    assert result.exit_code == 1 and "cosine" in result.stdout


def test_malformed_reports_get_a_clear_error_not_a_traceback(fp32_bundle, tmp_path):
    report = device_report(fp32_bundle)
    del report["artifacts"][0]["tower"]
    with pytest.raises(ContractError, match="artifacts/0: 'tower' is a required property"):
        load_device_report(write(tmp_path, report))
    (tmp_path / "junk.json").write_text("{nope")
    result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--device-report", str(tmp_path / "junk.json")])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "Traceback" not in result.output


def phone_store(path, folder, bundle, swap_channels=False):
    """A store as a phone would build it; `swap_channels` feeds BGR, the classic preprocessing bug."""
    encoder = BundleEncoder(bundle, "onnx", "fp32")
    db = Store.open(path)
    db.bind_model(bundle.fingerprint, bundle.manifest["model"]["embed_dim"], "phone")
    index_folder(folder, db, encoder, progress=False)
    if swap_channels:
        for row in list(db["photos"].rows_where("status = 'ok'")):
            pixels = load_photo(folder / row["path"], bundle.preprocess)[0][::-1].copy()
            db["embeddings"].update((row["id"], bundle.fingerprint),
                                    {"vector": to_blob(encoder.encode_pixels(pixels[None])[0])})
    return path


def test_a_phone_store_is_compared_photo_by_photo(fp32_bundle, photo_folder, tmp_path):
    good = phone_store(tmp_path / "good.db", photo_folder, fp32_bundle)
    args = ["parity", str(fp32_bundle.root), "--photos", str(photo_folder), "--store"]
    result = CliRunner().invoke(cli, args + [str(good)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["photos"] == 24 and report["cosine_min"] > 0.999 and report["below_bar"] == []
    bgr = phone_store(tmp_path / "bgr.db", photo_folder, fp32_bundle, swap_channels=True)
    result = CliRunner().invoke(cli, args + [str(bgr), "--bar", "0.999"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["below_bar_count"] > 0 and report["below_bar"][0]["cosine"] < 0.999


def test_a_phone_store_whose_facts_differ_fails_naming_photo_and_column(fp32_bundle, photo_folder, tmp_path):
    path = phone_store(tmp_path / "facts.db", photo_folder, fp32_bundle)
    db = Store.open(path)
    victim = sorted(db.photo_rows())[0]
    with db.atomic():  # a phone that reads the date in local time instead of the rule's UTC
        db.execute("UPDATE photos SET taken_at = '1999-01-01T00:00:00' WHERE path = ?", [victim])
    db.close()
    result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--photos", str(photo_folder), "--store",
                                      str(path)])
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["facts_checked"] and report["facts_differ_count"] == 1
    assert report["facts_differ"][0] | {"reference": None} == {"path": victim, "column": "taken_at",
                                                                "store": "1999-01-01T00:00:00", "reference": None}


def test_a_store_of_another_model_is_refused(fp32_bundle, photo_folder, tmp_path):
    db = Store.open(tmp_path / "other.db")
    db.bind_model("another", 128, "x")
    result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--photos", str(photo_folder), "--store",
                                      str(tmp_path / "other.db")])
    assert result.exit_code == 1 and "holds vectors of model" in result.output


def test_own_photos_rank_agreement(fp32_bundle, photo_folder, tmp_path):
    (tmp_path / "q.txt").write_text("a red star\n\ntwo blue squares\n")
    result = CliRunner().invoke(cli, ["parity", str(fp32_bundle.root), "--photos", str(photo_folder),
                                      "--queries", str(tmp_path / "q.txt")])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["artifacts"]
    assert set(rows) == {"onnx/fp32", "pte/fp32"}
    for row in rows.values():
        assert row["queries"] == 2 and row["photos"] == 24
        assert row["top10_overlap_mean"] == 1.0 and row["kendall_tau_mean"] > 0.9 and len(row["worst_photos"]) == 5
