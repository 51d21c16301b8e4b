"""`pocketclip parity BUNDLE`: the full runtime path (files -> decode -> preprocess -> backend;
text -> tokenizer -> backend) of every artifact this machine can run, judged by the design's bars."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from pocketclip.runtime.bundle.backends import RUNNABLE_FORMATS, fixed_batch
from pocketclip.runtime.bundle.encoders import bundle_tokenizer, open_entry
from pocketclip.runtime.bundle.manifest import Bundle
from pocketclip.runtime.indexing.decode import load_photo
from pocketclip.runtime.parity.golden import Golden, load_golden
from pocketclip.runtime.parity.quality import bar_for, measure_tower, misses

PREPROCESS_BAR = 1 / 255  # max abs difference, in 0..1 pixel units (normalised difference x std)


@dataclass
class ArtifactParity:
    file: str
    tower: str
    precision: str
    measured: dict
    bar: dict
    missed: list[str] = field(default_factory=list)


@dataclass
class ParityReport:
    bundle: str
    tokenizer_identical: bool
    tokenizer_rows_differing: list[int]
    preprocess_max_abs: float
    artifacts: list[ArtifactParity]
    not_runnable: list[str]

    @property
    def passed(self) -> bool:
        return (self.tokenizer_identical and self.preprocess_max_abs <= PREPROCESS_BAR
                and not any(a.missed for a in self.artifacts))

    def to_dict(self) -> dict:
        return {"passed": self.passed, **asdict(self)}


def decode_golden_photos(bundle: Bundle, golden: Golden) -> np.ndarray:
    """The golden photo files decoded and preprocessed by this runtime, as a phone would."""
    return np.stack([load_photo(bundle.verified(f"golden/{name}"), bundle.preprocess)[0] for name in golden.images])


def check_bundle(bundle: Bundle) -> ParityReport:
    golden = load_golden(bundle)
    ids = bundle_tokenizer(bundle)(golden.texts)
    differing = [i for i, (a, b) in enumerate(zip(ids, golden.ids)) if not np.array_equal(a, b)]
    pixels = decode_golden_photos(bundle, golden)
    std = np.asarray(bundle.preprocess["std"], dtype=np.float32)[None, :, None, None]
    preprocess_diff = float((np.abs(pixels - golden.pixels) * std).max())
    results, not_runnable = [], []
    for entry in bundle.artifacts:
        if entry["format"] not in RUNNABLE_FORMATS:
            not_runnable.append(entry["file"])
            continue
        tower = open_entry(bundle, entry, threads=1)
        measured = measure_tower(tower, entry["tower"], golden, fixed_batch(entry), pixels=pixels, ids=ids)
        bar = bar_for(entry["precision"], entry["tower"])
        results.append(ArtifactParity(entry["file"], entry["tower"], entry["precision"], measured, bar,
                                      misses(measured, bar)))
    return ParityReport(str(bundle.root), not differing, differing, preprocess_diff, results, not_runnable)


def parity_table(report: ParityReport) -> str:
    lines = [f"{'artifact':<36} {'cosine min':>11} {'max abs':>9} {'top-10':>7} {'batch':>8}  result"]
    for a in report.artifacts:
        m = a.measured
        batch = f"{m['batch_vs_single_max_abs']:.0e}" if "batch_vs_single_max_abs" in m else "fixed"
        verdict = "ok" if not a.missed else "FAIL: " + "; ".join(a.missed)
        lines.append(f"{a.file:<36} {m['cosine_min']:>11.6f} {m['max_abs']:>9.1e} {m['top10_overlap']:>7.3f} "
                     f"{batch:>8}  {verdict}")
    lines.append(f"tokenizer: {'identical token ids' if report.tokenizer_identical else 'FAIL: rows ' + str(report.tokenizer_rows_differing) + ' differ'}")
    ok = report.preprocess_max_abs <= PREPROCESS_BAR
    lines.append(f"preprocessing: max abs {report.preprocess_max_abs:.2e} (bar {PREPROCESS_BAR:.2e}) "
                 f"{'ok' if ok else 'FAIL'}")
    if report.not_runnable:
        lines.append(f"not runnable here (checked on Mac/iOS): {', '.join(report.not_runnable)}")
    lines.append("PASS" if report.passed else "FAIL")
    return "\n".join(lines)
