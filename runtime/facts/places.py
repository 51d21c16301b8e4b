"""Offline places: a GPS position to the place it is in, and a place's name to its position. No network.

The places are `places.tsv.gz` (GeoNames' places of 1,000 people or more; places_writer.py says where it
comes from): city, first-level region, country, latitude, longitude, population. The rule every platform
follows (docs/contracts.md): a position resolves to the place whose unit vector has the largest dot
product with the position's (the nearest by great-circle distance), the first in file order on a tie,
and to no place when that one is farther than PLACE_RADIUS_KM. The Kotlin and Swift cores read the same
file by the same rule; the candidates are the places of the 1-degree cells around the position (a grid
written here because nothing in the base install offers a float64 nearest-neighbour search: faiss is
float32, which cannot tell apart places ~2 km from each other at these distances).
"""
from __future__ import annotations

import difflib
import gzip
import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

PLACES_FILE = Path(__file__).with_name("places.tsv.gz")
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
PLACE_RADIUS_KM = 100.0  # a position farther than this from every place resolves to none (open sea, wilderness)


@dataclass(frozen=True)
class Place:
    city: str
    region: str | None
    country: str
    latitude: float
    longitude: float
    population: int

    def label(self) -> str:
        return ", ".join(part for part in (self.city, self.region, self.country) if part)


def unit(latitude, longitude) -> np.ndarray:
    """Unit vectors (..., 3) of positions in degrees."""
    lat, lon = np.radians(latitude), np.radians(longitude)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def fold(name: str) -> str:
    """A name as places are looked up: case and accents folded, spaces collapsed ("São Paulo" = "sao paulo")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def distance_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (haversine) in km; numpy arrays broadcast."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


class Places:
    """The places file in memory: reverse (position -> place) and forward (name -> place) look-ups."""

    def __init__(self, path: Path = PLACES_FILE):
        lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        rows = [line.split("\t") for line in lines[1:]]
        self.city = [r[0] for r in rows]
        self.region = [r[1] or None for r in rows]
        self.country = [r[2] for r in rows]
        self.latitude = np.array([float(r[3]) for r in rows])
        self.longitude = np.array([float(r[4]) for r in rows])
        self.population = np.array([int(r[5]) for r in rows], dtype=np.int64)
        self.vectors = unit(self.latitude, self.longitude)
        cells = np.floor(self.latitude).astype(np.int64) * 1000 + np.floor(self.longitude).astype(np.int64)
        order = np.argsort(cells, kind="stable")
        starts = np.flatnonzero(np.r_[True, cells[order][1:] != cells[order][:-1]])
        self.cells = {int(cells[order[s]]): order[s:e] for s, e in zip(starts, np.r_[starts[1:], len(order)])}
        self.min_dot = math.cos(PLACE_RADIUS_KM / EARTH_RADIUS_KM)
        self._names: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.city)

    def place(self, i: int) -> Place:
        return Place(self.city[i], self.region[i], self.country[i], float(self.latitude[i]),
                     float(self.longitude[i]), int(self.population[i]))

    def _candidates(self, latitude: float, longitude: float) -> np.ndarray:
        """The places of the cells within PLACE_RADIUS_KM of the position (sorted by file order)."""
        row = math.floor(latitude)
        reach = PLACE_RADIUS_KM / (EARTH_RADIUS_KM * math.radians(1))  # degrees of latitude: < 1 cell
        polar = max(abs(latitude) + reach + 1, 0)
        wide = 181 if polar >= 89 else math.ceil(reach / math.cos(math.radians(polar))) + 1
        found = []
        for lat_cell in range(row - 1, row + 2):
            for offset in range(-min(wide, 180), min(wide, 180) + 1):
                lon_cell = (math.floor(longitude) + offset + 180) % 360 - 180
                hit = self.cells.get(lat_cell * 1000 + lon_cell)
                if hit is not None:
                    found.append(hit)
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def nearest(self, latitude: float, longitude: float) -> int | None:
        """The row of the place a position resolves to, or None (no place within PLACE_RADIUS_KM)."""
        candidates = self._candidates(latitude, longitude)
        if not len(candidates):
            return None
        dots = self.vectors[candidates] @ unit(latitude, longitude)
        best = int(np.argmax(dots))  # the first of equal dots: candidates are in file order
        return int(candidates[best]) if dots[best] >= self.min_dot else None

    def resolve(self, latitude: float, longitude: float) -> Place | None:
        found = self.nearest(latitude, longitude)
        return None if found is None else self.place(found)

    # -- names -> places ------------------------------------------------------------------------------------
    def names(self) -> dict[str, list[int]]:
        """Folded city names -> their rows, most populous first."""
        if self._names is None:
            names: dict[str, list[int]] = {}
            for i in np.argsort(-self.population, kind="stable"):
                names.setdefault(fold(self.city[i]), []).append(int(i))
            self._names = names
        return self._names

    def areas(self) -> dict[str, str]:
        """Folded region and country names -> the name as stored."""
        return {fold(name): name for name in {*self.country, *(r for r in self.region if r)}}

    def find(self, name: str) -> Place | None:
        """The most populous city of that name ("Lisbon"; "Springfield, Illinois" picks among the
        Springfields by region or country), or None."""
        city, _, within = (part.strip() for part in name.partition(","))
        rows = self.names().get(fold(city), [])
        if within:
            rows = [i for i in rows if fold(within) in (fold(self.region[i] or ""), fold(self.country[i]))]
        return self.place(rows[0]) if rows else None

    def closest_names(self, name: str, n: int = 3) -> list[str]:
        """Known names spelled most like `name` (for the error of an unknown place)."""
        key = fold(name)
        # difflib over 150k names takes seconds: names sharing the first letter are the candidates
        pool = {n for n in self.names() if n[:1] == key[:1]} | set(self.areas())
        return [self.place(self.names()[m][0]).city if m in self.names() else self.areas()[m]
                for m in difflib.get_close_matches(key, pool, n=n, cutoff=0.6)]


@lru_cache(maxsize=1)
def places() -> Places:
    """The shipped places, loaded once per process (~1 s)."""
    return Places()
