"""The Library API: one call per job, the store bound in one place, another model's bundle refused by name."""
import json

import pytest
from click.testing import CliRunner
from tests_support import tiny

from pocketclip.cli import cli
from pocketclip.runtime.library import Library, NotIndexed, UnknownPhoto, library_status
from pocketclip.runtime.store import ModelMismatch
from pocketclip.runtime.store import meta_keys as K


@pytest.fixture
def library(tmp_path, photo_folder, fp32_bundle):
    library = Library.create(tmp_path / "lib.db", photo_folder, fp32_bundle)
    done = []
    report = library.index(batch_size=8, progress=lambda n, total: done.append((n, total)))
    assert report.embedded == 24 and done[0] == (0, 24) and done[-1] == (24, 24)
    return library


def test_one_call_per_job(library, photo_folder):
    hits = library.search_text("two red circles on the left", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5] and all(library.file(h).is_file() for h in hits)
    assert len(library.search_text("a star")) == library.bundle.search["default_k"]
    first = library.search_image(photo_folder / "photo_001.jpg", k=3)[0]
    assert first.path == "photo_001.jpg" and first.score > 0.99
    same = library.similar(first.id, k=3)
    assert same[0].id == first.id and len(same) == 3
    status = library.status()
    assert (status["ok"], status["error"], status["fingerprint"]) == (24, 0, library.bundle.fingerprint)
    assert library_status(library.db_path) == status | {"model": "demo-student", "trained_on": "demo-world",
                                                        "bundle": str(library.bundle.root)}


def test_bad_queries_are_refused(library):
    for k in (0, -1):
        with pytest.raises(ValueError, match="k must be"):
            library.search_text("a star", k=k)
    with pytest.raises(ValueError, match="relative"):
        library.search_text("a star", relative=float("nan"))
    with pytest.raises(ValueError, match="empty"):
        library.search_text("   ")
    with pytest.raises(UnknownPhoto):
        library.similar(10_000)


def test_every_meta_key_written_is_a_contract_constant(library):
    assert set(library.db.meta()) <= set(K.ALL)
    assert {K.MODEL_FINGERPRINT, K.DIM, K.PREPROCESS_SHA256, K.ROOT, K.BUNDLE, K.BACKEND, K.PRECISION,
            K.PQ_CODEBOOKS_SHA256, K.SCHEMA_VERSION, K.GENERATION} == set(library.db.meta())


def test_open_reads_settings_from_the_store(library):
    reopened = Library.open(library.db_path)
    assert reopened.root == library.root and reopened.bundle.fingerprint == library.bundle.fingerprint
    assert [h.id for h in reopened.search_text("a star", k=4)] == [h.id for h in library.search_text("a star", k=4)]
    assert reopened.mode_used == "exact"  # 24 photos: below the manifest's exact_below_photos


def test_an_empty_store_is_not_a_library(tmp_path, fp32_bundle, photo_folder):
    Library.create(tmp_path / "new.db", photo_folder, fp32_bundle).close()
    (tmp_path / "bare.db").write_bytes((tmp_path / "new.db").read_bytes())
    from pocketclip.runtime.store import Store

    db = Store.open(tmp_path / "bare.db")
    db.execute("DELETE FROM meta WHERE key = ?", [K.BUNDLE])
    db.conn.commit()
    with pytest.raises(NotIndexed, match="pocketclip index"):
        Library.open(tmp_path / "bare.db")


def test_search_through_a_bundle_of_another_model_fails_by_name(tmp_path, photo_folder, fp32_bundle):
    import shutil

    from pocketclip.exporter.bundle_writer import export_bundle
    from pocketclip.models.towers.configs import ModelConfig
    from pocketclip.models.towers.dual_encoder import DualEncoder

    bundle = tmp_path / "bundle"
    shutil.copytree(fp32_bundle.root, bundle)
    db = str(tmp_path / "lib.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", str(photo_folder), "--bundle", str(bundle), "--db", db,
                               "--silent"]).exit_code == 0
    # The same bundle folder, re-exported for another model: search must not print nothing and exit 0.
    export_bundle(DualEncoder(ModelConfig.from_dict(tiny())).eval(), bundle, ["onnx"], ["fp32"], gallery=10,
                  captions=5)
    result = runner.invoke(cli, ["search", "a red star", "--db", db])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "holds vectors of model" in result.output and "--reindex" in result.output
    with pytest.raises(ModelMismatch):
        Library.open(db)
    assert json.loads(runner.invoke(cli, ["status", "--db", db, "--json"]).stdout)["ok"] == 24
