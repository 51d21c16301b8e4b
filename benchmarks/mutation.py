"""Mutation testing of the runtime's core: does a test fail when the code is wrong?

    python -m benchmarks.mutation [--module runtime/store/store.py ...] [--sample N --seed S]
                                  [--out benchmarks/results/mutation.json]
    python -m benchmarks.mutation --restore     # put back sources a killed run left mutated

One small change at a time (a comparison flipped or moved across its boundary, `and`/`or` swapped, `not`
dropped, a call statement removed, an integer constant moved by one, a bool flipped, a return value
dropped), written over the module's own file, then the module's tests (MODULES, below) run with `-x` and a
timeout; the file is always put back and its hash checked. A mutant the tests fail on is killed; one they
pass is a survivor, reported with file:line. Mutants that cannot change behaviour are listed in
benchmarks/mutation_equivalent.json with the reason, matched by file, source line and mutation (not by
line number, which drifts), and reported apart; they are not run.

Written by hand on the standard library's `ast` rather than with mutmut or cosmic-ray: those copy the
sources to a work folder and import them from there, which the `runtime/` -> `pocketclip.runtime`
package-dir mapping defeats (the tests would import the untouched installed package). Mutating in place
keeps the editable install's mapping; a mutant's file gets an mtime of its own and the tests write no
bytecode, so no stale bytecode of the original (same size, same second) is ever imported. The tests of each
mutant run in a child forked from a process with the third-party libraries imported (a second saved a mutant).
"""
from __future__ import annotations

import argparse
import importlib
import json
import random
import signal
import sys
from pathlib import Path

from benchmarks.mutants import WARM, Mutant, equivalent_reason, load_equivalents, mutants_of, restore, run_module

# The core's modules, grouped as the issue counts them, each with the smallest test files that cover it
# (none needs an exported bundle, so a mutant is judged in seconds).
SCENARIOS = "tests/runtime/test_conformance.py::test_every_shipped_scenario_passes_on_the_reference"
INDEXING = ["tests/runtime/test_indexing_rules.py", "tests/runtime/test_indexing_guards.py",
            "tests/runtime/test_indexing_failures.py"]
PHOTOS = ["tests/runtime/test_photo_reading.py", "tests/runtime/test_photo_walk.py"]
MODULES: dict[str, tuple[str, list[str]]] = {
    "runtime/store/store.py": ("store", ["tests/runtime/test_store_rules.py", "tests/runtime/test_store.py",
                                         "tests/runtime/test_search.py", SCENARIOS]),
    "runtime/store/schema.py": ("store", ["tests/runtime/test_store_rules.py", "tests/runtime/test_store.py"]),
    "runtime/indexing/indexer.py": ("indexing", [*INDEXING, SCENARIOS]),
    "runtime/search/hits.py": ("search", ["tests/runtime/test_search.py", "tests/runtime/test_pq_scan.py"]),
    "runtime/search/exact.py": ("search", ["tests/runtime/test_search.py"]),
    "runtime/search/pq.py": ("search", ["tests/runtime/test_pq_scan.py"]),
    "runtime/indexing/decode.py": ("photos", PHOTOS),
    "runtime/indexing/walk.py": ("photos", ["tests/runtime/test_photo_walk.py", "tests/runtime/test_photo_reading.py",
                                            *INDEXING]),
    "runtime/indexing/source.py": ("indexing", [*INDEXING, *PHOTOS]),
    "runtime/indexing/raw.py": ("photos", PHOTOS),
    "runtime/bundle/preprocess.py": ("photos", ["tests/runtime/test_preprocess.py", *PHOTOS]),
}


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _named(file: str, survivors: list[dict]) -> list[Mutant]:
    """The mutants a report's survivors name (by source line, mutation and occurrence; the nearest line wins)."""
    everything, out = mutants_of(file), []
    for survivor in survivors:
        line = int(survivor["where"].rsplit(":", 1)[1])
        candidates = [m for m in everything if (m.context, m.mutation) == (survivor["context"], survivor["mutation"])
                      and m.occurrence == survivor.get("occurrence", m.occurrence)]
        nearest = sorted(candidates, key=lambda m: abs(m.line - line))
        out += [m for m in nearest if m.line == nearest[0].line] if nearest else []
    return sorted(set(out), key=lambda m: m.site)


def summary(modules: dict) -> dict:
    keys = ("run", "killed", "survived", "timed_out", "not_compiled", "equivalent")
    groups: dict[str, dict] = {}
    for result in modules.values():
        into = groups.setdefault(result["group"], dict.fromkeys(keys, 0))
        for key in keys:
            into[key] += result[key]
    for into in groups.values():
        into["score"] = round((into["killed"] + into["timed_out"]) / into["run"], 4) if into["run"] else None
    return groups


def markdown(report: dict) -> str:
    """The per-module and per-group table of a report, and its survivors (for an issue's closing note)."""
    keys = ("run", "killed", "survived", "timed_out", "equivalent", "not_compiled", "score")
    lines = ["| module | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    rows = [(file, m) for file, m in report["modules"].items()] + \
        [(f"**{group}**", g) for group, g in report["groups"].items()]
    lines += [f"| {name} | " + " | ".join(str(m[key]) for key in keys) + " |" for name, m in rows]
    survivors = [f"- {s['where']} {s['mutation']}" for m in report["modules"].values() for s in m["survivors"]]
    return "\n".join(lines + ["", "Survivors:" if survivors else "No survivors."] + survivors) + "\n"


def judge_survivors_again(report: dict, files: list[str], equivalents: list[dict], log) -> dict:
    """Run a finished report's survivors again with the tests as they are now and fold the outcome into each
    module's counts. Tests added since can only kill more, so the killed stay killed; a survivor recorded without
    its occurrence runs with its twins on the line (killed before, so any that survives now is the survivor)."""
    for file in files:
        old = report["modules"][file]
        named = _named(file, old["survivors"])
        group, tests = MODULES[file]
        again = run_module(file, group, tests, None, random.Random(0), equivalents, log, only=named)
        detected = len(old["survivors"]) - len(again["survivors"]) - again["equivalent"] - again["not_compiled"]
        timed_out = min(again["timed_out"], detected)
        old["killed"] += detected - timed_out
        old["timed_out"] += timed_out
        for key in ("equivalent", "not_compiled"):
            old[key] += again[key]
        old["equivalents"] += again["equivalents"]
        old["run"] -= again["equivalent"] + again["not_compiled"]
        old["survived"] = len(again["survivors"])
        old["survivors"] = again["survivors"]
        old["survivors_judged_again"] = {"commit": again["commit"], "survivors": len(named), "detected": detected,
                                         "wall_s": again["wall_s"]}
        old["wall_s"] += again["wall_s"]
        old["score"] = round((old["killed"] + old["timed_out"]) / old["run"], 4) if old["run"] else None
    report["groups"] = summary(report["modules"])
    report["wall_s"] = sum(m["wall_s"] for m in report["modules"].values())
    return report


def reclassify(report: dict, equivalents: list[dict]) -> dict:
    """Survivors of a finished run that the equivalents list now names move to the module's equivalents (what a
    new run would report: it skips them); each module counts how many moved ("reclassified")."""
    for file, result in report["modules"].items():
        kept = []
        for survivor in result["survivors"]:
            line = int(survivor["where"].rsplit(":", 1)[1])
            candidates = [m for m in mutants_of(file) if (m.context, m.mutation) == (survivor["context"],
                                                                                     survivor["mutation"])]
            if "occurrence" in survivor:
                candidates = [m for m in candidates if m.occurrence == survivor["occurrence"]]
            mutant = min(candidates, key=lambda m: abs(m.line - line), default=None)
            reason = None
            if mutant is not None and len({m.occurrence for m in candidates if m.line == mutant.line}) == 1:
                reason = equivalent_reason(mutant, equivalents)
            elif mutant is not None:  # the same mutation twice on the line: equivalent only if every occurrence is
                reasons = {equivalent_reason(m, equivalents) for m in candidates if m.line == mutant.line}
                reason = reasons.pop() if len(reasons) == 1 else None
            if reason is None:
                kept.append(survivor)
                continue
            result["equivalents"].append({"where": survivor["where"], "mutation": survivor["mutation"], "reason": reason})
            result["equivalent"] += 1
            result["run"] -= 1
            result["survived"] -= 1
            result["reclassified"] = result.get("reclassified", 0) + 1
        result["survivors"] = kept
        detected = result["killed"] + result["timed_out"]
        result["score"] = round(detected / result["run"], 4) if result["run"] else None
    report["groups"] = summary(report["modules"])
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="repeatable; default: all")
    parser.add_argument("--sample", type=int, help="this many mutants of each module, drawn at random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tests", nargs="+", help="run these tests instead of the module's own (MODULES)")
    parser.add_argument("--out", type=Path, help="the JSON report (default: print it)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other modules of an existing --out report (a full run done module by module)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--reclassify", type=Path, metavar="REPORT",
                        help="move a report's survivors that the equivalents list now names to its equivalents")
    parser.add_argument("--survivors-of", type=Path, metavar="REPORT",
                        help="run the survivors of a report again (its --module ones, or all) and update it")
    parser.add_argument("--table", type=Path, metavar="REPORT", help="print a report's tables as markdown, run nothing")
    parser.add_argument("--restore", action="store_true", help="put back files a killed run left mutated")
    parser.add_argument("--quiet", action="store_true", help="no line per mutant on stderr")
    args = parser.parse_args(argv)
    if args.restore:
        restore()
        return 0
    if args.reclassify:
        report = reclassify(json.loads(args.reclassify.read_text()), load_equivalents())
        args.reclassify.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        return 0
    if args.table:
        sys.stdout.write(markdown(json.loads(args.table.read_text())))
        return 0
    files = args.module or list(MODULES)
    if args.list:
        for file in files:
            for mutant in mutants_of(file):
                print(json.dumps({"where": mutant.where, "file": file, "context": mutant.context,
                                  "mutation": mutant.mutation, "occurrence": mutant.occurrence}, ensure_ascii=False))
        return 0
    signal.signal(signal.SIGTERM, _interrupted)
    for name in WARM:  # once, here: every forked test run starts with them imported
        importlib.import_module(name)
    if args.survivors_of:
        report = json.loads(args.survivors_of.read_text())
        log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        report = judge_survivors_again(report, args.module or list(report["modules"]), load_equivalents(), log)
        args.survivors_of.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        return 0
    log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    rng, equivalents = random.Random(args.seed), load_equivalents()
    modules = {}
    for file in files:
        group, tests = MODULES[file]
        modules[file] = run_module(file, group, args.tests or tests, args.sample, rng, equivalents, log)
    if args.merge and args.out and args.out.is_file():
        kept = json.loads(args.out.read_text())["modules"]
        modules = {file: modules.get(file) or kept[file] for file in MODULES if file in modules or file in kept}
    report = {"tool": "python -m benchmarks.mutation", "python": sys.version.split()[0],
              "sample": args.sample, "seed": args.seed if args.sample else None,
              "wall_s": sum(m["wall_s"] for m in modules.values()), "groups": summary(modules), "modules": modules}
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
