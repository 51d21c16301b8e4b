"""The `pocketclip` command: a thin layer over the Library API (pocketclip.runtime.library) and the
model and export libraries, one module per job.

Commands that need torch (training, evaluation, export, the demo) import it only when they run,
so the runtime's own commands work where torch is not installed.
"""
from __future__ import annotations

import sys

import click

from pocketclip.cli.conformance import conformance_command
from pocketclip.cli.demo import demo
from pocketclip.cli.export import export_command
from pocketclip.cli.library import duplicates_command, index_command, search_command, status_command
from pocketclip.cli.models import eval_command, train_command
from pocketclip.cli.models_group import models_group
from pocketclip.cli.parity import parity_command
from pocketclip.cli.serve import serve_command


@click.group()
@click.version_option(package_name="pocketclip")
def cli() -> None:
    """On-device text-to-image photo search.

    Example: pocketclip demo
    """


for command in (demo, index_command, search_command, duplicates_command, status_command, serve_command,
                parity_command, export_command, eval_command, train_command, models_group, conformance_command):
    cli.add_command(command)


if __name__ == "__main__":
    sys.exit(cli())
