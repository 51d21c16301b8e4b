"""The JSON API over HTTP: the CLI's hit schema, similar, status, thumbnails from the disk cache, photos by id,
search by an uploaded photo, and bad input as a one-line JSON 4xx."""
import io
import json
import uuid

import pytest
from click.testing import CliRunner
from PIL import Image

HIT_KEYS = {"rank", "id", "path", "score", "taken_at", "taken_offset", "place", "camera"}


def test_search_answers_what_the_cli_answers(server, web_library):
    from pocketclip.cli import cli

    reply = server.get("/api/search?q=two+red+circles&k=3")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    hits = reply.json()["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3] and all(set(h) == HIT_KEYS for h in hits)
    cli_hits = json.loads(CliRunner().invoke(cli, ["search", "two red circles", "--db", str(web_library.db), "-k", "3",
                                                   "--json"]).stdout)
    assert [(h["id"], h["score"]) for h in hits] == [(h["id"], h["score"]) for h in cli_hits]
    assert [str(web_library.root / h["path"]) for h in hits] == [h["path"] for h in cli_hits]


def test_similar_puts_the_photo_itself_first(server, web_library):
    hits = server.get(f"/api/similar/{web_library.ok_id}?k=5").json()["hits"]
    assert len(hits) == 5 and hits[0]["id"] == web_library.ok_id and hits[0]["score"] > 0.999


def test_duplicates_answer_in_json(server):
    reply = server.get("/api/duplicates")
    assert reply.status == 200 and isinstance(reply.json()["groups"], list) and reply.json()["took_ms"] >= 0


def test_status_reports_the_library_and_the_model(server, web_library):
    status = server.get("/api/status").json()
    assert (status["ok"], status["deleted"]) == (23, 1)
    assert status["fingerprint"] == web_library.bundle.fingerprint and status["model"] == "demo-student"
    assert status["root"] == str(web_library.root.resolve()) and status["last_indexed"]
    assert status["index_job"]["state"] == "idle"


def test_the_page_renders_the_hits_and_points_at_its_json_twin(server):
    reply = server.get("/?q=two+red+circles&k=3")
    page = reply.body.decode()
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    assert page.count('loading="lazy"') == 3 and 'href="/api/search?q=two+red+circles&amp;k=3"' in page
    assert "<script>" not in page and "style=" not in page  # the CSP forbids inline code
    assert server.get("/static/app.js").status == 200 and server.get("/static/style.css").status == 200


def test_a_thumbnail_is_an_upright_jpeg_made_once_then_read_from_the_disk_cache(server, web_library):
    first = server.get(f"/thumb/{web_library.ok_id}")
    assert first.status == 200 and first.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(first.body)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 320
    assert first.headers["x-pocketclip-cache"] == "miss"
    cached = list((server.cache / "pocketclip" / "thumbs").rglob("*.jpg"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    again = server.get(f"/thumb/{web_library.ok_id}")
    assert again.headers["x-pocketclip-cache"] == "hit" and again.body == first.body
    assert cached[0].stat().st_mtime_ns == stamp
    unchanged = server.get(f"/thumb/{web_library.ok_id}", {"If-None-Match": first.headers["etag"]})
    assert unchanged.status == 304


def test_a_photo_is_served_by_id(server, web_library):
    reply = server.get(f"/photo/{web_library.ok_id}")
    assert reply.status == 200 and reply.headers["content-type"] == "image/jpeg"
    assert reply.body == (web_library.root / "photo_004.jpg").read_bytes()


def test_an_uploaded_photo_finds_itself_raw_or_multipart(server, web_library):
    data = (web_library.root / "photo_004.jpg").read_bytes()
    raw = server.request("POST", "/api/search-image?k=3", data, {"Content-Type": "image/jpeg"})
    assert raw.status == 200
    hits = raw.json()["hits"]
    assert hits[0]["id"] == web_library.ok_id and hits[0]["score"] > 0.999 and set(hits[0]) == HIT_KEYS
    boundary = uuid.uuid4().hex
    form = (f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="x.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    multipart = server.request("POST", "/api/search-image?k=3", form,
                               {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert multipart.status == 200 and multipart.json()["hits"] == hits


@pytest.mark.parametrize("body, status, words", [
    (b"", 400, "empty"),
    (b"not a photo at all", 400, "not an image"),
    (b"\xff" * (20 * 1024 * 1024 + 1), 413, "larger than 20 MB"),
])
def test_a_bad_upload_is_a_one_line_error(server, body, status, words):
    reply = server.request("POST", "/api/search-image", body, {"Content-Type": "application/octet-stream"})
    assert reply.status == status and words in reply.json()["error"]


@pytest.mark.parametrize("path, status", [
    ("/api/search?q=", 400),
    ("/api/search?q=%20%20", 400),
    ("/api/search?q=dog&k=0", 400),
    ("/api/search?q=dog&k=501", 400),
    ("/api/search?q=dog&k=ten", 400),
    ("/api/search?q=dog&relative=2", 400),
    ("/api/search?q=dog%20%2B%20", 400),  # "dog + ": query arithmetic with nothing after the operator
    ("/api/search?q=dog%20%2B%20/etc/passwd", 400),  # a path in a query: the server reads no file for a page
    ("/api/duplicates?threshold=abc", 400),
    ("/api/duplicates?threshold=0", 400),
    ("/api/similar/999999", 404),
    ("/api/similar/99999999999999999999999", 404),
    ("/api/similar/abc", 404),
    ("/api/nothing-here", 404),
])
def test_bad_input_is_a_json_4xx_with_one_line(server, path, status):
    reply = server.get(path)
    assert reply.status == status and reply.headers["content-type"] == "application/json"
    message = reply.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message


def test_the_page_shows_a_bad_request_inline(server):
    reply = server.get("/?like=999999")
    assert reply.status == 404 and "no indexed photo has id 999999" in reply.body.decode()


def test_the_server_runs_on_the_runtime_alone_without_torch(server):
    maps = open(f"/proc/{server.process.pid}/maps").read()
    assert server.get("/api/status").status == 200 and "libtorch" not in maps and "/torch/" not in maps


def test_a_thin_or_gigapixel_upload_is_never_a_server_error(server):
    """A 1,000,000 x 1 PNG is 3 KB: it is searched by (its memory bounded like any photo's); a header that
    claims 10 gigapixels is refused from the header."""
    from pocketclip.runtime.indexing.scenario_writer import bomb_png

    thin = io.BytesIO()
    Image.new("RGB", (1_000_000, 1), (220, 30, 30)).save(thin, "PNG")
    reply = server.request("POST", "/api/search-image?k=3", thin.getvalue(), {"Content-Type": "image/png"})
    assert reply.status == 200 and len(reply.json()["hits"]) == 3
    bomb = server.request("POST", "/api/search-image", bomb_png(), {"Content-Type": "image/png"})
    assert bomb.status == 400 and "decompression bomb" in bomb.json()["error"]
