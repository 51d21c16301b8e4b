"""Where image-caption pairs come from. Every source yields RawSamples in one fixed order, cut into
units (a tar shard, or a chunk of a listing) that ranks and loader workers share out.

Spelled on the command line and in recipes as
    shards:PATTERN   WebDataset tars as img2dataset writes them (KEY.jpg|png|webp + KEY.txt, optional
                     KEY.json), local paths with brace expansion: shards/{00000..00127}.tar
    karpathy:FILE    a Karpathy split file (dataset_coco.json, dataset_flickr30k.json) + an image folder
    csv:FILE, jsonl:FILE   rows of image,caption (image paths relative to the file or to the image folder)
    demo[:COUNT]     the procedural demo world, drawn on the fly
"""
from __future__ import annotations

import csv
import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from braceexpand import braceexpand
from PIL import Image

from pocketclip.models.data.demo_world import sample as demo_sample
from pocketclip.runtime.one_line import one_line

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")
ROWS_PER_UNIT = 1000  # listings (Karpathy, CSV, demo) are cut into units of this many images
KARPATHY_SPLITS = {"train": ("train", "restval"), "val": ("val",), "test": ("test",), "restval": ("restval",)}


class DataError(ValueError):
    """A data source that cannot be read as asked: the message says what to fix."""


@dataclass(frozen=True)
class RawSample:
    key: str  # unique in the data set: the teacher cache's key
    image_id: str  # samples with equal image_id show the very same picture (five captions of one image)
    group: str  # samples of one group count as matches in retrieval (a demo scene; else the image)
    image: bytes | Path | Image.Image | None  # None: the sample has no image
    caption: str | None  # None: the sample has no caption
    error: str | None = None  # set when the sample could not be read at all (a broken tar member)

    def group_id(self) -> int:
        """A stable integer for the group (the same in every process, unlike hash())."""
        return zlib.crc32(self.group.encode())


class Source(Protocol):
    spec: str

    def units(self) -> list[str]: ...

    def samples(self, unit: int) -> Iterator[RawSample]: ...

    def identity(self) -> str: ...


def _file_identity(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class ShardSource:
    def __init__(self, pattern: str):
        self.spec = f"shards:{pattern}"
        self.paths = [Path(p) for p in braceexpand(pattern)]
        missing = [p for p in self.paths if not p.is_file()]
        if missing:
            raise DataError(f"{len(missing)} of {len(self.paths)} shards not found, e.g. {missing[0]}")

    def units(self) -> list[str]:
        return [str(p) for p in self.paths]

    def identity(self) -> str:
        return _file_identity(self.paths)

    def samples(self, unit: int) -> Iterator[RawSample]:
        from webdataset.tariterators import tarfile_samples

        errors: list[str] = []

        def keep_going(exc: Exception) -> bool:
            errors.append(one_line(f"{type(exc).__name__}: {exc}", 200))
            return True

        path = self.paths[unit]
        for n, s in enumerate(tarfile_samples([{"url": str(path)}], handler=keep_going)):
            if errors:  # a broken stretch of the tar takes a slot of its own, so it is counted, not lost
                yield _broken(path, n, errors)
            key = s["__key__"]
            image = next((s[e] for e in IMAGE_EXTS if e in s), None)
            caption = s["txt"].decode("utf-8", "replace") if "txt" in s else None
            group = key
            if "json" in s:
                try:
                    group = str(json.loads(s["json"]).get("group", key))
                except (ValueError, AttributeError):
                    pass
            yield RawSample(key, key, group, image, caption)
        if errors:
            yield _broken(path, "end", errors)


def _broken(path: Path, where: int | str, errors: list[str]) -> RawSample:
    """One error sample for what webdataset reported at one place (its layers report a failure twice)."""
    key = f"{path.name}:error-{where}"
    reason = errors[0]
    errors.clear()
    return RawSample(key, key, "", None, None, reason)


@dataclass(frozen=True)
class _Row:
    image: str
    caption: str | None
    key: str


class _ListingSource:
    """Rows of (image file, caption) held as a list, cut into units of ROWS_PER_UNIT images."""

    def __init__(self, spec: str, listing: Path, images: Path, rows: list[_Row]):
        self.spec, self.listing, self.images, self.rows = spec, listing, images, rows
        starts, last = [], None
        for i, row in enumerate(rows):  # units never split the captions of one image
            if row.image != last and (not starts or i - starts[-1] >= ROWS_PER_UNIT):
                starts.append(i)
            last = row.image
        self.bounds = list(zip(starts, starts[1:] + [len(rows)]))

    def units(self) -> list[str]:
        return [f"{self.listing.name}[{a}:{b}]" for a, b in self.bounds]

    def identity(self) -> str:
        return _file_identity([self.listing]) + self.spec

    def samples(self, unit: int) -> Iterator[RawSample]:
        a, b = self.bounds[unit]
        for row in self.rows[a:b]:
            yield RawSample(row.key, row.image, row.image, self.images / row.image, row.caption)


def karpathy(path: Path, images: Path, split: str) -> _ListingSource:
    if split not in KARPATHY_SPLITS:
        raise DataError(f"split must be one of {sorted(KARPATHY_SPLITS)}, not {split!r}")
    try:
        entries = json.loads(path.read_text())["images"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a Karpathy split file ({type(exc).__name__}: {exc})") from None
    rows = []
    for e in entries:
        if e.get("split") not in KARPATHY_SPLITS[split]:
            continue
        name = f"{e['filepath']}/{e['filename']}" if e.get("filepath") else e["filename"]
        captions = [s.get("raw") for s in e.get("sentences", [])] or [None]
        rows += [_Row(name, c, f"{name}#{j}") for j, c in enumerate(captions)]
    if not rows:
        raise DataError(f"{path}: no images in split {split!r}")
    return _ListingSource(f"karpathy:{path}:{split}", path, images, rows)


IMAGE_COLUMNS, CAPTION_COLUMNS = ("image", "filepath", "file", "path"), ("caption", "title", "text")


def table(path: Path, images: Path | None) -> _ListingSource:
    """CSV (comma or tab separated) or JSONL rows with an image column and a caption column."""
    try:
        if path.suffix == ".jsonl":
            records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        else:
            text = path.read_text()
            records = list(csv.DictReader(text.splitlines(), dialect=csv.Sniffer().sniff(text[:4096], ",\t")))
    except (OSError, ValueError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read rows ({type(exc).__name__}: {exc})") from None
    if not records or not isinstance(records[0], dict):
        raise DataError(f"{path}: no rows")
    image_col = next((c for c in IMAGE_COLUMNS if c in records[0]), None)
    caption_col = next((c for c in CAPTION_COLUMNS if c in records[0]), None)
    if image_col is None or caption_col is None:
        raise DataError(f"{path}: needs an image column ({'|'.join(IMAGE_COLUMNS)}) and a caption column "
                        f"({'|'.join(CAPTION_COLUMNS)}); found {sorted(records[0])}")
    rows = [_Row(str(r[image_col]), (str(r[caption_col]) if r.get(caption_col) not in (None, "") else None),
                 f"{r[image_col]}#{i}") for i, r in enumerate(records)]
    return _ListingSource(f"table:{path}", path, images or path.parent, rows)


class DemoSource:
    """The demo world drawn on the fly: the same pictures and captions as models.demo_data."""

    def __init__(self, split: str = "train", count: int = 60000, seed: int = 0, size: int = 128):
        self.split, self.count, self.seed, self.size = split, count, seed, size
        self.spec = f"demo:{split}:{count}:s{seed}"

    def units(self) -> list[str]:
        return [f"demo-{self.split}[{a}:{min(a + ROWS_PER_UNIT, self.count)}]"
                for a in range(0, self.count, ROWS_PER_UNIT)]

    def identity(self) -> str:
        return f"{self.spec}:{self.size}"

    def samples(self, unit: int) -> Iterator[RawSample]:
        for i in range(unit * ROWS_PER_UNIT, min((unit + 1) * ROWS_PER_UNIT, self.count)):
            image, caption, scene = demo_sample(i, self.split, self.size, self.seed)
            yield RawSample(f"{self.split}-{i:08d}", f"{self.split}-{i:08d}", "|".join(map(str, scene.key())),
                            image, caption)


def open_source(spec: str, images: str | Path | None = None, split: str = "train") -> Source:
    """A source from its spelling (module docstring); `images` is the image folder of karpathy/csv."""
    kind, _, rest = spec.partition(":")
    if kind == "shards" and rest:
        return ShardSource(rest)
    if kind == "demo":
        return DemoSource(split, int(rest) if rest else (60000 if split == "train" else 1000))
    if kind in ("karpathy", "csv", "jsonl") and rest:
        path = Path(rest)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        if kind == "karpathy":
            if images is None or not Path(images).is_dir():
                raise DataError("karpathy: needs the image folder (--images DIR, or 'images' in the recipe)")
            return karpathy(path, Path(images), split)
        return table(path, Path(images) if images else None)
    raise DataError(f"data {spec!r}: use shards:PATTERN, karpathy:FILE, csv:FILE, jsonl:FILE or demo[:COUNT]")
