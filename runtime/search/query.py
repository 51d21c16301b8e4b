"""Query arithmetic in rclip's syntax: `cat + dog - grass`, weights (`2:cat + dog`), photos by path
(`beach + ./photo.jpg`). The query's vector is the weighted sum of its terms' normalised embeddings,
normalised again. Parsed by hand: it is a three-rule grammar no parsing library is needed for.

    query  = term { (" + " | " - ") term }      operators stand between spaces: "t-shirt" is one word
    term   = [ weight ":" ] ( text | path )     weight: a positive number; default 1
    path   = starts with ./ ../ / or ~/         a photo file, embedded by the image tower
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OPERATOR = re.compile(r"\s+([+-])\s+")
WEIGHT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*:(.*)$", re.S)
PATH_PREFIXES = ("./", "../", "/", "~/")


class QueryError(ValueError):
    """A malformed query; the message says where."""


@dataclass(frozen=True)
class Term:
    sign: float  # +1 or -1
    weight: float
    text: str | None = None
    path: Path | None = None

    @property
    def factor(self) -> float:
        return self.sign * self.weight


def parse_query(query: str, paths: bool = True) -> list[Term]:
    """The terms of `query`; a plain query is one text term. `paths` False: a path term is refused (a query
    from a web page must not read files on the server)."""
    if not query or not query.strip():
        raise QueryError("the query is empty; type what the photos show")
    parts = OPERATOR.split(" " + query.strip() + " ")
    first = parts[0].strip()
    if not first and len(parts) > 1:
        raise QueryError(f"the query starts with {parts[1]!r}; put a term before it (e.g. 'beach {parts[1]} sunset')")
    terms = [_term(first, 1.0, paths)]
    for operator, text in zip(parts[1::2], parts[2::2]):
        if not text.strip():
            raise QueryError(f"nothing after {operator!r} in {query!r}")
        terms.append(_term(text.strip(), 1.0 if operator == "+" else -1.0, paths))
    return terms


def _term(text: str, sign: float, paths: bool) -> Term:
    if text in ("+", "-") or text.startswith(("+ ", "- ")) or text.endswith((" +", " -")):
        raise QueryError(f"two operators in a row near {text!r}")
    weight = 1.0
    if match := WEIGHT.match(text):
        weight, text = float(match[1]), match[2].strip()
        if not math.isfinite(weight) or weight <= 0:
            raise QueryError(f"weight {match[1]} is not a positive number (subtract with ' - ')")
        if not text:
            raise QueryError(f"weight {match[1]} weighs nothing: put a term after the ':'")
    if text.startswith(PATH_PREFIXES):
        if not paths:
            raise QueryError(f"{text!r}: a photo path cannot be part of a query here; search by an uploaded photo")
        path = Path(text).expanduser()
        if not path.is_file():
            raise QueryError(f"{text!r}: no photo file there")
        return Term(sign, weight, path=path)
    return Term(sign, weight, text=text)


def combine(terms: list[Term], vectors: np.ndarray) -> np.ndarray:
    """The query vector: sum of factor x (normalised) term vector, normalised."""
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    total = (np.array([t.factor for t in terms], dtype=np.float32)[:, None] * units).sum(axis=0)
    norm = float(np.linalg.norm(total))
    if norm < 1e-6:
        raise QueryError("the query's terms cancel out: nothing is left to search for")
    return (total / norm).astype(np.float32)
