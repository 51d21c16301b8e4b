"""Mutants of one source file and their judging, for benchmarks/mutation.py: the small changes made on the file's
`ast`, each written over the file in place and always put back, and the tests run against it in a forked child with a
timeout. Which files and which tests, the reports and their tables are the command line's (benchmarks/mutation.py).
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.json")
BACKUP = ".mutation-backup"
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


def run_module(file: str, group: str, tests: list[str], sample: int | None, rng: random.Random,
               equivalents: list[dict], log, only: list[Mutant] | None = None) -> dict:
    """The mutants of `file` (all, a sample, or `only` these) judged by `tests`: its entry in a report."""
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


