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
import ast
import hashlib
import importlib
import json
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.json")
BACKUP = ".mutation-backup"
# The core's modules, grouped as the issue counts them, each with the smallest test files that cover it
# (none needs an exported bundle, so a mutant is judged in seconds).
SCENARIOS = "tests/runtime/test_conformance.py::test_every_shipped_scenario_passes_on_the_reference"
MODULES: dict[str, tuple[str, list[str]]] = {
    "runtime/store/store.py": ("store", ["tests/runtime/test_store_rules.py", "tests/runtime/test_store.py",
                                         "tests/runtime/test_search.py", SCENARIOS]),
    "runtime/store/schema.py": ("store", ["tests/runtime/test_store_rules.py", "tests/runtime/test_store.py"]),
    "runtime/indexing/indexer.py": ("indexing", ["tests/runtime/test_indexing_rules.py", SCENARIOS]),
    "runtime/search/hits.py": ("search", ["tests/runtime/test_search.py", "tests/runtime/test_pq_scan.py"]),
    "runtime/search/exact.py": ("search", ["tests/runtime/test_search.py"]),
    "runtime/search/pq.py": ("search", ["tests/runtime/test_pq_scan.py"]),
    "runtime/indexing/decode.py": ("photos", ["tests/runtime/test_photo_reading.py"]),
    "runtime/indexing/walk.py": ("photos", ["tests/runtime/test_photo_reading.py", "tests/runtime/test_indexing_rules.py"]),
    "runtime/indexing/source.py": ("indexing", ["tests/runtime/test_indexing_rules.py", "tests/runtime/test_photo_reading.py"]),
    "runtime/indexing/raw.py": ("photos", ["tests/runtime/test_photo_reading.py"]),
    "runtime/bundle/preprocess.py": ("photos", ["tests/runtime/test_preprocess.py", "tests/runtime/test_photo_reading.py"]),
}
WARM = ("numpy", "PIL.Image", "sqlite_utils", "click", "pytest")  # third-party only: never pocketclip's own modules
BIG = 1000  # integer constants above this (chunk sizes, byte limits) are not moved: one more or less is no behaviour
NEGATED = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
           ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}


@dataclass(frozen=True)
class Mutant:
    file: str
    site: int  # the node's place in ast.walk order of the file (how the mutant is applied again)
    variant: str
    line: int
    operator: str
    mutation: str  # "`before` -> `after`"
    context: str  # the source line, stripped: what an equivalent-mutant entry matches
    occurrence: int = 1  # the same mutation on the same source line again (walk order): 2, 3, ...

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes never mutated: docstrings, annotations, f-strings (message text) and what a raise says."""
    skip: set[int] = set()

    def drop(node):
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            drop(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in node.args.args + node.args.kwonlyargs + node.args.posonlyargs + \
                    [a for a in (node.args.vararg, node.args.kwarg) if a]:
                if arg.annotation:
                    drop(arg.annotation)
            if node.returns:
                drop(node.returns)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif isinstance(node, (ast.JoinedStr, ast.Raise)):
            drop(node)
        elif isinstance(node, ast.ImportFrom):
            drop(node)
    return skip


def _variants(node: ast.AST) -> list[tuple[str, str]]:
    """(variant, operator) pairs for one node."""
    out: list[tuple[str, str]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            out.append((f"negate:{i}", "comparison flipped"))
            if type(op) in BOUNDARY:
                out.append((f"boundary:{i}", "comparison boundary"))
    elif isinstance(node, ast.BoolOp):
        out.append(("swap", "and/or swapped"))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("drop-not", "not removed"))
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        out.append(("remove", "call removed"))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        out.append(("flip", "bool flipped"))
    elif isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) <= BIG:
        out += [("plus", "constant +1"), ("minus", "constant -1")]
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        out.append(("none", "return None"))
    return out


def _apply(node: ast.AST, variant: str) -> ast.AST:
    """The mutated node (a statement or an expression) for a variant of _variants."""
    if variant.startswith(("negate:", "boundary:")):
        kind, index = variant.split(":")
        ops = list(node.ops)
        table = NEGATED if kind == "negate" else BOUNDARY
        ops[int(index)] = table[type(ops[int(index)])]()
        return ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
    if variant == "swap":
        return ast.BoolOp(op=ast.Or() if isinstance(node.op, ast.And) else ast.And(), values=node.values)
    if variant == "drop-not":
        return node.operand
    if variant == "remove":
        return ast.Pass()
    if variant == "flip":
        return ast.Constant(not node.value)
    if variant in ("plus", "minus"):
        return ast.Constant(node.value + (1 if variant == "plus" else -1))
    if variant == "none":
        return ast.Return(value=ast.Constant(None))
    raise ValueError(variant)


def _sites(tree: ast.AST) -> list[tuple[int, ast.AST, str, str]]:
    skip = _skipped_nodes(tree)
    return [(i, node, variant, operator) for i, node in enumerate(ast.walk(tree)) if id(node) not in skip
            for variant, operator in _variants(node)]


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def mutants_of(file: str) -> list[Mutant]:
    source = (ROOT / file).read_text()
    lines = source.splitlines()
    out, seen = [], {}
    for site, node, variant, operator in _sites(ast.parse(source)):
        after = _apply(node, variant)
        before_text = ast.unparse(node)
        after_text = "(removed)" if isinstance(after, ast.Pass) else ast.unparse(after)
        mutation, context = f"`{_short(before_text)}` -> `{_short(after_text)}`", lines[node.lineno - 1].strip()
        seen[mutation, context] = seen.get((mutation, context), 0) + 1
        out.append(Mutant(file, site, variant, node.lineno, operator, mutation, context, seen[mutation, context]))
    return out


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST):
        self.target, self.replacement = target, replacement

    def visit(self, node):
        if node is self.target:
            return self.replacement
        return self.generic_visit(node)


def mutated_source(mutant: Mutant) -> str:
    """The whole file with this one change (unparsed from the tree: comments go, behaviour stays)."""
    tree = ast.parse((ROOT / mutant.file).read_text())
    node = next(node for i, node in enumerate(ast.walk(tree)) if i == mutant.site)
    tree = ast.fix_missing_locations(_Replace(node, _apply(node, mutant.variant)).visit(tree))
    return ast.unparse(tree)


def load_equivalents() -> list[dict]:
    return json.loads(EQUIVALENT.read_text())["equivalent"] if EQUIVALENT.is_file() else []


def equivalent_reason(mutant: Mutant, equivalents: list[dict]) -> str | None:
    for entry in equivalents:  # an entry without "occurrence" covers every occurrence on its line
        if (entry["file"], entry["context"], entry["mutation"]) == (mutant.file, mutant.context, mutant.mutation) \
                and entry.get("occurrence", mutant.occurrence) == mutant.occurrence:
            return entry["reason"]
    return None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_tests(tests: list[str], timeout: float) -> tuple[str, float]:
    """('passed' | 'failed' | 'timeout', seconds) of the tests, in a child forked from this process (which has
    numpy, Pillow, sqlite-utils and pytest imported already, and never imports pocketclip itself, so the child
    imports the mutated file from its source)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: its own process group (a timeout kills all of it), quiet, no bytecode written
        code = 3
        try:
            os.setsid()
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            os.chdir(ROOT)
            sys.dont_write_bytecode = True
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
            import pytest

            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests]))
        finally:
            os._exit(code)
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.perf_counter() - start > timeout:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "timeout", time.perf_counter() - start
            time.sleep(0.02)
    except BaseException:
        try:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        raise
    passed = os.waitstatus_to_exitcode(status) == 0
    return ("passed" if passed else "failed"), time.perf_counter() - start


def _commit() -> str | None:
    """The checkout's commit (what the sources and tests were when the module ran), + "-dirty" with local changes."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty else "")


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


def run_module(file: str, sample: int | None, rng: random.Random, equivalents: list[dict], log,
               tests: list[str] | None = None, only: list[Mutant] | None = None) -> dict:
    group, mapped = MODULES[file]
    tests = tests or mapped
    path = ROOT / file
    backup = path.with_name(path.name + BACKUP)
    if backup.exists():
        raise SystemExit(f"{backup} exists: a run was killed mid-mutant; `python -m benchmarks.mutation --restore`")
    started = time.perf_counter()
    original = path.read_bytes()
    stat = path.stat()
    outcome, baseline_s = run_tests(tests, 600)
    if outcome != "passed":
        raise SystemExit(f"{file}: its tests {' '.join(tests)} do not pass unmutated; fix them first")
    timeout = max(30.0, 3 * baseline_s + 10)
    everything = mutants_of(file)
    chosen = sorted(rng.sample(everything, sample), key=lambda m: m.site) if sample and sample < len(everything) \
        else everything
    if only is not None:
        chosen = only
    result = {"group": group, "tests": tests, "commit": _commit(), "baseline_s": round(baseline_s, 1), "timeout_s": round(timeout),
              "mutants": len(everything), "run": 0, "killed": 0, "survived": 0, "timed_out": 0,
              "not_compiled": 0, "equivalent": 0, "survivors": [], "equivalents": []}
    backup.write_bytes(original)
    try:
        for n, mutant in enumerate(chosen, 1):
            reason = equivalent_reason(mutant, equivalents)
            if reason is not None:
                result["equivalent"] += 1
                result["equivalents"].append({"where": mutant.where, "mutation": mutant.mutation, "reason": reason})
                continue
            try:
                text = mutated_source(mutant)
                compile(text, file, "exec")
            except (SyntaxError, ValueError, RecursionError):
                result["not_compiled"] += 1
                continue
            path.write_text(text)
            # an mtime of its own: no cached bytecode of another version matches this file
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + n * 1_000_000_000))
            outcome, seconds = run_tests(tests, timeout)
            path.write_bytes(original)
            result["run"] += 1
            if outcome == "failed":
                result["killed"] += 1
            elif outcome == "timeout":
                result["timed_out"] += 1
            else:
                result["survived"] += 1
                result["survivors"].append({"where": mutant.where, "operator": mutant.operator,
                                            "mutation": mutant.mutation, "context": mutant.context,
                                            "occurrence": mutant.occurrence})
            log(f"{file} {n}/{len(chosen)} {mutant.where} {mutant.mutation}: {outcome} ({seconds:.1f}s)")
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        if _sha(path.read_bytes()) != _sha(original):
            raise SystemExit(f"{file} could not be restored: its original is in {backup}")
        backup.unlink()
    result["wall_s"] = round(time.perf_counter() - started)
    detected = result["killed"] + result["timed_out"]
    result["score"] = round(detected / result["run"], 4) if result["run"] else None
    return result


def restore() -> None:
    for backup in ROOT.rglob(f"*{BACKUP}"):
        target = backup.with_name(backup.name[: -len(BACKUP)])
        target.write_bytes(backup.read_bytes())
        backup.unlink()
        print(f"restored {target.relative_to(ROOT)}")


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
        again = run_module(file, None, random.Random(0), equivalents, log, only=named)
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
    modules = {file: run_module(file, args.sample, rng, equivalents, log, args.tests) for file in files}
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
