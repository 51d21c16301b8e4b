"""Binding a store to what indexes it (docs/conformance.md, R15-R17): the one way a store is bound.

A `Binding` is what a bundle brings to a store (model fingerprint, dim, preprocessing, precision,
codebooks) and where it runs (the library's root, the bundle's location, the backend): the desktop makes
one from a bundle (library.py), the conformance runner from a scenario's model, the phone cores from
their bundle and photo library.
"""
from __future__ import annotations

from dataclasses import dataclass

from pocketclip.runtime.bundle.codebooks import Codebooks
from pocketclip.runtime.store import Store, StoreError
from pocketclip.runtime.store import meta_keys as K


@dataclass(frozen=True)
class Binding:
    fingerprint: str
    dim: int
    preprocess_sha256: str
    precision: str
    books: Codebooks | None  # the bundle's PQ codebooks, None without
    books_sha256: str | None
    root: str  # meta `root`: the indexed folder, or the phone library's name
    bundle: str  # meta `bundle`: where the bundle is
    backend: str  # meta `backend`: onnx | pte | torch | mlpackage


def bind_store(store: Store, binding: Binding, reindex: bool = False) -> bool:
    """Bind the store (R15), record the run's meta (R16) and make every stored code one of the binding's
    codebooks (R17). ModelMismatch for another model, preprocessing, dim or precision unless `reindex`;
    StoreError for a store of another root. Returns whether the photos that failed before are to be tried
    again: the model, the bundle or the backend changed."""
    before = store.meta()
    if before.get(K.ROOT) and before[K.ROOT] != binding.root:
        raise StoreError(f"{store.path} indexes {before[K.ROOT]}; use another --db for {binding.root}")
    store.bind_model(binding.fingerprint, binding.dim, binding.preprocess_sha256, reindex, binding.precision)
    now_bound = {K.ROOT: binding.root, K.BUNDLE: binding.bundle, K.BACKEND: binding.backend}
    with store.atomic():
        store.set_meta(now_bound)
    store.bind_codebooks(binding.books, binding.books_sha256, binding.fingerprint)
    return any(before.get(key) not in (None, value) for key, value in now_bound.items()) or \
        before.get(K.MODEL_FINGERPRINT) not in (None, binding.fingerprint)
