"""`pocketclip conformance run`: the indexing scenarios (docs/conformance.md) on the reference runtime."""
from __future__ import annotations

import json
from pathlib import Path

import click

from pocketclip.cli.common import json_option


@click.group("conformance")
def conformance_command() -> None:
    """Check that indexing follows the contract every platform shares.

    Example: pocketclip conformance run
    """


@conformance_command.command("run")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@json_option
def run_command(folder: Path | None, as_json: bool) -> None:
    """Run the scenario files of FOLDER (default: the ones shipped with pocketclip); one line each.

    Example: pocketclip conformance run --json
    """
    from pocketclip.runtime.indexing.conformance import SCENARIOS, ScenarioError, results_json, run_folder

    try:
        results = run_folder(folder or SCENARIOS)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(results_json(results), indent=1))
    else:
        for result in results:
            click.echo(f"{'pass' if result.passed else 'FAIL'} {result.scenario} ({result.steps} steps)"
                       + (f": {result.difference}" if result.difference else ""))
        click.echo(f"{sum(r.passed for r in results)} passed, {sum(not r.passed for r in results)} failed")
    if not all(r.passed for r in results):
        raise SystemExit(1)
