"""Named bundles: the demo model shipped inside the package, and the models `pocketclip models pull` puts in
the data home. Every command that takes a bundle takes a name or a folder; no name means the default model.

    $XDG_DATA_HOME/pocketclip/models/NAME/      a pulled bundle (manifest.json, artifacts, golden/)
    $XDG_DATA_HOME/pocketclip/models/default    the default model's name (absent: the demo model)
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from pocketclip.runtime.bundle.manifest import BundleError

SHIPPED = Path(__file__).parent / "shipped"  # package data: bundles that come with the install
DEMO = "demo-student"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def data_home() -> Path:
    """pocketclip's data folder (the default store, the pulled models), read from the environment on each call."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "pocketclip"


def models_home() -> Path:
    return data_home() / "models"


def check_name(name: str) -> str:
    if not NAME.match(name) or name.endswith(".partial"):
        raise BundleError(f"{name!r} is not a model name (letters, digits, '.', '_', '-'; 100 at most)")
    return name


def installed() -> dict[str, Path]:
    """Every named bundle: the shipped ones, then the pulled ones (a pulled model may not take a shipped name)."""
    found = {p.name: p for p in sorted(SHIPPED.iterdir()) if (p / "manifest.json").is_file()} if SHIPPED.is_dir() else {}
    home = models_home()
    if home.is_dir():
        for p in sorted(home.iterdir()):
            if p.name not in found and NAME.match(p.name) and (p / "manifest.json").is_file():
                found[p.name] = p
    return found


def is_shipped(path: Path) -> bool:
    return path.resolve().parent == SHIPPED.resolve()


def default_name() -> str:
    """The model commands use when none is named: `models default NAME` sets it; the demo model until then."""
    marker = models_home() / "default"
    try:
        name = marker.read_text().strip()
    except OSError:
        return DEMO
    return name if name in installed() else DEMO


def set_default(name: str) -> None:
    if name not in installed():
        raise BundleError(f"no model named {name!r}; {_have()}")
    models_home().mkdir(parents=True, exist_ok=True)
    staging = models_home() / "default.partial"
    staging.write_text(name + "\n")
    staging.replace(models_home() / "default")


def remove(name: str) -> Path:
    """Delete a pulled model's bundle (the shipped demo model cannot be removed); returns its folder."""
    path = installed().get(name)
    if path is None:
        raise BundleError(f"no model named {name!r}; {_have()}")
    if is_shipped(path):
        raise BundleError(f"{name} ships with pocketclip and cannot be removed")
    shutil.rmtree(path)
    if default_name() == DEMO and (models_home() / "default").exists():
        (models_home() / "default").unlink()  # it named the removed model
    return path


def resolve(spec: str | Path | None) -> Path:
    """A bundle folder from a name (installed), a folder path, or None (the default model)."""
    if spec is None:
        spec = default_name()
    path = Path(spec)
    if (path / "manifest.json").is_file():
        return path
    named = installed().get(str(spec))
    if named is not None:
        return named
    if path.exists() or os.sep in str(spec):
        raise BundleError(f"{spec} is not a bundle: no manifest.json")
    raise BundleError(f"no model named {spec!r}; {_have()}")


def remembered(recorded: str) -> Path:
    """The bundle a store recorded (its absolute folder): that folder, or, if it moved (the package was
    upgraded, the data home changed), the installed bundle of the same name."""
    path = Path(recorded)
    if (path / "manifest.json").is_file():
        return path
    named = installed().get(path.name)
    if named is None:
        raise BundleError(f"the store's bundle {recorded} is gone and no model named {path.name!r} is installed; "
                          f"{_have()}")
    return named


def _have() -> str:
    names = ", ".join(installed()) or "none"
    return f"installed: {names}; `pocketclip models pull REPO` gets another"
