"""The indexing pipeline: every photo read once (hashed and decoded from the same bytes), and search seeing
each committed batch while the rest is still being read."""
from __future__ import annotations

import os

import pytest

import pocketclip.runtime.indexing.source as source_module
from pocketclip.runtime.bundle.encoders import BundleEncoder
from pocketclip.runtime.indexing.indexer import index_folder
from pocketclip.runtime.library import Library
from pocketclip.runtime.store import Store


@pytest.fixture
def encoder(fp32_bundle):
    return BundleEncoder(fp32_bundle, "onnx", "fp32")


def test_each_photo_is_read_once_and_kept_vectors_are_not_decoded(tmp_path, photo_folder, encoder, monkeypatch):
    reads, hashes, decodes = [], [], []
    real_read, real_hash, real_load = source_module.read_file, source_module.content_hash, source_module.load_photo
    monkeypatch.setattr(source_module, "read_file", lambda path: reads.append(path.name) or real_read(path))
    monkeypatch.setattr(source_module, "content_hash", lambda path: hashes.append(path.name) or real_hash(path))
    monkeypatch.setattr(source_module, "load_photo",
                        lambda *a, **k: decodes.append(k.get("name")) or real_load(*a, **k))
    db = Store.open(tmp_path / "index.db")
    db.bind_model(encoder.bundle.fingerprint, encoder.bundle.embed_dim, "x")
    photos = sorted(p for p in photo_folder.rglob("*.jpg"))
    first = index_folder(photo_folder, db, encoder, batch_size=8)
    assert first.embedded == 24 and sorted(reads) == sorted(p.name for p in photos) and not hashes
    assert len(decodes) == 24 and first.bytes_read == sum(p.stat().st_size for p in photos)
    assert set(first.timings) == {"read_and_decode", "encode", "write"}
    reads.clear(), decodes.clear()
    assert index_folder(photo_folder, db, encoder).unchanged == 24 and not reads  # unchanged: never opened
    os.utime(photos[5], ns=(1, 1))  # touched: read once to hash it, not decoded, vector kept
    photos[7].rename(photo_folder / "moved.jpg")  # moved: read once, not decoded, takes its row
    again = index_folder(photo_folder, db, encoder)
    assert (again.touched, again.moved, again.embedded) == (1, 1, 0)
    assert sorted(reads) == sorted([photos[5].name, "moved.jpg"]) and not decodes


def test_search_sees_each_committed_batch_while_indexing(tmp_path, photo_folder, fp32_bundle):
    library = Library.create(tmp_path / "index.db", photo_folder, fp32_bundle)
    reader = Library.open(tmp_path / "index.db")  # opened once, as the web page does
    seen = []

    def during(done: int, total: int) -> None:  # called after each batch is committed, before the next
        if 0 < done < total:
            seen.append((done, len(reader.search_text("a red star", k=100)), reader.status()["ok"]))

    library.index(batch_size=8, progress=during)
    library.close()
    assert seen == [(8, 8, 8), (16, 16, 16)]
    assert len(reader.search_text("a red star", k=100)) == 24  # and the last batch too
    reader.close()
