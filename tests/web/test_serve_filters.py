"""The search filters over HTTP, on a library of photos with real EXIF (web_support.FILTER_PHOTOS): each filter
selects exactly its photos, with a query or alone (then the newest first), a photo without GPS is in no place,
similar and search by a photo take the same filters, a bad value is a one-line 400; /api/facets offers what
the photos say and /api/duplicates finds the copy."""
from urllib.parse import urlencode

import pytest
from web_support import FILTER_COPY

TRAM, COPY, TOWER, GARDEN, TOKYO = "trips/lisbon/tram.jpg", FILTER_COPY, "trips/paris/tower.heic", "home/garden.png", \
    "tokyo.jpg"
LOCATED = {TRAM, COPY, TOWER, TOKYO}  # every photo but the garden, which has no GPS


def paths(reply) -> set[str]:
    assert reply.status == 200, reply.body
    return {h["path"] for h in reply.json()["hits"]}


@pytest.mark.parametrize("filters, selected", [
    ({"after": "2024"}, {TOWER, GARDEN}),
    ({"before": "2023-06"}, {TRAM, COPY, TOKYO}),  # both bounds inclusive: all of June 2023
    ({"after": "2023-06-14", "before": "2023-06-14"}, {TRAM, COPY}),
    ({"after": "2024-05-20T09:15", "before": "2024-05-20T09:15"}, {GARDEN}),
    ({"before": "2022-11-03T07:44"}, set()),
    ({"folder": "trips"}, {TRAM, TOWER}),  # the folder and every folder below
    ({"folder": "trips/paris/"}, {TOWER}),
    ({"folder": "backup"}, {COPY}),
    ({"place": "Portugal"}, {TRAM, COPY}),
    ({"place": "lisbon"}, {TRAM, COPY}),
    ({"place": "Île-de-France"}, {TOWER}),
    ({"place": "Japan"}, {TOKYO}),
    ({"place": "Berlin"}, set()),  # a real place where no photo was taken: no photo, not an error
    ({"near": "Lisbon", "within_km": "50"}, {TRAM, COPY}),
    ({"near": "48.85,2.35"}, {TOWER}),
    ({"near": "0,0", "within_km": "20038"}, LOCATED),  # the whole Earth, and still never the photo without GPS
    ({"camera": "iphone"}, {TOWER}),
    ({"camera": "x-t5"}, {TRAM, COPY}),
    ({"camera": "CANON"}, {GARDEN}),
    ({"type": "heic"}, {TOWER}),
    ({"type": "png"}, {GARDEN}),
    ({"type": "jpg"}, {TRAM, COPY, TOKYO}),
    ({"type": "gif"}, set()),
    ({"after": "2023", "type": "jpeg", "place": "Portugal", "folder": "trips"}, {TRAM}),  # all of them at once
])
def test_each_filter_selects_exactly_its_photos(filter_server, filters, selected):
    assert paths(filter_server.get("/api/search?" + urlencode({"q": "", **filters}))) == selected
    ranked = filter_server.get("/api/search?" + urlencode({"q": "a photo", **filters}))
    assert paths(ranked) == selected and all(h["score"] is not None for h in ranked.json()["hits"])


def test_filters_alone_list_the_newest_first_with_date_place_and_camera(filter_server):
    reply = filter_server.get("/api/search?q=&after=2000")
    assert reply.status == 200 and reply.json()["query"] == ""
    hits = reply.json()["hits"]
    order = [h["path"] for h in hits]
    assert order[:2] == [GARDEN, TOWER] and set(order[2:4]) == {TRAM, COPY} and order[4] == TOKYO
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5] and all(h["score"] is None for h in hits)
    facts = {h["path"]: {key: h[key] for key in ("taken_at", "taken_offset", "place", "camera")} for h in hits}
    assert facts[TOWER] == {"taken_at": "2024-01-05T18:00:00", "taken_offset": "+01:00",
                            "place": "Paris, Île-de-France, France", "camera": "Apple iPhone 15 Pro"}
    assert facts[GARDEN] == {"taken_at": "2024-05-20T09:15:00", "taken_offset": None, "place": None,
                             "camera": "Canon EOS R6"}
    assert facts[TOKYO]["taken_offset"] == "+09:00" and facts[TOKYO]["place"] == "Tokyo, Tokyo, Japan"
    assert [h["path"] for h in filter_server.get("/api/search?q=&after=2000&k=2").json()["hits"]] == [GARDEN, TOWER]


def test_similar_and_a_search_by_photo_take_the_same_filters(filter_server, filter_library):
    tram = filter_library.ids[TRAM]
    assert paths(filter_server.get(f"/api/similar/{tram}?type=heic")) == {TOWER}
    within = filter_server.get(f"/api/similar/{tram}?folder=trips").json()["hits"]
    assert within[0]["id"] == tram and {h["path"] for h in within} == {TRAM, TOWER}
    assert within[0]["place"] == "Lisbon, Lisbon, Portugal"
    data = (filter_library.root / TRAM).read_bytes()
    by_photo = filter_server.request("POST", "/api/search-image?camera=canon", data, {"Content-Type": "image/jpeg"})
    assert paths(by_photo) == {GARDEN}
    placed = filter_server.request("POST", "/api/search-image?" + urlencode({"place": "Portugal", "k": 1}), data,
                                   {"Content-Type": "image/jpeg"})
    assert paths(placed) <= {TRAM, COPY} and len(placed.json()["hits"]) == 1


@pytest.mark.parametrize("query, words", [
    ("after=2024-13", "no such date"),
    ("before=yesterday", "not a date"),
    ("after=2024&before=2023", "later than"),
    ("folder=../elsewhere", "inside the library"),
    ("folder=nowhere", "no photo in such a folder"),
    ("place=Xyzzyland", "no such place"),
    ("near=Xyzzyland", "no place of that name"),
    ("near=91,0", "latitude"),
    ("near=Lisbon&within_km=0", "a distance in km"),
    ("near=Lisbon&within_km=far", "not a number"),
    ("within_km=5", "within_km needs a place: near PLACE"),
    ("folder=nowhere&q=x", "folder 'nowhere': no photo"),  # named as the API's parameters, not the CLI's options
    ("camera=Hasselblad", "no photo from such a camera"),
    ("type=bmpx", "not a format"),
    ("type=&place=%20", "the query is empty"),  # blank filters are no filters
])
def test_a_bad_filter_value_is_a_400_with_one_line(filter_server, filter_library, query, words):
    for reply in (filter_server.get(f"/api/search?q=&{query}"),
                  filter_server.get(f"/api/search?q=tram&{query}"),
                  filter_server.get(f"/api/similar/{filter_library.ids[TRAM]}?{query}"),
                  filter_server.request("POST", f"/api/search-image?{query}",
                                        (filter_library.root / TRAM).read_bytes(), {"Content-Type": "image/jpeg"})):
        if words == "the query is empty" and reply.status == 200:
            continue  # similar and a search by photo need no query
        assert reply.status == 400 and reply.headers["content-type"] == "application/json", reply.body
        message = reply.json()["error"]
        assert words in message and "\n" not in message and "Traceback" not in message and "--" not in message


def test_facets_offer_what_the_photos_say(filter_server):
    reply = filter_server.get("/api/facets")
    assert reply.status == 200 and reply.json() == {
        "folders": ["backup", "home", "trips/lisbon", "trips/paris"],  # the root itself is no choice
        "cities": ["Lisbon", "Paris", "Tokyo"],
        "regions": ["Lisbon", "Tokyo", "Île-de-France"],
        "countries": ["France", "Japan", "Portugal"],
        "cameras": ["Apple iPhone 15 Pro", "Canon EOS R6", "FUJIFILM X-T5", "SONY ILCE-7M3"],
        "types": ["heic", "jpeg", "png"],
        "first_taken": "2022-11-03T07:45:00",
        "last_taken": "2024-05-20T09:15:00",
    }


def test_the_copy_is_the_one_exact_duplicate_group(filter_server, filter_library):
    reply = filter_server.get("/api/duplicates")
    assert reply.status == 200
    pair = sorted((filter_library.ids[p], p) for p in (TRAM, COPY))
    photos = [{"id": i, "path": p, "score": 1.0} for i, p in pair]
    assert reply.json()["groups"] == [{"kind": "exact", "photos": photos}]


def test_the_page_keeps_the_filters_of_its_url(filter_server):
    """Without JS too: the controls hold the URL's filters, so submitting the form sends them again."""
    page = filter_server.get("/?" + urlencode({"q": "tram", "after": "2023-06-01", "folder": "trips",
                                               "place": "Portugal", "type": "jpeg"})).body.decode()
    assert 'id="f-after" name="after" type="date" value="2023-06-01"' in page
    assert "<option selected>trips</option>" in page and "<option selected>jpeg</option>" in page
    assert 'value="Portugal"' in page and 'id="f-camera" name="camera" list="camera-options" value=""' in page
    assert "style=" not in page and "<script>" not in page


def test_the_page_itself_renders_the_filtered_hits_with_date_and_place(filter_server):
    """A reload, a bookmark or a page without JS shows what the JSON twin returns."""
    reply = filter_server.get("/?" + urlencode({"q": "", "place": "Portugal"}))
    assert reply.status == 200
    html = reply.body.decode()
    assert f'data-path="{TRAM}"' in html and f'data-path="{COPY}"' in html
    assert f'data-path="{TOWER}"' not in html and f'data-path="{GARDEN}"' not in html
    assert "Lisbon" in html and "<time" in html
    bad = filter_server.get("/?" + urlencode({"q": "tram", "folder": "nowhere"}))
    assert bad.status == 400 and "folder &#39;nowhere&#39;: no photo in such a folder" in bad.body.decode()
