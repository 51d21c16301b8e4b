"""What is installed: the wheel claims only the `pocketclip` name, and its layers obey the import contracts."""
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
    for data in ("pocketclip/runtime/assets/bpe_simple_vocab_16e6.txt.gz", "pocketclip/runtime/schemas/golden.schema.json",
                 "pocketclip/models/weights/demo-student/model.safetensors", "pocketclip/models/recipes/demo-student.json",
                 "pocketclip/cli/__init__.py", "pocketclip/web/static/app.js", "pocketclip/web/static/style.css",
                 "pocketclip/web/templates/index.html"):
        assert data in names


def test_import_contracts_hold_on_the_installed_layout(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path)
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), str(REPO / "pyproject.toml"), "--no-cache"], cwd=tmp_path,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout
