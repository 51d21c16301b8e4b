"""The Library API: a photo folder, the store that indexes it and the bundle that embeds it, as one object.

The CLI, the benchmarks and the web page stand on this; a Python caller needs one call per job:

    lib = Library.create("index.db", "~/Pictures", "bundle/")   # bind store, root, model, codebooks
    lib.index(progress=lambda done, total: ...)
    Library.open("index.db").search_text("dog on a beach", k=10)

Everything that ties a store to a model (fingerprint, dim, preprocessing, codebooks, root, backend)
is bound here, in one place; a bundle of another model than the store's is refused by name.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.codebooks import Codebooks, bundle_codebooks
from pocketclip.runtime.bundle.encoders import BundleEncoder, ReferenceFactory
from pocketclip.runtime.bundle.home import remembered, resolve
from pocketclip.runtime.bundle.manifest import Bundle, BundleError, load_bundle
from pocketclip.runtime.indexing.binding import Binding, bind_store
from pocketclip.runtime.indexing.decode import load_photo
from pocketclip.runtime.indexing.indexer import IndexReport, Log, Progress, index_folder
from pocketclip.runtime.indexing.walk import stored_file
from pocketclip.runtime.search.duplicates import DUPLICATE_COSINE, DuplicateGroup, duplicate_groups
from pocketclip.runtime.search.filters import Facets, FilterError, Filters
from pocketclip.runtime.search.hits import Hit, SearchIndex, check_query, ranked_hits
from pocketclip.runtime.search.pq_index import open_index
from pocketclip.runtime.search.query import combine, parse_query
from pocketclip.runtime.store import ModelMismatch, Store, StoreError, lock_writer
from pocketclip.runtime.store import meta_keys as K


class NotIndexed(StoreError):
    """The store exists but holds no indexed library yet; run `pocketclip index` first."""


class UnknownPhoto(StoreError):
    """No photo with that id is in the library (never indexed, deleted, or failed to decode)."""


def _bundle(bundle: str | Path | Bundle | None) -> Bundle:
    """A loaded bundle, a folder, an installed model's name, or None: the default model."""
    return bundle if isinstance(bundle, Bundle) else load_bundle(resolve(bundle))


def bundle_binding(bundle: Bundle, root: str | Path, backend: str = "onnx", precision: str = "fp32",
                   books: Codebooks | None = None) -> Binding:
    """What binding a store to `bundle` records (books: the bundle's codebooks, loaded when not given)."""
    return Binding(bundle.fingerprint, bundle.embed_dim, bundle.preprocess_sha256, precision,
                   bundle_codebooks(bundle) if books is None else books, bundle.pq_sha256, str(root),
                   str(bundle.root.resolve()), backend)


class Library:
    """An indexed photo folder: search it, index it again, report on it."""

    def __init__(self, db: Store, db_path: Path, root: Path, encoder: BundleEncoder, mode: str = "auto",
                 candidates: int | None = None):
        self.db, self.db_path, self.root, self.encoder = db, db_path, root, encoder
        self.mode, self.candidates = mode, candidates
        self._index: SearchIndex | None = None
        self._facets: Facets | None = None  # the facts of the index's rows, loaded when a filter first needs them
        self._generation = -1  # the store generation the search index was loaded at
        self.mode_used: str | None = None
        self._lock: int | None = None  # the writer lock's descriptor, for libraries opened to index
        self.retry_errors = False  # set by create() when the bundle or backend changed since the last run
        self.books = None  # the bundle's codebooks, loaded once by create() for indexing

    @property
    def bundle(self) -> Bundle:
        return self.encoder.bundle

    @classmethod
    def create(cls, db_path: str | Path, root: str | Path, bundle: str | Path | Bundle | None = None, backend: str = "onnx",
               precision: str = "fp32", reindex: bool = False, reference: ReferenceFactory | None = None
               ) -> Library:
        """Open or create the store of `root` for indexing, bound to `bundle`'s model (None: the default model), preprocessing and
        codebooks. A store of another model is refused (ModelMismatch) unless `reindex`. Without `bundle`, a store
        keeps the model it was indexed with; a new one gets the default model."""
        if bundle is None:
            bundle = recorded_bundle(db_path)
        encoder = BundleEncoder(_bundle(bundle), backend, precision, reference=reference, spinning=False)
        books = bundle_codebooks(encoder.bundle)  # every file of the bundle is checked before the store is touched
        db_path, root = Path(db_path), Path(root).resolve()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_writer(db_path)  # before anything is written: one writer at a time
        db = None
        try:
            db = Store.open(db_path)
            retry = bind_store(db, bundle_binding(encoder.bundle, root, backend, precision, books), reindex)
        except BaseException:
            if db is not None:
                db.close()
            os.close(lock)
            raise
        library = cls(db, db_path, root, encoder)
        library._lock, library.books = lock, books
        library.retry_errors = retry  # photos that failed may decode with another bundle or backend
        return library

    @classmethod
    def open(cls, db_path: str | Path, bundle: str | Path | Bundle | None = None, backend: str | None = None,
             precision: str | None = None, mode: str = "auto", candidates: int | None = None,
             reference: ReferenceFactory | None = None) -> Library:
        """Open an indexed library read-only to search it, with the bundle it was indexed with (or
        `bundle`, which must be of the same model)."""
        db_path = Path(db_path)
        db = Store.open(db_path, readonly=True)
        meta = db.meta()
        if K.MODEL_FINGERPRINT not in meta or K.BUNDLE not in meta or K.ROOT not in meta:
            raise NotIndexed(f"{db_path} has no photos indexed yet; run `pocketclip index FOLDER`")
        try:
            b = _bundle(bundle if bundle is not None else remembered(meta[K.BUNDLE]))
        except BaseException:
            db.close()
            raise
        if b.fingerprint == meta[K.MODEL_FINGERPRINT] and b.preprocess_sha256 != meta.get(K.PREPROCESS_SHA256):
            db.close()
            raise ModelMismatch(f"{db_path} was indexed with another preprocessing than the bundle {b.root} states; "
                                f"run `pocketclip index {meta[K.ROOT]} --bundle {b.root} --reindex`")
        if b.fingerprint != meta[K.MODEL_FINGERPRINT]:
            db.close()
            raise ModelMismatch(f"{db_path} holds vectors of model {meta[K.MODEL_FINGERPRINT][:12]}, but the bundle "
                                f"{b.root} is model {b.fingerprint[:12]}; search with the bundle the store was "
                                f"indexed with, or run `pocketclip index {meta[K.ROOT]} --bundle {b.root} --reindex`")
        encoder = BundleEncoder(b, backend or meta.get(K.BACKEND, "onnx"), precision or meta.get(K.PRECISION, "fp32"),
                                reference=reference)
        return cls(db, db_path, Path(meta[K.ROOT]), encoder, mode, candidates)

    def index(self, batch_size: int = 32, workers: int | None = None, draft: bool = True,
              progress: Progress | None = None, log: Log | None = None, allow_empty: bool = False,
              retry_errors: bool = False, report: IndexReport | None = None) -> IndexReport:
        """Bring the store up to date with the folder: new, changed, moved and deleted photos. A root that is
        missing or empty while the store holds photos is refused unless `allow_empty`; photos that failed
        before are tried again with `retry_errors`, or when the bundle or backend changed."""
        if self._lock is None:
            raise StoreError(f"{self.db_path} was opened to search; open it with Library.create to index")
        report = index_folder(self.root, self.db, self.encoder, self.books, batch_size=batch_size,
                              workers=workers, draft=draft, progress=progress, log=log, allow_empty=allow_empty,
                              retry_errors=retry_errors or self.retry_errors, report=report)
        self.retry_errors = False
        self._index = None  # the next search sees the new vectors
        try:  # the memory-mappable copy searches start from; without it (read-only folder) they read the store
            self.db.write_copy(self.bundle.fingerprint)
        except OSError as exc:
            if log:
                log(f"no search copy beside {self.db_path}: {exc}")
        return report

    def search_index(self) -> SearchIndex:
        """The index searches run on (exact or PQ, by the bundle's settings), loaded on first use and again
        whenever the store's generation moved: a library opened to search (the web page) sees each batch an
        indexing run commits, while the run goes on."""
        generation = self.db.generation()
        if self._index is None or generation != self._generation:
            self.mode_used, self._index = open_index(self.db, self.bundle, self.mode, self.candidates)
            self._generation, self._facets = generation, None
        return self._index

    def facets(self) -> Facets:
        """The facts of the search index's rows, read once per store generation."""
        index = self.search_index()
        if self._facets is None:
            self._facets = Facets(self.db.facts_rows(np.asarray(index.ids)))
        return self._facets

    def selection(self, filters: Filters | None) -> np.ndarray | None:
        """The search index's rows the filters select (None: no filter), FilterError for a value no photo or
        place has."""
        if not filters:
            return None
        if filters.folder and os.path.isabs(os.path.expanduser(filters.folder)):  # a folder as the shell names it
            folder = Path(filters.folder).expanduser().resolve()
            if not folder.is_relative_to(self.root.resolve()):
                raise FilterError("{folder} {0}: not inside the library's folder {1}", filters.folder, str(self.root))
            filters = replace(filters, folder=folder.relative_to(self.root.resolve()).as_posix())
        return np.flatnonzero(self.facets().select(filters.checked()))

    def search_vector(self, vector: np.ndarray, k: int | None = None, relative: float | None = None,
                      filters: Filters | None = None) -> list[Hit]:
        k = self.bundle.search["default_k"] if k is None else k
        check_query(k, relative)
        rows = self.selection(filters)
        return self.search_index().top_k(vector, k, relative, rows)

    def browse(self, filters: Filters, k: int | None = None) -> list[Hit]:
        """No query, only filters: the photos they select, newest first (score None)."""
        k = self.bundle.search["default_k"] if k is None else k
        check_query(k, None)
        if not filters:
            raise ValueError("give a query, or at least one filter (a date, folder, place, camera or type)")
        rows = self.selection(filters)
        index = self.search_index()
        best = self.facets().newest_first(rows, k)
        return ranked_hits(index.ids, index.paths, best, [None] * len(best), None)

    def hit_facts(self, hits: list[Hit]) -> dict[int, dict]:
        """The date taken, place and camera of each hit's photo, by id (what a result shows under it)."""
        return self.db.photo_facts([h.id for h in hits])

    def search_text(self, query: str, k: int | None = None, relative: float | None = None,
                    filters: Filters | None = None) -> list[Hit]:
        if not query or not query.strip():
            raise ValueError("the query is empty; type what the photos show")
        return self.search_vector(self.encoder.encode_texts([query])[0], k, relative, filters)

    def search_query(self, query: str, k: int | None = None, relative: float | None = None, paths: bool = True,
                     filters: Filters | None = None) -> list[Hit]:
        """Search by a query in rclip's arithmetic (`2:beach + sunset - people + ./photo.jpg`, see
        search/query.py); a plain query is a text search. `paths` False refuses photo paths in the query. An
        empty query with filters lists what they select, newest first."""
        if filters and not (query or "").strip():
            return self.browse(filters, k)
        terms = parse_query(query, paths)
        texts = [t.text for t in terms if t.text is not None]
        by_text = dict(zip(texts, self.encoder.encode_texts(texts))) if texts else {}
        vectors = []
        for term in terms:
            if term.path is not None:
                pixels, _, _ = load_photo(term.path, self.bundle.preprocess)
                vectors.append(self.encoder.encode_pixels(pixels[None])[0])
            else:
                vectors.append(by_text[term.text])
        return self.search_vector(combine(terms, np.stack(vectors)), k, relative, filters)

    def duplicates(self, threshold: float | None = None) -> tuple[list[DuplicateGroup], dict[int, str]]:
        """Groups of exact copies and near-duplicates (stored vectors at least `threshold` apart in cosine; default:
        the bundle's `search.duplicate_cosine`, else DUPLICATE_COSINE), and the paths of their photos by id."""
        threshold = self.bundle.search.get("duplicate_cosine", DUPLICATE_COSINE) if threshold is None else threshold
        if not 0 < threshold <= 1 or threshold != threshold:
            raise ValueError(f"the duplicate threshold is a cosine in (0, 1], not {threshold}")
        arrays = self.db.search_arrays(self.bundle.fingerprint, with_codes=False)
        hashes = self.db.content_hashes()
        groups = duplicate_groups(arrays.ids, arrays.vectors, [hashes.get(int(i)) for i in arrays.ids], threshold)
        return groups, dict(zip(arrays.ids.tolist(), arrays.paths or []))

    def search_image(self, photo: str | Path | bytes, k: int | None = None, relative: float | None = None,
                     filters: Filters | None = None) -> list[Hit]:
        """Photos like `photo`: a photo file, or its encoded bytes (an upload; nothing is written to disk).
        It is not stored. DecodeError if it cannot be read."""
        pixels, _, _ = load_photo(photo if isinstance(photo, bytes) else Path(photo), self.bundle.preprocess)
        return self.search_vector(self.encoder.encode_pixels(pixels[None])[0], k, relative, filters)

    def similar(self, photo_id: int, k: int | None = None, relative: float | None = None,
                filters: Filters | None = None) -> list[Hit]:
        """Photos like the library's photo `photo_id` (itself first, unless the filters leave it out)."""
        vector = self.db.photo_vector(self.bundle.fingerprint, photo_id)
        if vector is None:
            raise UnknownPhoto(f"no indexed photo has id {photo_id}")
        return self.search_vector(vector, k, relative, filters)

    def file(self, hit: Hit) -> Path:
        """The photo's file: its stored path turned back into the exact bytes of its name."""
        return stored_file(self.root, hit.path)

    def status(self) -> dict:
        return self.db.status()

    def close(self) -> None:
        self.db.close()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def recorded_bundle(db_path: str | Path) -> Path | None:
    """The bundle the store at `db_path` was indexed with (None: no store, or none recorded yet)."""
    if not Path(db_path).exists():
        return None
    db = Store.open(db_path, readonly=True)
    try:
        recorded = db.meta().get(K.BUNDLE)
    finally:
        db.close()
    return remembered(recorded) if recorded else None


def library_status(db_path: str | Path) -> dict:
    """Store.status of the store at `db_path`, opened read-only (no bundle needed)."""
    db = Store.open(db_path, readonly=True)
    try:
        report = db.status()
        recorded = db.meta().get(K.BUNDLE)
    finally:
        db.close()
    if recorded:  # which model, and whether its results mean anything (read from its manifest; no files checked)
        try:
            bundle = load_bundle(remembered(recorded))
            report.update(model=bundle.name, bundle=str(bundle.root))
            if bundle.random_weights:
                report["random_weights"] = True
            if bundle.trained_on:
                report["trained_on"] = bundle.trained_on
        except BundleError as exc:
            report["bundle"] = f"unavailable: {exc}"
    return report
