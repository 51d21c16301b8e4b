"""Query arithmetic in rclip's syntax: parsing, the vector it makes, photo paths, and malformed queries."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pocketclip.cli import cli
from pocketclip.runtime.indexing.decode import load_photo
from pocketclip.runtime.library import Library
from pocketclip.runtime.search.query import QueryError, parse_query


def test_terms_weights_signs_and_words_with_hyphens():
    terms = parse_query("2:beach + t-shirt - 0.5:red car")
    assert [(t.factor, t.text) for t in terms] == [(2.0, "beach"), (1.0, "t-shirt"), (-0.5, "red car")]
    assert [t.text for t in parse_query("note: a dog")] == ["note: a dog"]  # not a number: text
    assert [t.text for t in parse_query("a cat-dog hybrid")] == ["a cat-dog hybrid"]


@pytest.mark.parametrize("query, said", [
    ("", "the query is empty"), ("   ", "the query is empty"), ("cat + ", "nothing after '+'"),
    ("- grass", "the query starts with '-'"), ("cat + + dog", "two operators in a row"),
    ("0:cat", "weight 0 is not a positive number"), ("2: + dog", "weighs nothing"),
    ("cat + ./no/such/photo.jpg", "no photo file there"),
])
def test_malformed_queries_are_one_line_errors(query, said):
    with pytest.raises(QueryError, match=said.replace("+", r"\+")):
        parse_query(query)


def test_the_query_vector_is_the_normalised_weighted_sum(tmp_path, photo_folder, fp32_bundle):
    library = Library.create(tmp_path / "index.db", photo_folder, fp32_bundle)
    library.index()
    enc = library.encoder
    a, b, c = enc.encode_texts(["a red star", "a blue square", "striped background"])
    want = 2 * a + b - c
    want /= np.linalg.norm(want)
    direct = library.search_vector(want, k=24)
    assert [h.id for h in library.search_query("2:a red star + a blue square - striped background", k=24)] == \
        [h.id for h in direct]
    photo = sorted(photo_folder.glob("*.jpg"))[3]
    with_photo = library.search_query(f"{photo} + a red star", k=3)  # an absolute path is a photo term
    pixels_vector = enc.encode_pixels(load_photo(photo, library.bundle.preprocess)[0][None])[0]
    mix = pixels_vector + a
    assert [h.id for h in with_photo] == [h.id for h in library.search_vector(mix / np.linalg.norm(mix), k=3)]
    with pytest.raises(QueryError, match="cancel out"):
        library.search_query("a red star - a red star")
    with pytest.raises(QueryError, match="cannot be part of a query here"):
        library.search_query(f"{photo} + a red star", paths=False)
    library.close()
    cli_hits = json.loads(CliRunner().invoke(cli, ["search", "2:a red star + a blue square - striped background",
                                                   "--db", str(tmp_path / "index.db"), "-k", "24",
                                                   "--json"]).stdout)
    assert [h["id"] for h in cli_hits] == [h.id for h in direct]
    bad = CliRunner().invoke(cli, ["search", "cat + ", "--db", str(tmp_path / "index.db")])
    assert bad.exit_code == 1 and bad.output.strip().splitlines()[-1] == "Error: nothing after '+' in 'cat + '"
