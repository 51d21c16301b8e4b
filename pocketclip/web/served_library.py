"""The library behind `pocketclip serve`: opened once with its model and search index loaded at start-up,
shared by every request, swapped for a fresh index when an "index now" run ends.

Requests run in a thread pool; one lock keeps the store's connection and the encoder to one caller at
a time (a local page has one user, and searches take milliseconds).
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from pocketclip.runtime.bundle.encoders import ReferenceFactory
from pocketclip.runtime.library import Library, UnknownPhoto
from pocketclip.runtime.search.filters import Filters
from pocketclip.runtime.search.hits import Hit
from pocketclip.web.index_job import IndexJob
from pocketclip.web.photo_files import PhotoRow, ThumbnailCache, default_cache_folder, file_inside, photo_row

MAX_PHOTO_ID = 2**63 - 1  # SQLite's largest integer: a bigger id in a URL is simply unknown


class ServedLibrary:
    """One opened Library for every request: searches, photo rows, status, and the "index now" job."""

    def __init__(self, library: Library, reference: ReferenceFactory | None = None, cache_folder: Path | None = None):
        self.library, self.reference = library, reference
        self.lock = threading.Lock()
        # One cache folder per store, so pruning one library's thumbnails never touches another's.
        store_id = hashlib.sha256(os.fsencode(os.path.realpath(library.db_path))).hexdigest()[:16]
        self.thumbs = ThumbnailCache((cache_folder or default_cache_folder()) / store_id)
        self.job = IndexJob()
        with self.lock:
            self.prune_thumbnails()
            library.search_index()  # the vectors in memory now, not on the first query
            library.encoder.encode_texts(["warm up"])  # the runtime's first call allocates; pay it here

    def _timed(self, search) -> tuple[list[Hit], float]:
        with self.lock:
            start = time.perf_counter()
            hits = search(self.library)
            return hits, (time.perf_counter() - start) * 1000

    def search_text(self, query: str, k: int, relative: float | None, filters: Filters | None = None
                    ) -> tuple[list[Hit], float]:
        """A text query, with rclip's arithmetic (`beach + sunset - people`); photo paths in it are refused: a
        page must not make the server read its files. Filters alone list the newest photos they select."""
        return self._timed(lambda lib: lib.search_query(query, k, relative, paths=False, filters=filters))

    def similar(self, photo_id: int, k: int, relative: float | None, filters: Filters | None = None
                ) -> tuple[list[Hit], float]:
        if not 0 <= photo_id <= MAX_PHOTO_ID:
            raise UnknownPhoto(f"no indexed photo has id {photo_id}")
        return self._timed(lambda lib: lib.similar(photo_id, k, relative, filters))

    def search_image(self, data: bytes, k: int, relative: float | None, filters: Filters | None = None
                     ) -> tuple[list[Hit], float]:
        """Photos like an uploaded one: the CLI's image search (Library.search_image) on its bytes, decoded in
        memory by the runtime's guarded open; the upload never reaches a disk."""
        return self._timed(lambda lib: lib.search_image(data, k, relative, filters))

    def facet_values(self) -> dict:
        """What the page's filter controls offer (Facets.values)."""
        with self.lock:
            return self.library.facets().values()

    def hit_facts(self, hits: list[Hit]) -> dict[int, dict]:
        """The date taken, place and camera under each hit."""
        with self.lock:
            return self.library.hit_facts(hits)

    def duplicates(self, threshold: float | None) -> tuple[list, dict[int, str], float]:
        """Library.duplicates, timed: (groups, paths by id, milliseconds)."""
        with self.lock:
            start = time.perf_counter()
            groups, paths = self.library.duplicates(threshold)
            return groups, paths, (time.perf_counter() - start) * 1000

    def photo(self, photo_id: int) -> tuple[PhotoRow, Path] | None:
        """An indexed photo's row and real file, only while it is 'ok' and its file is inside the root."""
        if not 0 <= photo_id <= MAX_PHOTO_ID:
            return None
        with self.lock:
            row = photo_row(self.library.db, photo_id)
        if row is None:
            return None
        file = file_inside(self.library.root, row.path)
        return None if file is None else (row, file)

    def prune_thumbnails(self) -> int:
        """Thumbnails of photos no longer in the library (deleted, purged, failed) removed; the caller holds the lock."""
        return self.thumbs.prune({photo_id: "" for photo_id in self.library.db.ok_ids()})

    def status(self) -> dict:
        """`pocketclip status --json`'s report, with the model's name, the search mode and the index job."""
        with self.lock:
            report = self.library.status()
        report.update(model=self.library.bundle.manifest["model"].get("name"), mode=self.library.mode_used,
                      index_job=self.job.snapshot())
        return report

    def start_index(self) -> bool:
        """Run the incremental indexer on the library's root in the background (False if one is running).
        Searches see each batch it commits (Library.search_index reloads when the store's generation moves)."""
        served = self.library

        def run(progress, log):
            writer = Library.create(served.db_path, served.root, served.bundle, served.encoder.fmt,
                                    served.encoder.precision, reference=self.reference)
            try:
                report = writer.index(progress=progress, log=log)
            finally:
                with self.lock:  # closing the writer's lock descriptor must not race a search's read transaction
                    writer.close()
            # A new Library on the same connection and encoder: only its search index is loaded again.
            fresh = Library(served.db, served.db_path, served.root, served.encoder, served.mode, served.candidates)
            with self.lock:
                fresh.search_index()
                self.library = fresh
                self.prune_thumbnails()
            return report

        return self.job.start(run)
