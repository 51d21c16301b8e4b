"""`pocketclip parity`: a bundle, a phone's device report, a phone's store or your own photos,
against the golden contract. Torch-free."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pocketclip.cli.common import json_option, library_errors


@click.command("parity")
@click.argument("bundle_path", metavar="NAME|FOLDER", required=False)
@click.option("--device-report", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON a phone's test wrote for the golden inputs (runtime/schemas/device-report.schema.json)")
@click.option("--photos", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="your own photos: rank agreement of every artifact with the fp32 reference")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="with --photos: one query per line (default: a built-in set)")
@click.option("--store", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="with --photos: a store a phone built of those photos, compared photo by photo")
@click.option("--bar", type=float, default=0.99, show_default=True, help="with --store: minimum cosine per photo")
@json_option
def parity_command(bundle_path: str | None, device_report: Path | None, photos: Path | None, queries: Path | None,
                   store: Path | None, bar: float, as_json: bool) -> None:
    """Check a model's artifacts (default: the default model's), a phone's output or a phone's store against the golden contract.

    Without options: every artifact this machine runs, plus tokenizer and preprocessing, on the
    golden inputs. Exits 1 when any bar is missed, naming the bar and by how much.

    Example: pocketclip parity demo-student --device-report pixel8.json
    """
    from pocketclip.runtime.bundle.home import resolve
    from pocketclip.runtime.bundle.manifest import load_bundle

    if (queries or store) and not photos:
        raise click.UsageError("--queries and --store go with --photos DIR")
    with library_errors():
        bundle = load_bundle(resolve(bundle_path))
        if device_report:
            from pocketclip.runtime.parity.device_report import check_device_file

            result, passed = check_device_file(bundle, device_report)
        elif photos:
            from pocketclip.runtime.parity.photo_parity import BUILT_IN_QUERIES, check_photos

            texts = [line.strip() for line in queries.read_text().splitlines() if line.strip()] if queries \
                else list(BUILT_IN_QUERIES)
            result = check_photos(bundle, photos, texts, store, bar)
            passed = result["passed"]
        else:
            from pocketclip.runtime.bundle.quiet import dependency_output_hidden
            from pocketclip.runtime.parity.bundle_parity import check_bundle, parity_table

            with dependency_output_hidden():  # ExecuTorch's runtime prints cpuinfo lines from C++ when it loads
                report = check_bundle(bundle)
            result, passed = (report.to_dict(), report.passed) if as_json else (parity_table(report), report.passed)
    click.echo(json.dumps(result, indent=2) if as_json or not isinstance(result, str) else result)
    if not passed:
        sys.exit(1)
