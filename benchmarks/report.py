"""What every benchmark's command line ends with: its JSON printed, and written to --out when given."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def out_arguments(parser: argparse.ArgumentParser, bundle: bool = True) -> None:
    """--bundle (a model name or bundle folder) and --out (the JSON's file)."""
    if bundle:
        parser.add_argument("--bundle", default=None, help="model name or bundle folder (default: the demo model)")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here too (benchmarks/results/...)")


def emit(report: dict, out: Path | None) -> dict:
    text = json.dumps(report, indent=2)
    if out:
        out.write_text(text + "\n")
    print(text)
    return report
