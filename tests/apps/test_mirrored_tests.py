"""The Kotlin core's JUnit tests and the Swift core's XCTests mirror each other, test for test.

Names only, read from the sources (no compiler): Kotlin `Class.method` of each @Test, Swift
`Class.testMethod` with the `test` prefix dropped and the next letter lower-cased.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KOTLIN_TESTS = ROOT / "android_demo" / "core" / "src" / "test" / "kotlin"
SWIFT_TESTS = ROOT / "ios_demo" / "Tests" / "PocketClipCoreTests"

KOTLIN_CLASS = re.compile(r"^\s*(?:(?:internal|public|open|abstract)\s+)*class\s+(\w+)", re.M)
# @Test, possibly followed by other annotations on the same or the next lines, then `fun name(`.
KOTLIN_TEST = re.compile(r"@Test\b(?:\s*@\w+(?:\([^)]*\))?)*\s+(?:(?:public|internal)\s+)?fun\s+`?(\w+)`?\s*\(")
SWIFT_CLASS = re.compile(r"^\s*(?:(?:final|public|open|internal)\s+)*class\s+(\w+)\s*:\s*XCTestCase\b", re.M)
SWIFT_TEST = re.compile(r"^\s*(?:(?:@\w+|public|open|internal|override)\s+)*func\s+test(\w+)\s*\(", re.M)


def _blocks(text: str, classes: re.Pattern) -> list[tuple[str, str]]:
    """(class name, the source from its declaration to the next class declaration) for each class."""
    found = list(classes.finditer(text))
    return [(m.group(1), text[m.start():found[i + 1].start() if i + 1 < len(found) else len(text)])
            for i, m in enumerate(found)]


def kotlin_tests() -> set[str]:
    names = set()
    for path in sorted(KOTLIN_TESTS.rglob("*.kt")):
        for cls, body in _blocks(path.read_text(), KOTLIN_CLASS):
            names |= {f"{cls}.{m.group(1)}" for m in KOTLIN_TEST.finditer(body)}
    return names


def swift_tests() -> set[str]:
    names = set()
    for path in sorted(SWIFT_TESTS.rglob("*.swift")):
        for cls, body in _blocks(path.read_text(), SWIFT_CLASS):
            names |= {f"{cls}.{m.group(1)[0].lower()}{m.group(1)[1:]}" for m in SWIFT_TEST.finditer(body)}
    return names


def test_kotlin_and_swift_core_tests_mirror_each_other():
    kotlin, swift = kotlin_tests(), swift_tests()
    assert kotlin and swift, f"no tests found under {KOTLIN_TESTS} or {SWIFT_TESTS}"
    only_kotlin, only_swift = sorted(kotlin - swift), sorted(swift - kotlin)
    assert not only_kotlin and not only_swift, (
        f"only in Kotlin ({KOTLIN_TESTS.relative_to(ROOT)}): {only_kotlin}\n"
        f"only in Swift ({SWIFT_TESTS.relative_to(ROOT)}): {only_swift}")


def test_the_parsers_see_every_test_annotation():
    """A test the regexes miss would drop out of both sets silently: count the raw markers too."""
    kotlin_markers = sum(len(re.findall(r"@Test\b", p.read_text())) for p in KOTLIN_TESTS.rglob("*.kt"))
    swift_markers = sum(len(re.findall(r"^[ \t]*(?:[\w@]+[ \t]+)*func[ \t]+test\w*[ \t]*\(", p.read_text(), re.M))
                        for p in SWIFT_TESTS.rglob("*.swift"))
    assert len(kotlin_tests()) == kotlin_markers
    assert len(swift_tests()) == swift_markers
