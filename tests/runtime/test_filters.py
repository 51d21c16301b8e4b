"""Filters with any query (docs/search.md): each returns exactly the photos it selects, results stay ranked by
the query, exact and PQ searches agree on the selection, bad values are one line (Library API and CLI)."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from pocketclip.cli import cli
from pocketclip.runtime.bundle.home import SHIPPED
from pocketclip.runtime.facts.exif_writer import photo_with_exif
from pocketclip.runtime.library import Library
from pocketclip.runtime.search import pq_index
from pocketclip.runtime.search.filters import FilterError, Filters, date_bound

# name: (folder, format, EXIF) — dates with offsets, GPS in JPEG, PNG and HEIC, three cameras, none at all
PHOTOS = {
    "lisbon-1": ("Trips/Portugal", "JPEG", dict(taken="2024:07:14 18:32:05", offset="+01:00", gps=(38.7139, -9.1394),
                                                make="FUJIFILM", model="X-T5")),
    "lisbon-2": ("Trips/Portugal", "HEIF", dict(taken="2024:07:15 09:00:00", gps=(38.72, -9.14), make="Apple",
                                                model="iPhone 15 Pro")),
    "porto": ("Trips/Portugal", "JPEG", dict(taken="2023:05:02 12:00:00", offset="+01:00", gps=(41.1496, -8.6109),
                                             make="FUJIFILM", model="X-T5")),
    "sydney": ("Trips", "PNG", dict(taken="2023:12:31 23:59:59", offset="+11:00", gps=(-33.8688, 151.2093),
                                    make="Apple", model="iPhone 15 Pro")),
    "garden": ("Home", "JPEG", dict(taken="2024:05:01 07:00:00", make="Canon", model="Canon EOS R5")),
    "plain": ("Home", "PNG", {}),
}
COLOURS = [(200, 40, 40), (40, 180, 60), (40, 70, 220), (240, 220, 40), (150, 50, 190), (40, 210, 220)]
SUFFIX = {"JPEG": "jpg", "PNG": "png", "HEIF": "heic"}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("filters") / "photos"
    for (name, (folder, fmt, exif)), rgb in zip(PHOTOS.items(), COLOURS):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{name}.{SUFFIX[fmt]}").write_bytes(photo_with_exif(rgb, fmt, size=(96, 72), **exif))
    db = root.parent / "index.db"
    lib = Library.create(db, root, SHIPPED / "demo-student")
    lib.index(workers=1)
    lib.close()
    opened = Library.open(db)
    yield opened
    opened.close()


def names(hits) -> set[str]:
    return {h.path.rsplit("/", 1)[1].split(".")[0] for h in hits}


@pytest.mark.parametrize("filters, expected", [
    (Filters(after="2024"), {"lisbon-1", "lisbon-2", "garden", "plain"}),  # plain: the file's time, today
    (Filters(after="2024-05", before="2024-07-14"), {"lisbon-1", "garden"}),
    (Filters(before="2023-12"), {"porto", "sydney"}),
    (Filters(before="2023-12-31T23:59"), {"porto", "sydney"}),
    (Filters(before="2023-12-31T23:58"), {"porto"}),
    (Filters(folder="Trips"), {"lisbon-1", "lisbon-2", "porto", "sydney"}),
    (Filters(folder="./Trips/Portugal/"), {"lisbon-1", "lisbon-2", "porto"}),
    (Filters(place="portugal"), {"lisbon-1", "lisbon-2", "porto"}),
    (Filters(place="Lisbon"), {"lisbon-1", "lisbon-2"}),  # the region: the city is a district of it
    (Filters(place="Sydney"), {"sydney"}),
    (Filters(place="Tokyo"), set()),  # a real place with no photo: none, not an error
    (Filters(near="Lisbon", within_km=10), {"lisbon-1", "lisbon-2"}),
    (Filters(near="Lisbon", within_km=300), {"lisbon-1", "lisbon-2", "porto"}),
    (Filters(near="41.15,-8.61", within_km=1), {"porto"}),
    (Filters(camera="x-t5"), {"lisbon-1", "porto"}),
    (Filters(camera="IPHONE"), {"lisbon-2", "sydney"}),
    (Filters(type="heic"), {"lisbon-2"}),
    (Filters(type="jpg"), {"lisbon-1", "porto", "garden"}),
    (Filters(folder="Trips", camera="apple", after="2024"), {"lisbon-2"}),
])
def test_a_filter_returns_exactly_the_photos_it_selects(library, filters, expected):
    assert names(library.search_text("a red circle", k=50, filters=filters)) == expected
    assert names(library.search_query("", k=50, filters=filters)) == expected  # no query: browse


def test_a_folder_may_be_named_by_its_absolute_path_inside_the_library(library, tmp_path):
    inside = library.root / "Trips" / "Portugal"
    assert names(library.search_text("x", k=50, filters=Filters(folder=str(inside)))) == {"lisbon-1", "lisbon-2", "porto"}
    assert len(library.search_text("x", k=50, filters=Filters(folder=str(library.root)))) == len(PHOTOS)
    with pytest.raises(FilterError, match="not inside the library's folder"):
        library.search_text("x", filters=Filters(folder=str(tmp_path)))


def test_results_stay_ranked_by_the_query(library):
    everything = library.search_text("a blue circle", k=50)
    trips = library.search_text("a blue circle", k=50, filters=Filters(folder="Trips"))
    assert [h.path for h in trips] == [h.path for h in everything if h.path.startswith("Trips/")]
    assert [h.score for h in trips] == sorted((h.score for h in trips), reverse=True)
    image = library.search_image(library.file(everything[0]), k=50, filters=Filters(type="png"))
    assert names(image) == {"sydney", "plain"}
    similar = library.similar(everything[0].id, k=50, filters=Filters(place="Portugal"))
    assert names(similar) <= {"lisbon-1", "lisbon-2", "porto"} and len(similar) == 3


def test_filters_alone_list_the_newest_first_without_scores(library):
    hits = library.search_query("", k=3, filters=Filters(folder="Trips"))
    assert [names([h]).pop() for h in hits] == ["lisbon-2", "lisbon-1", "sydney"] and hits[0].score is None
    assert hits[0].to_json()["score"] is None
    with pytest.raises(ValueError, match="at least one filter"):
        library.browse(Filters())


def test_a_pq_search_with_a_filter_scores_only_the_selection(library, monkeypatch):
    """Small selections are scored exactly; large ones mask the PQ scan's candidates (forced here)."""
    query = library.encoder.encode_texts(["a green circle"])[0]
    pq = Library.open(library.db_path, mode="pq+rerank")
    try:
        rows = pq.selection(Filters(folder="Trips"))
        exact = library.search_vector(query, k=10, filters=Filters(folder="Trips"))
        assert [h.id for h in pq.search_vector(query, k=10, filters=Filters(folder="Trips"))] == [h.id for h in exact]
        monkeypatch.setattr(pq_index, "EXACT_SELECTION", 0)
        for share in (0.0, 1.0):  # the whole scan masked, then a scan of the selection's codes alone
            monkeypatch.setattr(pq_index, "SCAN_SELECTION", share)
            masked = pq.search_index().top_k(query, 10, rows=rows)
            assert [h.id for h in masked] == [h.id for h in exact] and len(rows) == 4
            tables = Library.open(library.db_path, mode="pq")
            approx = tables.search_vector(query, k=10, filters=Filters(folder="Trips"))
            assert {h.id for h in approx} == {h.id for h in exact}
            tables.close()
        assert pq.search_index().top_k(query, 10, rows=np.zeros(0, dtype=np.int64)) == []
    finally:
        pq.close()


@pytest.mark.parametrize("filters, message", [
    (Filters(after="2024-13"), "--after '2024-13': no such date (month 13)"),
    (Filters(after="2024-02-30"), "--after '2024-02-30': no such date (day 30)"),
    (Filters(before="last summer"), "--before 'last summer': not a date"),
    (Filters(after="2024-06", before="2024-05"), "--after 2024-06 is later than --before 2024-05"),
    (Filters(near="Lisbon", within_km=-3), "--within -3: a distance in km above 0"),
    (Filters(near="Lisbon", within_km=float("nan")), "--within nan"),
    (Filters(within_km=5), "--within needs a place: --near PLACE"),
    (Filters(type="docx"), "--type 'docx': not a format; one of jpeg"),
    (Filters(folder="../etc"), "--in '../etc': a folder inside the library"),
])
def test_a_bad_value_is_refused_by_its_form(filters, message):
    with pytest.raises(FilterError) as found:
        filters.checked()
    assert str(found.value).startswith(message)


@pytest.mark.parametrize("filters, message", [
    (Filters(place="Lisbn"), "--place 'Lisbn': no such place; did you mean Lisbon"),
    (Filters(near="Lisbn"), "--near 'Lisbn': no place of that name; did you mean Lisbon"),
    (Filters(near="95,10"), "--near '95,10': latitude -90..90"),
    (Filters(camera="nikon"), "--camera 'nikon': no photo from such a camera; cameras: Apple iPhone 15 Pro"),
    (Filters(folder="Tripz"), "--in 'Tripz': no photo in such a folder; folders: Home, Trips"),
])
def test_an_unknown_value_names_the_closest_known_ones(library, filters, message):
    with pytest.raises(FilterError) as found:
        library.search_text("x", filters=filters)
    assert str(found.value).startswith(message) and "\n" not in str(found.value)


def test_blank_values_are_no_limit(library):
    assert not Filters(place="   ", camera="", folder=" ") and not Filters(place="   ", folder=" ").checked()
    assert len(library.search_text("x", k=50, filters=Filters(place="  ", type=""))) == len(PHOTOS)


def test_partial_dates_cover_their_whole_period():
    assert str(date_bound("2024", False, "")) == "2024-01-01T00:00:00"
    assert str(date_bound("2024-02", True, "")) == "2024-02-29T23:59:59"
    assert str(date_bound("2024-05-03T14:30", True, "")) == "2024-05-03T14:30:59"


def test_the_cli_filters_and_says_bad_values_in_one_line(library):
    db = str(library.db_path)
    runner = CliRunner()
    done = runner.invoke(cli, ["search", "--place", "Portugal", "--type", "heic", "--db", db])
    assert done.exit_code == 0 and "lisbon-2.heic" in done.output and "Lisbon, Portugal" in done.output
    assert "2024-07-15T09:00:00" in done.output
    for args, message in ((["x", "--after", "2024-13"], "no such date"), (["x", "--within", "-3", "--near", "Lisbon"],
                          "above 0"), (["x", "--place", "Lisbn"], "did you mean Lisbon")):
        done = runner.invoke(cli, ["search", *args, "--db", db])
        assert done.exit_code != 0 and message in done.output and "Traceback" not in done.output
    done = runner.invoke(cli, ["search", "--db", db])
    assert done.exit_code == 2 and "or filters alone" in done.output
