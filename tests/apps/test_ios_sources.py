"""The iOS app's Swift sources against the Python runtime, without a Swift toolchain (none on Linux).

What can be checked by reading the sources: the store schema the Swift code creates is the one
runtime/store/store.py creates, the XCTest names mirror the core test list (the Kotlin core's names), the
meta keys the Swift code writes are the runtime's, and both apps take their search settings from the
manifest's `search` section (the same keys in Swift and Kotlin) instead of constants.
"""
from __future__ import annotations

import re
import sqlite3
import textwrap
from pathlib import Path

import pytest
from tests_support import describe_schema as describe

import pocketclip.runtime
from pocketclip.runtime.store import Store

ROOT = Path(__file__).resolve().parents[2]
IOS = ROOT / "ios_demo"
ANDROID = ROOT / "android_demo"
RUNTIME = Path(pocketclip.runtime.__file__).resolve().parent  # wherever the package's sources live
SCHEMA_SWIFT = IOS / "Sources" / "PocketClipCore" / "StoreSchema.swift"
CORE_TESTS = IOS / "Tests" / "PocketClipCoreTests"

# The core test list (shared with android_demo/core), class -> XCTest methods.
CORE_TEST_LIST = {
    "ManifestTest": ["parsesArtifactsAndPreprocessing", "refusesATamperedArtifact", "readsTheSearchSettings",
                     "refusesABadSearchSection"],
    "NpyTest": ["readsEveryGoldenArray"],
    "TokenizerTest": ["goldenTextsGiveTheGoldenIds"],
    "PreprocessTest": ["pngGoldenImageWithinOneLevel", "gallerySquaresNormaliseExactly", "jpegGoldenImagesReportDiff"],
    "Float16Test": ["roundTripsLikeNumpy", "specialValues"],
    "SearchTest": ["exactTop10MatchesGolden", "pqTop10MatchesGolden", "pqCodesMatchGolden", "pq4CodesMatchGolden",
                   "pq4Top10MatchesGolden", "rerankRecoversExact"],
    "StoreTest": ["schemaMatchesPythonStore", "readsPythonVectors", "writesAStorePythonReads"],
    "ConformanceTest": ["everyScenarioPasses", "anAlteredExpectationFailsNamingScenarioStepAndDifference",
                        "contentHashIsBlake2bOfTheBytes"],
    "DeviceReportTest": ["writesTheSchema"],
}


def swift_ddl() -> list[str]:
    """The CREATE statements of StoreSchema.swift: Swift multi-line literals, dedented as Swift does
    (by the indentation of the closing delimiter)."""
    source = SCHEMA_SWIFT.read_text()
    statements = []
    for body, indent in re.findall(r'"""\n(.*?)\n([ \t]*)"""', source, flags=re.S):
        text = textwrap.dedent(body + "\n" + indent).rstrip("\n")
        assert all(line.startswith(indent) or not line for line in body.split("\n")), "bad multi-line literal"
        if re.match(r"CREATE (UNIQUE )?(TABLE|INDEX)", text):
            statements.append(text)
    return statements


def swift_fact_columns() -> list[tuple[str, str]]:
    """StoreSchema.factColumns: the (name, type) pairs m002_photo_facts adds with ALTER TABLE."""
    block = re.search(r"static let factColumns[^=]*= \[(.*?)\n    \]", SCHEMA_SWIFT.read_text(), flags=re.S).group(1)
    return re.findall(r'\("(\w+)", "(\w+)"\)', block)


def swift_store(statements: list[str]) -> sqlite3.Connection:
    """A store made as PhotoStore makes one: the schema version 1 statements, then m002_photo_facts (the facts
    columns as sqlite-utils' add_column writes them, then their indexes, the last three CREATE statements)."""
    assert len(statements) == 10, statements
    swift = sqlite3.connect(":memory:")
    for statement in statements[:7]:
        swift.execute(statement)
    for name, kind in swift_fact_columns():
        swift.execute(f'ALTER TABLE "photos" ADD COLUMN "{name}" {kind}')
    for statement in statements[7:]:
        swift.execute(statement)
    return swift


def python_store(tmp_path: Path) -> sqlite3.Connection:
    Store.open(tmp_path / "python.db").close()
    return sqlite3.connect(tmp_path / "python.db")


def test_swift_store_schema_is_the_runtime_schema(tmp_path):
    assert [name for name, _ in swift_fact_columns()][:3] == ["taken_at", "taken_offset", "taken_source"]
    assert describe(swift_store(swift_ddl())) == describe(python_store(tmp_path))


def test_swift_store_schema_extraction_sees_a_change(tmp_path):
    """The comparison above is not vacuous: a Swift schema without one column differs."""
    swift = swift_store([statement.replace('   "width" INTEGER,\n', "") for statement in swift_ddl()])
    assert describe(swift) != describe(python_store(tmp_path))


def xctest_methods() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(CORE_TESTS.glob("*.swift")):
        source = path.read_text()
        classes = list(re.finditer(r"^(?:final )?class (\w+): XCTestCase", source, flags=re.M))
        for n, match in enumerate(classes):
            end = classes[n + 1].start() if n + 1 < len(classes) else len(source)
            body = source[match.end():end]
            found.setdefault(match.group(1), []).extend(re.findall(r"^    func (test\w+)\(", body, flags=re.M))
    return found


@pytest.mark.parametrize("cls", sorted(CORE_TEST_LIST))
def test_xctest_names_mirror_the_core_test_list(cls):
    methods = xctest_methods().get(cls)
    assert methods is not None, f"no XCTestCase class {cls} in {CORE_TESTS}"
    for name in CORE_TEST_LIST[cls]:
        swift_name = "test" + name[0].upper() + name[1:]
        assert methods.count(swift_name) == 1, f"{cls}.{swift_name} missing (have {methods})"


def test_tests_read_the_documented_environment():
    source = (CORE_TESTS / "TestInputs.swift").read_text()
    for variable in ("POCKETCLIP_BUNDLE", "POCKETCLIP_PQ4_BUNDLE", "POCKETCLIP_PY_STORE", "POCKETCLIP_OUT_STORE",
                     "POCKETCLIP_OUT_REPORT", "POCKETCLIP_OUT_MANIFEST"):
        assert f'"{variable}"' in source


def runtime_meta_keys() -> set[str]:
    """The keys the runtime writes into meta: runtime.meta_keys.ALL, or (before that module) the keys
    runtime/store/store.py, runtime/indexing/indexer.py and runtime/search/pq_index.py write, read from their source."""
    try:
        from pocketclip.runtime.store import meta_keys
    except ImportError:
        meta_keys = None
    if meta_keys is not None:
        return set(meta_keys.ALL)
    keys = set()
    for name in ("store.py", "indexer.py", "pq_index.py"):
        path = RUNTIME / name
        if not path.exists():  # pq_index.py arrives with the product-quantization contract
            continue
        source = path.read_text()
        keys |= set(re.findall(r'\(\s*"(\w+)",\s*(?:\w|str\()', source))  # ("key", value) pairs
        keys |= set(re.findall(r'"key":\s*"(\w+)"', source))
        keys |= set(re.findall(r'^META_KEY = "(\w+)"', source, flags=re.M))
    return keys


def test_swift_meta_keys_are_the_runtime_keys():
    source = SCHEMA_SWIFT.read_text()
    block = re.search(r"enum MetaKey \{(.*?)\n    \}", source, flags=re.S).group(1)
    swift_keys = set(re.findall(r'static let \w+ = "(\w+)"', block))
    runtime_keys = runtime_meta_keys()
    assert {"schema_version", "model_fingerprint", "dim", "preprocess_sha256", "root"} <= runtime_keys
    # The PQ contract's key (runtime/search/pq_index.py) is expected even before the runtime writes it.
    assert swift_keys == runtime_keys | {"pq_codebooks_sha256"}, (swift_keys, runtime_keys)
    # ... and every key the Swift store writes is one of those constants, not a stray literal.
    store = (IOS / "Sources" / "PocketClipCore" / "PhotoStore.swift").read_text()
    literals = set(re.findall(r'\.text\("(\w+)"\)', store))
    assert not literals - swift_keys, literals - swift_keys


SEARCH_KEYS = ["exact_below_photos", "rerank_candidates", "default_k"]  # the manifest's `search` section


def test_swift_and_kotlin_read_the_manifest_search_keys():
    swift = (IOS / "Sources" / "PocketClipCore" / "Manifest.swift").read_text()
    kotlin = (ANDROID / "core" / "src" / "main" / "kotlin" / "org" / "pocketclip" / "core" / "Manifest.kt").read_text()
    swift_keys = re.search(r"static let keys = \[(.*?)\]", swift).group(1)
    kotlin_keys = re.search(r"val KEYS = listOf\((.*?)\)", kotlin).group(1)
    assert re.findall(r'"(\w+)"', swift_keys) == re.findall(r'"(\w+)"', kotlin_keys) == SEARCH_KEYS
    assert re.search(r"readableSchemaVersion = 2\b", swift) and re.search(r"SCHEMA_VERSION = 2\b", kotlin)


@pytest.mark.parametrize("source", [IOS / "App" / "Sources" / "PhotoEngine.swift",
                                    ANDROID / "app" / "src" / "main" / "kotlin" / "org" / "pocketclip" / "app"
                                    / "SearchEngine.kt"], ids=["ios", "android"])
def test_apps_search_with_the_manifest_settings(source):
    """The switch point, the candidates and the default k come from the manifest, not from constants."""
    code = "\n".join(line.split("//")[0] for line in source.read_text().splitlines())  # comments dropped
    for setting in ("rerankCandidates", "defaultK"):
        assert f"search.{setting}" in code or f"settings.{setting}" in code, setting
    assert re.search(r"\.usesP[Qq]\(", code), "the exact/PQ switch is SearchSettings.usesPq / usesPQ"
    # No literal that looks like a photo count, a candidate count or a k (60, 1000, 20_000, 50_000, ...).
    assert not re.findall(r"\b(?:k|candidates|K|RERANK|EXACT_BELOW|pqThreshold)\s*[:=]\s*\d", code)
    assert not re.findall(r"(?<![\w.])\d{1,3}(?:_\d{3})+\b|(?<![\w.])\d{4,}\b", code)
