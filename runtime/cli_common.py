"""What the CLI's commands share: the default store, shared options, opening a bundle's encoder."""
from __future__ import annotations

import os
from pathlib import Path

import click

# One photo library per user by default, like a phone's gallery; --db picks another.
DEFAULT_DB = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "pocketclip" / "index.db"
db_option = click.option("--db", "db_path", type=click.Path(path_type=Path), default=DEFAULT_DB,
                         show_default=True, help="the SQLite store")


def needs_torch(what: str):
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(f"{what} needs torch: pip install 'pocketclip[models]'") from exc


def open_encoder(bundle_path: str, backend: str, precision: str):
    from runtime.bundle import BundleError, load_bundle
    from runtime.encoders import BundleEncoder

    try:
        return BundleEncoder(load_bundle(bundle_path), backend, precision)
    except (BundleError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
