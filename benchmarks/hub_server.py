"""A model hub on 127.0.0.1 that speaks the part of the Hugging Face Hub's HTTP protocol `huggingface_hub`
downloads with, for the pull tests and the pull benchmark (no network here, and no real hub in a test).

    GET  /api/models/REPO[/revision/REV]   repo info: the commit, and each file's size, git blob id, LFS sha256
    GET  /api/models/REPO/tree/REV[/PATH]  the file listing
    HEAD /REPO/resolve/REV/PATH            X-Repo-Commit, ETag (the LFS sha256, or the git blob id), size
    GET  /REPO/resolve/REV/PATH            the bytes; `Range: bytes=N-` answers 206 from byte N (resume)

Faults, for the tests: `cut[path] = n` ends the next response for `path` after n bytes (a dropped connection);
`flip[path] = True` serves the file with one byte changed while the metadata keeps the true hash; `rate` makes
every connection share one link of that many bytes a second (the benchmark's realistic network). Written by
hand because no maintained package serves the hub protocol locally (the hub itself is a hosted service).
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

LFS_FROM = 1024  # files this large are stored in LFS (etag = sha256), as the hub does for binaries


@dataclass
class HubFile:
    path: Path  # served from disk, so a 600 MB file is never held in memory

    def __post_init__(self):
        self.size = self.path.stat().st_size
        h = hashlib.sha256()
        g = hashlib.sha1(b"blob %d\0" % self.size)
        with self.path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
                g.update(block)
        self.sha256, self.blob_id = h.hexdigest(), g.hexdigest()

    @property
    def lfs(self) -> bool:
        return self.size >= LFS_FROM

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_id


@dataclass
class Repo:
    commit: str
    files: dict[str, HubFile]
    revisions: tuple[str, ...] = ("main",)


@dataclass
class Hub:
    repos: dict[str, Repo] = field(default_factory=dict)
    cut: dict[str, int] = field(default_factory=dict)
    flip: dict[str, bool] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)
    rate: float | None = None  # bytes/s shared by every connection, as one network link (None: loopback speed)
    _link_free_at: float = 0.0
    _link: threading.Lock = field(default_factory=threading.Lock)

    def send_slot(self, n: int) -> None:
        """Wait until the shared link has carried `n` more bytes at `rate`."""
        if not self.rate:
            return
        with self._link:
            start = max(time.monotonic(), self._link_free_at)
            self._link_free_at = start + n / self.rate
        time.sleep(max(0.0, start + n / self.rate - time.monotonic()))

    def add(self, repo_id: str, folder: Path, revisions: tuple[str, ...] = ("main",)) -> Repo:
        """Serve every file under `folder` as repo `repo_id`; its commit id is derived from the contents."""
        files = {p.relative_to(folder).as_posix(): HubFile(p) for p in sorted(folder.rglob("*")) if p.is_file()}
        commit = hashlib.sha1("".join(f"{k}{v.sha256}" for k, v in files.items()).encode()).hexdigest()
        self.repos[repo_id] = repo = Repo(commit, files, revisions)
        return repo


def _split(path: str, hub: Hub) -> tuple[str, str] | None:
    """'owner/name/rest' -> (repo id, rest) for a served repo id (one or two segments)."""
    parts = path.split("/")
    for n in (2, 1):
        if "/".join(parts[:n]) in hub.repos:
            return "/".join(parts[:n]), "/".join(parts[n:])
    return None


def _handler(hub: Hub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: the tests read `hub.requests`
            pass

        def _json(self, value, status: int = 200) -> None:
            body = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _missing(self, what: str, code: str = "EntryNotFound") -> None:
            body = json.dumps({"error": what}).encode()
            self.send_response(404)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", what)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _repo(self, rest: str) -> tuple[Repo, str, str] | None:
            found = _split(rest, hub)
            if found is None:
                self._missing(f"Repository not found: {rest}", "RepoNotFound")
                return None
            return hub.repos[found[0]], found[0], found[1]

        def _info(self, repo_id: str, repo: Repo, revision: str) -> None:
            if revision not in repo.revisions and revision != repo.commit:
                self._missing(f"Invalid rev id: {revision}", "RevisionNotFound")
                return
            siblings = [{"rfilename": name, "size": f.size, "blobId": f.blob_id,
                         **({"lfs": {"sha256": f.sha256, "size": f.size, "pointerSize": 134}} if f.lfs else {})}
                        for name, f in repo.files.items()]
            self._json({"id": repo_id, "modelId": repo_id, "sha": repo.commit, "private": False,
                        "siblings": siblings, "tags": [], "downloads": 0, "likes": 0})

        def _tree(self, repo: Repo, rest: str) -> None:
            revision, _, prefix = rest.partition("/")
            if revision not in repo.revisions and revision != repo.commit:
                self._missing(f"Invalid rev id: {revision}", "RevisionNotFound")
                return
            self._json([{"type": "file", "path": name, "size": f.size, "oid": f.blob_id,
                         **({"lfs": {"oid": f.sha256, "size": f.size, "pointerSize": 134}} if f.lfs else {})}
                        for name, f in repo.files.items() if name.startswith(prefix)])

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve()

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve()

        def _serve(self) -> None:
            path = unquote(urlparse(self.path).path).lstrip("/")
            hub.requests.append((self.command, path, self.headers.get("Range")))
            if path.startswith("api/models/"):
                found = self._repo(path[len("api/models/"):])
                if found is None:
                    return
                repo, repo_id, rest = found
                if rest.startswith("tree/"):
                    self._tree(repo, rest[len("tree/"):])
                else:
                    self._info(repo_id, repo, rest[len("revision/"):] if rest.startswith("revision/") else "main")
                return
            found = self._repo(path)
            if found is None:
                return
            repo, _, rest = found
            kind, _, rest = rest.partition("/")
            revision, _, name = rest.partition("/")
            if kind != "resolve" or (revision not in repo.revisions and revision != repo.commit):
                self._missing(f"Invalid rev id: {revision}", "RevisionNotFound")
                return
            if name not in repo.files:
                self._missing(f"Entry not found: {name}")
                return
            self._file(repo, name)

        def _file(self, repo: Repo, name: str) -> None:
            f = repo.files[name]
            start = 0
            if (ranged := self.headers.get("Range", "")).startswith("bytes="):
                start = int(ranged[6:].split("-")[0] or 0)
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{f.etag}"')
            if f.lfs:
                self.send_header("X-Linked-Etag", f'"{f.sha256}"')
                self.send_header("X-Linked-Size", str(f.size))
            self.send_header("Content-Length", str(f.size - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{f.size - 1}/{f.size}")
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if self.command == "HEAD":
                return
            limit = hub.cut.pop(name, None)
            sent = 0
            with f.path.open("rb") as source:
                source.seek(start)
                for block in iter(lambda: source.read(1 << 20), b""):
                    if hub.flip.get(name) and sent == 0 and start == 0:
                        block = bytes([block[0] ^ 0xFF]) + block[1:]
                    hub.send_slot(len(block))
                    if limit is not None and sent + len(block) > limit:
                        self.wfile.write(block[: limit - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(block)
                    sent += len(block)

    return Handler


class HubServer:
    """`with HubServer(hub) as url:` serves `hub` on 127.0.0.1 (a free port) for the block's duration."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
