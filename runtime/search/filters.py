"""Filters that combine with any query: when, where, which folder, camera and file type (docs/search.md).

`Filters` holds what the user asked, checked once (a bad value is a one-line FilterError); `Facets` holds
the facts columns of a search index's rows in memory (numpy, loaded once per store generation) and turns
filters into the rows they select, exactly: a photo without GPS never matches a place, a photo whose facts
were never read never matches a date. Searches then score only those rows (exact on a small selection,
the PQ candidate scan masked on a large one: runtime/search/pq_index.py).
"""
from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, fields, replace

import numpy as np

from pocketclip.runtime.facts.photo_facts import FORMATS
from pocketclip.runtime.facts.places import Places, distance_km, fold
from pocketclip.runtime.facts.places import places as shipped_places

DEFAULT_WITHIN_KM = 25.0
MAX_WITHIN_KM = 20_038.0  # half the Earth's circumference: every place is within it
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?)?)?")
_POSITION = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*,\s*([+-]?\d+(?:\.\d+)?)\s*")
TYPE_ALIASES = {"jpg": "jpeg", "heif": "heic", "tif": "tiff", "dng": "raw"}


# How each filter is named where it is given: the CLI's options, the web API's parameters.
CLI_NAMES = {"after": "--after", "before": "--before", "folder": "--in", "near": "--near", "within_km": "--within",
             "place": "--place", "camera": "--camera", "type": "--type"}
PARAM_NAMES = {name: name for name in CLI_NAMES}


class FilterError(ValueError):
    """A filter value that cannot be used; the message is one line naming the option, as the CLI names it
    (str) or as the web API does (`message(PARAM_NAMES)`). `template` names options as {after}, {folder}, ...
    and takes the values shown in it as {0}, {1}, ... (so a value's braces are never read as a field)."""

    def __init__(self, template: str, *values: str):
        self.template, self.values = template, values
        super().__init__(self.message(CLI_NAMES))

    def message(self, names: dict[str, str]) -> str:
        return self.template.format(*self.values, **names)


def shown(text: str) -> str:
    """A value as an error message quotes it: repr (a newline stays on the line), at most 40 characters."""
    return repr(text if len(text) <= 40 else text[:40] + "...")


def date_bound(text: str, end: bool, option: str) -> np.datetime64:  # option: "after" or "before"
    """The first (or with `end`, the last) second of a date as precise as given: 2024, 2024-05, 2024-05-03,
    2024-05-03T14:30. Both ends of a range are inclusive: --after 2024-05 --before 2024-05 is May 2024."""
    found = _DATE.fullmatch(text.strip())
    if not found:
        raise FilterError(f"{{{option}}} {{0}}: not a date; give YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM",
                          shown(text))
    year, month, day, hour, minute, second = (None if g is None else int(g) for g in found.groups())
    try:
        if month is not None and not 1 <= month <= 12:
            raise ValueError(f"month {month}")
        last_day = calendar.monthrange(year, month or 12)[1]
        if day is not None and not 1 <= day <= last_day:
            raise ValueError(f"day {day}")
        if hour is not None and (hour > 23 or minute > 59 or (second or 0) > 59):
            raise ValueError("time")
    except ValueError as exc:
        raise FilterError(f"{{{option}}} {{0}}: no such date ({exc})", shown(text)) from None
    if not end:
        parts = (year, month or 1, day or 1, hour or 0, minute or 0, second or 0)
    else:
        parts = (year, month or 12, day or last_day, 23 if hour is None else hour, 59 if minute is None else minute,
                 59 if second is None else second)
    return np.datetime64("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*parts), "s")


@dataclass(frozen=True)
class Filters:
    """What a search is limited to; None: not limited by it."""
    after: str | None = None  # a date as date_bound reads it (inclusive)
    before: str | None = None  # (inclusive)
    folder: str | None = None  # relative to the library's root: "Trips" selects Trips/ and every folder below
    near: str | None = None  # a place's name ("Lisbon", "Springfield, Illinois") or "LAT,LON"
    within_km: float | None = None  # with `near` (default DEFAULT_WITHIN_KM)
    place: str | None = None  # a city, region or country as stored ("Lisbon", "Portugal")
    camera: str | None = None  # part of the camera's make and model ("x-t5", "iphone")
    type: str | None = None  # a format (FORMATS; jpg, heif, tif, dng accepted)

    def __bool__(self) -> bool:
        return any(isinstance(value, str) and value.strip() for value in
                   (getattr(self, f.name) for f in fields(self) if f.name != "within_km"))

    @classmethod
    def from_params(cls, params) -> Filters:
        """Filters from a mapping of strings (the web API's query parameters); blanks are not limits."""
        value = {f.name: (params.get(f.name) or "").strip() or None for f in fields(cls)}
        if value["within_km"] is not None:
            try:
                value["within_km"] = float(value["within_km"])
            except ValueError:
                raise FilterError("{within_km} {0}: not a number of km", shown(value["within_km"])) from None
        return cls(**value).checked()

    def checked(self) -> Filters:
        """These filters, with every value's form checked (FilterError otherwise); the folder normalised, blank
        values dropped (a blank is not a limit)."""
        blank = {f.name: None for f in fields(self) if isinstance(getattr(self, f.name), str)
                 and not getattr(self, f.name).strip()}
        if blank:
            return replace(self, **blank).checked()
        lower = date_bound(self.after, False, "after") if self.after else None
        upper = date_bound(self.before, True, "before") if self.before else None
        if lower is not None and upper is not None and lower > upper:
            raise FilterError("{after} {0} is later than {before} {1}", self.after, self.before)
        if self.within_km is not None:
            if not (math.isfinite(self.within_km) and 0 < self.within_km <= MAX_WITHIN_KM):
                raise FilterError(f"{{within_km}} {{0}}: a distance in km above 0 and at most {MAX_WITHIN_KM:,.0f}",
                                  f"{self.within_km:g}")
            if not self.near:
                raise FilterError("{within_km} needs a place: {near} PLACE or {near} LAT,LON")
        if self.type and TYPE_ALIASES.get(self.type.lower(), self.type.lower()) not in FORMATS:
            raise FilterError(f"{{type}} {{0}}: not a format; one of {', '.join(FORMATS)}", shown(self.type))
        folder = self.folder
        if folder is not None:
            folder = "/".join(part for part in folder.replace("\\", "/").split("/") if part not in ("", "."))
            if ".." in folder.split("/"):
                raise FilterError("{folder} {0}: a folder inside the library, relative to its root", shown(self.folder))
        return Filters(self.after, self.before, folder, self.near, self.within_km, self.place, self.camera, self.type)


def position(text: str, places: Places) -> tuple[float, float]:
    """`near`'s position: "LAT,LON" in degrees, or the most populous place of that name."""
    found = _POSITION.fullmatch(text)
    if found:
        lat, lon = float(found.group(1)), float(found.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise FilterError("{near} {0}: latitude -90..90 and longitude -180..180", shown(text))
        return lat, lon
    place = places.find(text)
    if place is None:
        close = places.closest_names(text)
        raise FilterError("{near} {0}: no place of that name{1}", shown(text), (f"; did you mean {', '.join(close)}?"
                                                                         if close else ""))
    return place.latitude, place.longitude


class Codes:
    """A text column dictionary-encoded: `codes[i]` indexes `names` (-1: NULL)."""

    def __init__(self, values: list[str | None]):
        self.names = sorted({v for v in values if v is not None})
        lookup = {name: i for i, name in enumerate(self.names)}
        self.codes = np.array([lookup.get(v, -1) if v is not None else -1 for v in values], dtype=np.int32)

    def where(self, keep) -> np.ndarray:
        """Rows whose value satisfies keep(name): one look-up per row in a table by code (NULL, -1, is the
        table's last entry, never chosen)."""
        table = np.zeros(len(self.names) + 1, dtype=bool)
        table[:-1] = [bool(keep(name)) for name in self.names]
        return table[self.codes]


class Facets:
    """The facts of a search index's rows (`rows` from Store.facts_rows, aligned to the index's ids)."""

    def __init__(self, rows: list[tuple]):
        # (path, taken_at, latitude, longitude, city, region, country, make, model, format), in index row order
        self.size = len(rows)
        columns = list(zip(*rows)) if rows else [()] * 10
        self.taken = np.array([t or "NaT" for t in columns[1]], dtype="datetime64[s]")
        self.latitude = np.array([np.nan if v is None else v for v in columns[2]], dtype=np.float64)
        self.longitude = np.array([np.nan if v is None else v for v in columns[3]], dtype=np.float64)
        self.folder = Codes([path.rpartition("/")[0] for path in columns[0]])
        self.city, self.region, self.country = Codes(list(columns[4])), Codes(list(columns[5])), Codes(list(columns[6]))
        self.camera = Codes([" ".join(p for p in (make, model) if p) or None for make, model in zip(columns[7], columns[8])])
        self.format = Codes(list(columns[9]))

    def select(self, filters: Filters, places: Places | None = None) -> np.ndarray:
        """The rows the filters select (a bool mask), or FilterError naming what is unknown."""
        keep = np.ones(self.size, dtype=bool)
        if filters.after:
            keep &= self.taken >= date_bound(filters.after, False, "after")  # NaT compares False
        if filters.before:
            keep &= self.taken <= date_bound(filters.before, True, "before")
        if filters.folder is not None and filters.folder != "":
            keep &= self._folder(filters.folder)
        if filters.place:
            keep &= self._place(filters.place, places)
        if filters.near:
            lat, lon = position(filters.near, places or shipped_places())
            keep &= self._near(lat, lon, filters.within_km or DEFAULT_WITHIN_KM)
        if filters.camera:
            wanted = fold(filters.camera)
            found = self.camera.where(lambda name: wanted in fold(name))
            if not found.any():
                known = ", ".join(self.camera.names[:6]) or "none: no photo says which camera took it"
                raise FilterError("{camera} {0}: no photo from such a camera; cameras: {1}", shown(filters.camera), known)
            keep &= found
        if filters.type:
            wanted = TYPE_ALIASES.get(filters.type.lower(), filters.type.lower())
            keep &= self.format.where(lambda name: name == wanted)
        return keep

    def _folder(self, folder: str) -> np.ndarray:
        found = self.folder.where(lambda name: name == folder or name.startswith(folder + "/"))
        if not found.any():
            tops = sorted({name.split("/")[0] for name in self.folder.names if name})
            raise FilterError("{folder} {0}: no photo in such a folder; folders: {1}", shown(folder),
                              ", ".join(tops[:8]) or "none")
        return found

    def _place(self, name: str, places: Places | None) -> np.ndarray:
        wanted = fold(name)
        found = np.zeros(self.size, dtype=bool)
        for column in (self.city, self.region, self.country):
            found |= column.where(lambda stored: fold(stored) == wanted)
        if found.any():
            return found
        places = places or shipped_places()
        if places.find(name) is not None or wanted in places.areas():
            return found  # a real place where no photo was taken: no photo, not an error
        stored = sorted({*self.city.names, *self.region.names, *self.country.names})
        close = [s for s in stored if wanted[:3] in fold(s)][:3] or places.closest_names(name)
        raise FilterError("{place} {0}: no such place{1}", shown(name), f"; did you mean {', '.join(close)}?" if close else "")

    def _near(self, lat: float, lon: float, within_km: float) -> np.ndarray:
        keep = np.abs(self.latitude - lat) <= within_km / 110.5 + 1e-9  # a box first: NaN compares False
        rows = np.flatnonzero(keep)
        keep[rows] = distance_km(lat, lon, self.latitude[rows], self.longitude[rows]) <= within_km
        return keep

    def values(self) -> dict:
        """What the filters can choose from: folders, places, cameras, formats, the range of dates taken."""
        dated = self.taken[~np.isnat(self.taken)]
        return {"folders": [f for f in self.folder.names if f], "cities": self.city.names, "regions": self.region.names,
                "countries": self.country.names, "cameras": self.camera.names, "types": self.format.names,
                "first_taken": str(dated.min()) if len(dated) else None,
                "last_taken": str(dated.max()) if len(dated) else None}

    def newest_first(self, rows: np.ndarray, k: int) -> np.ndarray:
        """The k rows of `rows` taken last, newest first (photos without a date last, then by row)."""
        key = self.taken[rows].astype(np.int64)
        key[np.isnat(self.taken[rows])] = np.iinfo(np.int64).min + 1
        order = np.lexsort((rows, -key))[:k]
        return rows[order]
