"""What is installed: the wheel claims only the `pocketclip` name, and its layers obey the import contracts."""
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    (path,) = out.glob("pocketclip-*.whl")
    return path


def test_the_wheel_has_one_top_level_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"pocketclip", f"{wheel.name.split('-py3')[0]}.dist-info"}
    for data in ("pocketclip/runtime/bundle/assets/bpe_simple_vocab_16e6.txt.gz", "pocketclip/runtime/bundle/schemas/golden.schema.json",
                 "pocketclip/models/weights/demo-student/model.safetensors", "pocketclip/models/recipes/demo-student.json",
                 "pocketclip/cli/__init__.py", "pocketclip/web/static/app.js", "pocketclip/web/static/style.css",
                 "pocketclip/web/templates/index.html", "pocketclip/runtime/facts/places.tsv.gz"):
        assert data in names
    for module in (REPO / "pocketclip/web/static").glob("*.js"):  # app.js imports the others: all must ship
        assert f"pocketclip/web/static/{module.name}" in names


def test_import_contracts_hold_on_the_installed_layout(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path)
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), str(REPO / "pyproject.toml"), "--no-cache"], cwd=tmp_path,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def test_only_the_store_holds_sql(wheel):
    """Every SQL statement of the runtime and the web page lives in runtime/store (one Store class)."""
    statement = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b")
    archive = zipfile.ZipFile(wheel)
    checked, found = 0, []
    for name in archive.namelist():
        if not name.endswith(".py") or not name.startswith(("pocketclip/runtime/", "pocketclip/web/")):
            continue
        checked += 1
        if name.startswith("pocketclip/runtime/store/"):
            continue
        for number, line in enumerate(archive.read(name).decode().splitlines(), 1):
            if statement.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert checked > 20 and not found, found
