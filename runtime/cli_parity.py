"""`pocketclip parity`: a bundle, a phone's device report, a phone's store or your own photos,
against the golden contract. Torch-free."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("parity")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(exists=True, file_okay=False))
@click.option("--device-report", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON a phone's test wrote for the golden inputs (runtime/schemas/device-report.schema.json)")
@click.option("--photos", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="your own photos: rank agreement of every artifact with the fp32 reference")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="with --photos: one query per line (default: a built-in set)")
@click.option("--store", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="with --photos: a store a phone built of those photos, compared photo by photo")
@click.option("--bar", type=float, default=0.99, show_default=True, help="with --store: minimum cosine per photo")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def parity_command(bundle_path: str, device_report: Path | None, photos: Path | None, queries: Path | None,
                   store: Path | None, bar: float, as_json: bool) -> None:
    """Check a bundle's artifacts, a phone's output or a phone's store against the golden contract.

    Without options: every artifact this machine runs, plus tokenizer and preprocessing, on the
    golden inputs. Exits 1 when any bar is missed, naming the bar and by how much.

    Example: pocketclip parity demo-out/bundle --device-report pixel8.json
    """
    from runtime.bundle import BundleError, load_bundle
    from runtime.contracts import ContractError

    if (queries or store) and not photos:
        raise click.UsageError("--queries and --store go with --photos DIR")
    try:
        bundle = load_bundle(bundle_path)
        if device_report:
            result, passed = _device_parity(bundle, device_report)
        elif photos:
            result, passed = _photo_parity(bundle, photos, queries, store, bar)
        else:
            from runtime.parity import check_bundle, parity_table

            report = check_bundle(bundle)
            result, passed = (report.to_dict(), report.passed) if as_json else (parity_table(report), report.passed)
    except (BundleError, ContractError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2) if as_json or not isinstance(result, str) else result)
    if not passed:
        sys.exit(1)


def _device_parity(bundle, path: Path) -> tuple[list[dict], bool]:
    from runtime.device_report import check_device_report, load_device_report
    from runtime.golden import load_golden

    rows = check_device_report(bundle, load_device_report(path), load_golden(bundle))
    return rows, not any(r["missed"] for r in rows)


def _photo_parity(bundle, photos: Path, queries: Path | None, store: Path | None, bar: float) -> tuple[dict, bool]:
    from runtime.encoders import BundleEncoder
    from runtime.parity_photos import BUILT_IN_QUERIES, compare_store, decode_folder, rank_agreement

    fmt = "onnx" if any(a["format"] == "onnx" for a in bundle.artifacts) else "pte"
    reference = BundleEncoder(bundle, fmt, "fp32")
    if store:
        result = compare_store(store, photos, reference, bar)
        return result, result["passed"]
    texts = [line.strip() for line in queries.read_text().splitlines() if line.strip()] if queries \
        else list(BUILT_IN_QUERIES)
    paths, pixels = decode_folder(photos, bundle.preprocess)
    from runtime.quality import bar_for

    result = {"reference": f"{fmt} fp32", "artifacts": {}}
    passed = True
    for entry in bundle.artifacts:
        if entry["tower"] != "image" or entry["format"] not in ("onnx", "pte"):
            continue
        candidate = BundleEncoder(bundle, entry["format"], entry["precision"])
        row = rank_agreement(reference, candidate, paths, pixels, texts)
        wanted = bar_for(entry["precision"], "image")
        row["missed"] = [f"{name} {row[key]} < {wanted[bar_key]}" for name, key, bar_key in (
            ("image cosine", "image_cosine_min", "cosine_min"), ("top-10 overlap", "top10_overlap_mean",
                                                                 "top10_overlap_min")) if bar_key in wanted and row[key] < wanted[bar_key]]
        passed &= not row["missed"]
        result["artifacts"][f"{entry['format']}/{entry['precision']}"] = row
    return result, passed
