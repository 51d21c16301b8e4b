"""The HTML entity table both phone cores ship is Python's own (html.unescape's), in both copies."""
import html.entities
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPIES = [ROOT / "android_demo/core/src/main/resources/org/pocketclip/core/html5_entities.tsv",
          ROOT / "ios_demo/Sources/PocketClipCore/Resources/html5_entities.tsv"]


@pytest.mark.parametrize("path", COPIES, ids=["kotlin", "swift"])
def test_entity_table_is_pythons(path):
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    table = {name: "".join(chr(int(cp, 16)) for cp in points.split()) for name, points in rows}
    assert table == html.entities.html5
