"""Reading bundles: malformed or newer manifests are refused with a clear reason."""
import json

import pytest

from pocketclip.runtime.bundle.manifest import BundleError, load_bundle, sha256_path


def test_missing_or_broken_manifest(tmp_path):
    with pytest.raises(BundleError, match="no manifest.json"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not a readable JSON"):
        load_bundle(tmp_path)


def test_newer_schema_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(BundleError, match="reads up to"):
        load_bundle(tmp_path)


def test_folder_hash_covers_names_and_contents(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.bin").write_bytes(b"123")
    first = sha256_path(tmp_path / "pkg")
    (tmp_path / "pkg" / "a.bin").rename(tmp_path / "pkg" / "b.bin")
    assert sha256_path(tmp_path / "pkg") != first
