"""The search filters as command-line options (runtime/search/filters.py holds their rules)."""
from __future__ import annotations

import click

from pocketclip.runtime.search.filters import Filters, FilterError

OPTIONS = [
    click.option("--after", metavar="DATE", help="taken on or after DATE: 2024, 2024-05, 2024-05-03"),
    click.option("--before", metavar="DATE", help="taken on or before DATE (the whole month for 2024-05)"),
    click.option("--in", "folder", metavar="FOLDER", help="in FOLDER (relative to the library's root) or below"),
    click.option("--near", metavar="PLACE|LAT,LON", help="taken near a place (\"Lisbon\") or a position"),
    click.option("--within", "within_km", type=float, metavar="KM", help="with --near: how far, in km (default 25)"),
    click.option("--place", metavar="NAME", help="taken in a city, region or country (\"Portugal\")"),
    click.option("--camera", metavar="TEXT", help="taken with a camera whose make or model holds TEXT (\"x-t5\")"),
    click.option("--type", "type_", metavar="FORMAT", help="file format: jpeg, png, heic, webp, avif, raw, ..."),
]


def filter_options(command):
    for option in reversed(OPTIONS):
        command = option(command)
    return command


def make_filters(limits: dict) -> Filters:
    """The options' values as checked Filters; a bad value is a usage error in one line."""
    try:
        return Filters(limits.pop("after"), limits.pop("before"), limits.pop("folder"), limits.pop("near"),
                       limits.pop("within_km"), limits.pop("place"), limits.pop("camera"), limits.pop("type_")).checked()
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
