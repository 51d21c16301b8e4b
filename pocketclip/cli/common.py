"""What the CLI's commands share: the default store, shared options, library errors as one line,
the progress bar, and the PyTorch reference for `--backend torch`."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

def default_db() -> Path:
    """One photo library per user by default, like a phone's gallery (--db picks another), in the data home."""
    from pocketclip.runtime.bundle.home import data_home

    return data_home() / "index.db"


db_option = click.option("--db", "db_path", type=click.Path(path_type=Path), default=default_db,
                         show_default="$XDG_DATA_HOME/pocketclip/index.db", help="the SQLite store")
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON")
REAL_MODEL = "immich-app/ViT-B-32__openai"  # the model the notes suggest: OpenAI's CLIP ViT-B/32 as an ONNX pair


def bundle_option(help_text: str):
    return click.option("--bundle", "bundle", default=None, metavar="NAME|FOLDER", help=help_text)


def model_notes(bundle) -> None:
    """Say once, on stderr, what a user must know about the model that embeds their photos: the demo model only
    knows the demo world's coloured shapes; a random-weight export's results are noise."""
    if bundle.random_weights:
        click.echo(f"warning: {bundle.name} has RANDOM WEIGHTS (exported with --random-weights): its results are "
                   f"noise", err=True)
    elif bundle.trained_on == "demo-world":
        click.echo(f"note: {bundle.name} is the demo model: it knows coloured shapes, not real photos; for your own "
                   f"photos get a real one: pocketclip models pull {REAL_MODEL}", err=True)


def needs_torch(what: str) -> None:
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(f"{what} needs torch: pip install 'pocketclip[models]'") from exc


def torch_reference(manifest: dict, kind: str):
    """The PyTorch reference tower, for stores indexed with `--backend torch`: the runtime calls this
    only for that backend, so torch is imported only then."""
    needs_torch("the torch backend")
    from pocketclip.models.towers.reference_tower import TorchTower

    return TorchTower(manifest, kind)


@contextlib.contextmanager
def library_errors():
    """Turn the library's named errors into a one-line CLI error and a non-zero exit."""
    import sqlite3

    from pocketclip.runtime.bundle.contracts import ContractError
    from pocketclip.runtime.bundle.manifest import BundleError
    from pocketclip.runtime.indexing.decode import DecodeError
    from pocketclip.runtime.store import StoreError

    try:
        yield
    except (BundleError, ContractError, DecodeError, StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except sqlite3.Error as exc:  # e.g. "database or disk is full": the transaction rolled back, nothing is lost
        raise click.ClickException(f"the store failed: {exc}; nothing written in the failed batch was kept") from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None


def one_line(text: str) -> str:
    """Text on one output line: control characters (a newline in a file name) are escaped as in Python."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class ProgressBar:
    """Progress as a tqdm bar (rate and ETA) on stderr, only when it is a terminal; `skipping` lines
    go above the bar, each on its own line, so `grep '^skipping'` finds them all."""

    def __init__(self, silent: bool = False, desc: str = "indexing", unit: str = "photo", file=None, report=None):
        """`report`: an indexing run's live IndexReport, whose bytes_read the bar shows as MB/s."""
        from tqdm import tqdm

        self.report = report
        self.file = file or sys.stderr
        self.enabled = not silent and self.file.isatty()
        self.bar = tqdm(total=0, desc=desc, unit=unit, file=self.file, disable=not self.enabled)

    def progress(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.n = done
        if self.report is not None and self.enabled:  # the pipeline's read rate beside its photo rate
            elapsed = self.bar.format_dict["elapsed"] or 1e-9
            self.bar.set_postfix_str(f"{self.report.bytes_read / elapsed / 1e6:.1f} MB/s read", refresh=False)
        self.bar.refresh()

    def log(self, line: str) -> None:
        line = one_line(line)
        if self.enabled:
            self.bar.write(line, file=self.file)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        self.bar.close()


def export_quietly(export, *args, **kwargs) -> dict:
    """export_bundle(*args, **kwargs) with the libraries' chatter hidden and our own progress bar."""
    from pocketclip.runtime.bundle.quiet import dependency_output_hidden

    with dependency_output_hidden() as terminal:
        bar = ProgressBar(desc="exporting", unit="artifact", file=terminal)
        try:
            return export(*args, progress=bar.progress, **kwargs)
        finally:
            bar.close()
