"""What keeps the page private: files by store id inside the root only, the Host allow-list, security headers
on every response, no cross-site writes, and the access token off localhost."""
import pytest
from click.testing import CliRunner
from web_support import serving


def traversal_paths(library) -> list[str]:
    return ["/photo/..%2f..%2fetc%2fpasswd", "/photo/../../etc/passwd", "/thumb/..%2f..%2fetc%2fpasswd",
            "/photo/%2e%2e/%2e%2e/etc/passwd", "/photo/-1", "/photo/0", "/photo/1.jpg", "/photo/99999999999999999999",
            "/static/../../../../etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd", "//etc/passwd",
            f"/photo/{library.deleted_id}", f"/thumb/{library.deleted_id}",  # deleted since indexing
            f"/photo/{library.linked_id}", f"/thumb/{library.linked_id}"]  # now a link out of the root


def test_no_path_reaches_a_file_outside_the_library(server, web_library):
    secret = web_library.outside.read_bytes()
    for path in traversal_paths(web_library):
        reply = server.get(path)
        assert reply.status == 404, path
        assert b"root:" not in reply.body and secret not in reply.body, path


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}",
                                  "localhost.evil.example", "192.168.1.20:{port}", ""])
def test_a_foreign_host_header_is_refused(server, host):
    reply = server.get("/api/status", {"Host": host.format(port=server.port)})
    assert reply.status == 400 and "Host" in reply.json()["error"]
    assert "default-src 'self'" in reply.headers["content-security-policy"]


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "LOCALHOST"])
def test_local_host_names_are_served(server, host):
    assert server.get("/api/status", {"Host": host.format(port=server.port)}).status == 200


def test_every_response_carries_the_security_headers(server, web_library):
    for reply in (server.get("/"), server.get("/api/search?q=dog"), server.get("/api/search?q="),
                  server.get("/photo/0"), server.get(f"/thumb/{web_library.ok_id}"), server.get("/static/app.js"),
                  server.request("POST", "/api/search-image", b"x" * 30_000_000)):
        assert reply.headers["content-security-policy"].startswith("default-src 'self'")
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["cross-origin-resource-policy"] == "same-origin"


def test_a_cross_site_write_is_refused(server):
    reply = server.request("POST", "/api/index", b"", {"Origin": "http://evil.example"})
    assert reply.status == 403
    assert server.get("/api/index/progress").json()["state"] == "idle"
    same_site = server.request("POST", "/api/search-image", b"", {"Origin": f"http://127.0.0.1:{server.port}"})
    assert same_site.status == 400  # past the Origin check: an empty upload


def test_a_token_is_asked_of_every_request_and_a_link_sets_the_cookie(web_library, tmp_path):
    token = "a-long-enough-test-token"
    with serving(web_library.db, tmp_path, "--token", token) as server:
        for path in ("/", "/api/status", f"/thumb/{web_library.ok_id}", "/static/app.js", "/api/index/progress"):
            assert server.get(path).status == 401, path
        assert server.get("/api/status", {"X-Pocketclip-Token": "wrong-token-of-some-length"}).status == 401
        assert server.get("/api/status", {"X-Pocketclip-Token": token}).status == 200
        assert server.get("/api/status", {"Authorization": f"Bearer {token}"}).status == 200
        link = server.get(f"/?q=red&token={token}")
        assert link.status == 303 and link.headers["location"] == "/?q=red"
        cookie = link.headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in link.headers["set-cookie"] and "SameSite=Strict" in link.headers["set-cookie"]
        assert server.get("/?q=red", {"Cookie": cookie}).status == 200
        assert server.request("POST", "/api/index", b"", {"Cookie": "pocketclip_token=nope"}).status == 401
        # A token link never redirects off the site, however its path is spelled.
        for path in ("/\\evil.com", "//evil.com", "/%5Cevil.com", "/%2F%2Fevil.com", "/\\/\\evil.com"):
            moved = server.get(f"{path}?token={token}")
            assert moved.status == 303 and moved.headers["location"] == "/evil.com", (path, moved.headers)


def test_another_address_than_localhost_gets_a_generated_token(web_library, monkeypatch):
    from pocketclip.cli import cli

    started = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: started.update(app=app, **kwargs))
    result = CliRunner().invoke(cli, ["serve", "--db", str(web_library.db), "--host", "192.0.2.10"])
    assert result.exit_code == 0, result.output
    assert started["host"] == "192.0.2.10" and started["app"].token
    assert f"http://192.0.2.10:8765/?token={started['app'].token}" in result.output
    assert "192.0.2.10" in started["app"].hosts
    local = CliRunner().invoke(cli, ["serve", "--db", str(web_library.db)])
    assert local.exit_code == 0 and started["host"] == "127.0.0.1" and started["app"].token is None
    short = CliRunner().invoke(cli, ["serve", "--db", str(web_library.db), "--token", "abc;"])
    assert short.exit_code == 2 and "--token" in short.output


def test_serve_refuses_a_missing_store_in_one_line(tmp_path):
    from pocketclip.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and result.output.startswith("Error: no store at") and "Traceback" not in result.output


def test_host_names_are_read_as_browsers_send_them():
    from pocketclip.web.guard import access_token, host_name

    assert [host_name(h) for h in ("[::1]:8765", "LocalHost:80", "127.0.0.1", "example.org.:1", "[::1")] == \
        ["::1", "localhost", "127.0.0.1", "example.org", ""]
    assert access_token("127.0.0.1", None) is None and access_token("::1", None) is None
    assert len(access_token("0.0.0.0", None)) >= 16 and access_token("0.0.0.0", None) != access_token("0.0.0.0", None)
