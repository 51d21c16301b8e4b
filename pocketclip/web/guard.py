"""What keeps `pocketclip serve` private: a Host allow-list, an access token off localhost, same-origin
writes, and security headers on every response, as one ASGI middleware in front of the app.

A photo library is personal: a page on another site must not be able to read it through the user's
browser (DNS rebinding is stopped by the Host allow-list, embedding by CORP and CSP, cross-site writes
by the Origin check), and nobody else on the network may read it without the token.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import re
import secrets
import socket
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}
TOKEN_COOKIE = "pocketclip_token"
TOKEN_HEADER = "x-pocketclip-token"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,}")
# No inline script or style anywhere (the page's JS and CSS are static files); blob: only so the
# page can preview a dropped photo that never left the browser.
CSP = "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"cross-origin-resource-policy", b"same-origin"),  # other sites cannot embed the photos
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # a query in the URL never leaks to another site
]


def is_local(host: str) -> bool:
    """True for the loopback names the server binds by default (127.0.0.1, localhost, ::1)."""
    return host.strip("[]").lower() in LOCAL_NAMES


def access_token(host: str, token: str | None) -> str | None:
    """The token every request must carry: the one given, or a fresh one when the server listens
    beyond localhost; None (no token) on localhost when none was given."""
    if token:
        if not TOKEN_PATTERN.fullmatch(token):
            raise ValueError("the token must be 16 or more letters, digits, '-' or '_' (it travels in a cookie)")
        return token
    return None if is_local(host) else secrets.token_urlsafe(24)


def allowed_hosts(bound_host: str) -> set[str]:
    """Names a browser may use in the Host header: localhost's and the bound address's; for a wildcard
    bind, this machine's own name and addresses too."""
    names = set(LOCAL_NAMES) | {bound_host.strip("[]").lower()}
    if bound_host in WILDCARD_HOSTS:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        try:
            names |= {info[4][0].lower() for info in socket.getaddrinfo(hostname, None)}
        except OSError:
            pass
    return names - {""}


def host_name(header: str) -> str:
    """The name part of a Host header: `[::1]:8765` -> `::1`, `Example.org.:80` -> `example.org`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.rstrip(".")


async def _refuse(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS, *headers]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: refuse foreign Hosts (400), cross-site writes (403) and requests without the
    token (401); add the security headers to every response that passes."""

    def __init__(self, app: ASGIApp, bound_host: str, token: str | None):
        self.app, self.token = app, token
        self.hosts = allowed_hosts(bound_host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if host_name(headers.get("host", "")) not in self.hosts:
            await _refuse(send, 400, "unknown Host header; open the page through localhost or the address it was "
                                     "started on")
            return
        origin = headers.get("origin")
        if scope["method"] not in ("GET", "HEAD") and origin is not None and \
                host_name(origin.split("://", 1)[-1]) not in self.hosts:
            await _refuse(send, 403, "cross-site request refused")
            return
        if self.token is not None and not await self._token_ok(scope, headers, send):
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _token_ok(self, scope: Scope, headers: Headers, send: Send) -> bool:
        """True when the request carries the token (header or cookie). A `?token=` link sets the cookie and
        redirects to the same address without it, so the token stays out of history and bookmarks."""
        offered = headers.get(TOKEN_HEADER) or _cookie(headers.get("cookie", ""), TOKEN_COOKIE)
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            offered = authorization[7:].strip()
        if offered and hmac.compare_digest(offered.encode(), self.token.encode()):
            return True
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        linked = next((value for key, value in query if key == "token"), None)
        if linked and hmac.compare_digest(linked.encode(), self.token.encode()):
            rest = urlencode([(key, value) for key, value in query if key != "token"])
            path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
            location = same_site(path) + (f"?{rest}" if rest else "")
            cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
            await _refuse(send, 303, "token accepted", [(b"location", location.encode()),
                                                        (b"set-cookie", cookie.encode())])
            return False
        await _refuse(send, 401, "this server needs its access token: open the link `pocketclip serve` printed, "
                                 "or send the X-Pocketclip-Token header")
        return False


def same_site(path: str) -> str:
    """A redirect target that stays on this site: one leading `/`, no leading `\\`, `%5C` or `%2F` after it
    (browsers read `/\\host` and `//host` as another host), a `\\` anywhere escaped, no control characters."""
    cleaned = "".join("%5C" if c == "\\" else c for c in path if c.isprintable())
    while True:
        stripped = cleaned.lstrip("/")
        if stripped[:3].upper() in ("%5C", "%2F"):
            stripped = stripped[3:]
        if stripped == cleaned:
            return "/" + cleaned
        cleaned = stripped


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
