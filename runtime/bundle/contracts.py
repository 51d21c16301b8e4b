"""JSON schemas of the contract files (runtime/schemas/), checked whenever such a file is read."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema

SCHEMAS = Path(__file__).parent / "schemas"


class ContractError(Exception):
    """A contract file (device report, golden index) is malformed; the message says where."""


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def read_contract(path: str | Path, name: str) -> dict:
    """Parse a JSON contract file and validate it against its schema, or raise ContractError."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{path}: not a readable JSON file ({exc})") from None
    try:
        jsonschema.validate(document, schema(name))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ContractError(f"{path}: {where}: {exc.message[:300]}") from None
    return document
