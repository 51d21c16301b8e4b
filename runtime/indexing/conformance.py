"""The reference's conformance runner: the scenario files of docs/conformance.md, run on this runtime.

A scenario is a virtual gallery (photo contents shipped beside the scenarios) and steps: gallery events,
one indexing run through the same code the desktop runs (binding.bind_store, indexer.index_library),
then the expected store. The encoder replays the reference's vector of each content (scenarios'
models.json), so the runner needs no bundle and checks indexing, not inference; the Kotlin and Swift
runners read the same files and do the same.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from pocketclip.runtime.bundle.codebooks import Codebooks, load_codebooks
from pocketclip.runtime.indexing.binding import Binding, bind_store
from pocketclip.runtime.indexing.decode import UNAVAILABLE, DecodeError, PhotoUnavailable, load_photo
from pocketclip.runtime.indexing.indexer import RootUnavailable, index_library
from pocketclip.runtime.facts.photo_facts import COLUMNS as FACT_COLUMNS
from pocketclip.runtime.indexing.source import Loaded, decode_if, hash_bytes, photo_facts
from pocketclip.runtime.indexing.walk import PhotoFile, Skipped
from pocketclip.runtime.store import ModelMismatch, Store
from pocketclip.runtime.store import meta_keys as K

SCENARIOS = Path(__file__).parent / "scenarios"
START = "2026-01-01T00:00:00+00:00"  # the scenarios' clock starts here
META_COMPARED = (K.SCHEMA_VERSION, K.MODEL_FINGERPRINT, K.DIM, K.PREPROCESS_SHA256, K.PRECISION, K.PQ_CODEBOOKS_SHA256,
                 K.ROOT, K.BUNDLE, K.BACKEND)
REPORT_COMPARED = ("embedded", "unchanged", "moved", "touched", "restored", "errors", "deleted", "skipped_errors",
                   "withheld", "purged", "facts_filled")
RUN_DEFAULTS = {"model": "demo", "codebooks": None, "backend": "onnx", "bundle": "bundle", "reindex": False,
                "allow_empty": False, "retry_errors": False, "batch_size": 4, "kill_after_batches": None}
EVENTS = {"add", "modify", "touch", "move", "delete", "unreadable", "readable", "cloud", "root_gone", "root_back",
          "partial_access", "full_access", "days", "crash_on", "forget_facts"}
LOCATION_TOLERANCE = 1e-9  # degrees: latitude and longitude are doubles computed by one formula everywhere


class ScenarioError(Exception):
    """A scenario file that cannot be run as written; the message names the file and the step."""


class Killed(BaseException):
    """The simulated death of the indexing process (a kill, or a decoder that crashes it)."""


@dataclass
class VirtualPhoto:
    content: str
    data: bytes
    mtime_ns: int
    readable: bool = True
    cloud: bool = False


@dataclass
class Gallery:
    """A photo library in memory, listed and read as a PhotoSource."""
    contents: dict[str, bytes]
    photos: dict[str, VirtualPhoto] = field(default_factory=dict)
    clock: datetime = field(default_factory=lambda: datetime.fromisoformat(START))
    ticks: int = 0
    gone: bool = False
    partial: bool = False
    crash: set[str] = field(default_factory=set)
    root: str = "gallery"
    forget_facts: bool = False  # the next run starts by emptying every row's facts (a store migrated from v1)

    def now(self) -> str:
        return self.clock.isoformat(timespec="seconds")

    def next_mtime(self) -> int:
        """A new modification time: the clock's second, plus a tick so that two changes never share one."""
        self.ticks += 1
        return int(self.clock.timestamp()) * 1_000_000_000 + self.ticks * 1_000_000

    def list(self, skipped: list[Skipped]) -> list[PhotoFile]:
        if self.gone:
            return []
        return [PhotoFile(path, Path(path), len(p.data), p.mtime_ns) for path, p in sorted(self.photos.items())]

    def root_problem(self, photos: list[PhotoFile], skipped: list[Skipped]) -> str | None:
        if self.gone:
            return "does not exist (not mounted?)"
        return None if photos else "holds no photo file"

    def _read(self, photo: PhotoFile) -> VirtualPhoto:
        found = self.photos.get(photo.path)
        if found is None:
            raise PhotoUnavailable(UNAVAILABLE + "the file vanished")
        if found.cloud:
            raise PhotoUnavailable(UNAVAILABLE + "only in the cloud")
        if not found.readable:
            raise PhotoUnavailable(UNAVAILABLE + "permission denied")
        return found

    def content_hash(self, photo: PhotoFile) -> str:
        return hash_bytes(self._read(photo).data)

    def decode(self, photo: PhotoFile, spec: Mapping, draft: bool) -> tuple[np.ndarray, int, int]:
        found = self._read(photo)
        if found.content in self.crash:
            raise Killed(f"decoding {photo.path} killed the process")
        return load_photo(found.data, spec, draft)

    def load(self, photo: PhotoFile, spec: Mapping, draft: bool, wanted, facts: bool = False) -> Loaded:
        try:
            found = self._read(photo)
        except DecodeError as exc:
            return Loaded(None, error=str(exc))
        return decode_if(hash_bytes(found.data), wanted, lambda: self.decode(photo, spec, draft), len(found.data),
                         photo_facts(photo, found.data), facts)


@dataclass
class Model:
    fingerprint: str
    dim: int
    preprocess_sha256: str
    preprocess: dict
    precision: str
    vectors: dict[str, list[float]]  # content hash -> the reference's vector


class Replay:
    """The encoder of a runner that cannot run the bundle: each content's reference vector, calls counted."""

    def __init__(self, model: Model, kill_after_batches: int | None):
        self.model, self.kill_after = model, kill_after_batches
        self.batches, self.embedded = 0, []

    def __call__(self, photos: list[tuple[str, str]], pixels: np.ndarray) -> np.ndarray:
        if self.kill_after is not None and self.batches >= self.kill_after:
            raise Killed("killed while a batch was being embedded")
        self.batches += 1
        missing = [path for path, digest in photos if digest not in self.model.vectors]
        if missing:
            raise ScenarioError(f"models.json has no vector for the content of {missing[0]}")
        self.embedded += [path for path, _ in photos]
        return np.array([self.model.vectors[digest] for _, digest in photos], dtype=np.float32)


@dataclass
class Difference:
    scenario: str
    step: int
    step_name: str
    what: str
    expected: object
    got: object

    def __str__(self) -> str:
        return (f"{self.scenario}: step {self.step} ({self.step_name}): {self.what}: expected {self.expected!r}, "
                f"got {self.got!r}")


@dataclass
class Shared:
    """What the scenarios of one folder share: contents, models, codebooks."""
    folder: Path
    contents: dict[str, bytes]
    models: dict[str, Model]
    codebooks: dict[str, tuple[Codebooks, str]]


def load_shared(folder: Path) -> Shared:
    try:
        index = json.loads((folder / "models.json").read_text())
        contents = {name: (folder / "contents" / file).read_bytes() for name, file in index["contents"].items()}
        models = {name: Model(**spec) for name, spec in index["models"].items()}
        books = {name: (load_codebooks(folder / "codebooks" / spec["file"]), spec["sha256"])
                 for name, spec in index["codebooks"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"{folder / 'models.json'}: not a scenario folder's index ({exc})") from None
    return Shared(folder, contents, models, books)


def scenario_files(folder: Path) -> list[Path]:
    files = sorted(path for path in folder.glob("*.json") if path.name != "models.json")
    if not files:
        raise ScenarioError(f"{folder}: no scenario files")
    return files


def run_scenario(path: Path, shared: Shared) -> tuple[list[dict], Difference | None]:
    """Run one scenario file; (what each step produced, the first difference from its expectation or None)."""
    try:
        scenario = json.loads(path.read_text())
        steps = scenario["steps"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"{path.name}: not a scenario ({exc})") from None
    gallery = Gallery(dict(shared.contents))
    produced = []
    with tempfile.TemporaryDirectory(prefix="pocketclip-conformance-") as tmp:
        db_path = Path(tmp) / "store.db"
        for number, step in enumerate(steps, 1):
            where = f"{path.name}: step {number}"
            try:
                for event in step.get("events", []):
                    apply_event(gallery, event, where)
                got = run_step(db_path, gallery, shared, {**RUN_DEFAULTS, **step.get("run", {})}, where)
            except (KeyError, TypeError, ValueError) as exc:
                raise ScenarioError(f"{where}: malformed ({type(exc).__name__}: {exc})") from None
            produced.append(got)
            if "expect" in step:
                difference = first_difference(step["expect"], got)
                if difference is not None:
                    what, expected, actual = difference
                    return produced, Difference(scenario.get("name", path.stem), number, step.get("name", ""), what,
                                                expected, actual)
    return produced, None


def apply_event(gallery: Gallery, event: dict, where: str) -> None:
    kinds = EVENTS & set(event)
    if len(kinds) != 1:
        raise ScenarioError(f"{where}: an event needs exactly one of {sorted(EVENTS)}, got {sorted(event)}")
    kind = kinds.pop()
    target = event[kind]
    if kind in ("add", "modify"):
        content = event["content"]
        if content not in gallery.contents:
            raise ScenarioError(f"{where}: unknown content {content!r}")
        gallery.photos[target] = VirtualPhoto(content, gallery.contents[content], gallery.next_mtime())
    elif kind == "touch":
        photo = gallery.photos[target]
        photo.mtime_ns += 1_000 if event.get("same_second") else 2_000_000_000
    elif kind == "move":
        gallery.photos[event["to"]] = gallery.photos.pop(target)
    elif kind == "delete":
        del gallery.photos[target]
    elif kind in ("unreadable", "readable"):
        gallery.photos[target].readable = kind == "readable"
    elif kind == "cloud":  # only in the cloud; {"cloud": PATH, "only": false}: back on the device
        gallery.photos[target].cloud = event.get("only", True)
    elif kind in ("root_gone", "root_back"):
        gallery.gone = kind == "root_gone"
    elif kind in ("partial_access", "full_access"):
        gallery.partial = kind == "partial_access"
    elif kind == "days":
        gallery.clock += timedelta(days=int(target))
    elif kind == "crash_on":
        gallery.crash.add(target)
    elif kind == "forget_facts":
        gallery.forget_facts = True


def run_step(db_path: Path, gallery: Gallery, shared: Shared, run: dict, where: str) -> dict:
    """One indexing run as an app would start it: bind the store, index, close; what the store then holds."""
    model = shared.models.get(run["model"])
    if model is None:
        raise ScenarioError(f"{where}: unknown model {run['model']!r}")
    books, books_sha = shared.codebooks[run["codebooks"]] if run["codebooks"] else (None, None)
    binding = Binding(model.fingerprint, model.dim, model.preprocess_sha256, model.precision, books, books_sha,
                      gallery.root, run["bundle"], run["backend"])
    replay = Replay(model, run["kill_after_batches"])
    store = Store.open(db_path)
    if gallery.forget_facts:  # as a store of schema version 1 is after its migration: no row has facts (R22)
        store.forget_facts()
        gallery.forget_facts = False
    generation = store.generation()
    outcome, report = "ok", None
    try:
        retry = bind_store(store, binding, run["reindex"])
        report = index_library(store, gallery, model.fingerprint, model.preprocess, replay, books,
                               batch_size=run["batch_size"], workers=1, allow_empty=run["allow_empty"],
                               retry_errors=run["retry_errors"] or retry, clock=gallery.now, prefetch=1)
    except Killed:
        outcome = "killed"
    except ModelMismatch:
        outcome = "ModelMismatch"
    except RootUnavailable:
        outcome = "RootUnavailable"
    finally:
        store.close()
    return snapshot(db_path, outcome, report, replay.embedded, generation)


def snapshot(db_path: Path, outcome: str, report, embedded: list[str], generation_before: int) -> dict:
    store = Store.open(db_path, readonly=True)
    try:
        with_vector = store.ids_with_vector(store.meta().get(K.MODEL_FINGERPRINT, ""))
        coded = store.ids_with_code()
        photos = [{"path": row["path"], "status": row["status"], "hash": row["content_hash"],
                   "vector": row["id"] in with_vector, "code": row["id"] in coded,
                   "error": None if row["error"] is None else
                   "environment" if row["error"].startswith(UNAVAILABLE) else "content",
                   "facts": {column: row[column] for column in FACT_COLUMNS}}
                  for row in sorted(store.photo_rows().values(), key=lambda r: r["path"])]
        meta = {key: value for key, value in store.meta().items() if key in META_COMPARED}
        changed = store.generation() != generation_before
    finally:
        store.close()
    counts = {key: getattr(report, key) for key in REPORT_COMPARED} if report is not None else None
    return {"outcome": outcome, "report": counts, "embedded": sorted(embedded), "photos": photos, "meta": meta,
            "generation_changed": changed}


def first_difference(expected: dict, got: dict) -> tuple[str, object, object] | None:
    """(what, expected, got) of the first thing that differs, in the order a reader checks a step."""
    for key in ("outcome", "report", "embedded"):
        if key in expected and expected[key] != got[key]:
            if key == "report" and expected[key] and got[key]:
                name = next(n for n in REPORT_COMPARED if expected[key].get(n) != got[key].get(n))
                return f"report {name}", expected[key].get(name), got[key].get(name)
            return key, expected[key], got[key]
    if "photos" in expected:
        want = {p["path"]: p for p in expected["photos"]}
        have = {p["path"]: p for p in got["photos"]}
        for path in sorted(set(want) | set(have)):
            if path not in have:
                return f"photo {path}", want[path], None
            if path not in want:
                return f"photo {path}", None, have[path]
            for column in ("status", "hash", "vector", "code", "error"):
                if want[path].get(column) != have[path].get(column):
                    return f"photo {path} {column}", want[path].get(column), have[path].get(column)
            for column in FACT_COLUMNS:
                wanted, got_value = (want[path].get("facts") or {}).get(column), (have[path].get("facts") or {}).get(column)
                if not same_fact(wanted, got_value):
                    return f"photo {path} {column}", wanted, got_value
    if "meta" in expected:
        for key in sorted(set(expected["meta"]) | set(got["meta"])):
            if expected["meta"].get(key) != got["meta"].get(key):
                return f"meta {key}", expected["meta"].get(key), got["meta"].get(key)
    if "generation_changed" in expected and expected["generation_changed"] != got["generation_changed"]:
        return "generation_changed", expected["generation_changed"], got["generation_changed"]
    return None


def same_fact(expected: object, got: object) -> bool:
    if isinstance(expected, float) and isinstance(got, float):
        return abs(expected - got) <= LOCATION_TOLERANCE
    return expected == got


@dataclass
class Result:
    scenario: str
    steps: int
    passed: bool
    difference: str | None = None


def run_folder(folder: Path = SCENARIOS) -> list[Result]:
    """Every scenario of a folder on the reference runtime."""
    folder = Path(folder)
    shared = load_shared(folder)
    results = []
    for path in scenario_files(folder):
        produced, difference = run_scenario(path, shared)
        results.append(Result(path.stem, len(produced), difference is None, None if difference is None else
                              str(difference)))
    return results


def results_json(results: list[Result]) -> dict:
    return {"runner": "reference", "passed": sum(r.passed for r in results),
            "failed": sum(not r.passed for r in results), "scenarios": [asdict(r) for r in results]}
