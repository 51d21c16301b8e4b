"""`pocketclip serve` in a subprocess for tests/web: a free port on 127.0.0.1, waited for with a deadline,
plain http.client requests (so a test can send any Host header or raw path), stopped in a finalizer; and
a library indexed the way a user indexes one."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

START_TIMEOUT_S = 60
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")  # Debian's, for the browser tests
WAIT_S = 20
REQUEST_TIMEOUT_S = 30
POCKETCLIP = Path(sys.executable).with_name("pocketclip")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    output: Path  # what the server printed
    cache: Path  # its XDG_CACHE_HOME

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return self.request("GET", path, headers=headers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"pocketclip serve exited with {server.process.returncode}:\n"
                               f"{server.output.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pocketclip serve did not listen within {START_TIMEOUT_S} s:\n{server.output.read_text()}")


@contextmanager
def serving(db: Path, folder: Path, *args: str):
    """A running `pocketclip serve --db DB` (extra CLI args appended), its cache and output in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    output = folder / f"serve-{port}.log"
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    with open(output, "wb") as log:
        process = subprocess.Popen([str(POCKETCLIP), "serve", "--db", str(db), "--port", str(port), *args],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(port, process, output, folder / "cache")
    try:
        _wait_for_port(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def index(folder: Path, bundle_root: Path, db: Path) -> None:
    from pocketclip.cli import cli

    result = CliRunner().invoke(cli, ["index", str(folder), "--bundle", str(bundle_root), "--db", str(db), "--silent"])
    assert result.exit_code == 0, result.output


def photo_id(db: Path, path: str) -> int:
    from pocketclip.runtime.store import Store

    store = Store.open(db, readonly=True)
    try:
        return store.execute("SELECT id FROM photos WHERE path = ?", [path]).fetchone()[0]
    finally:
        store.close()


# The filter library: what each photo says about itself (EXIF written as a camera writes it), by file name.
# The copy of tram.jpg in backup/ has the same bytes, so the library holds one exact-duplicate group.
FILTER_PHOTOS = {
    "trips/lisbon/tram.jpg": {"rgb": (200, 40, 40), "fmt": "JPEG", "taken": "2023:06:14 10:30:00", "offset": "+01:00",
                              "gps": (38.7167, -9.1333), "make": "FUJIFILM", "model": "X-T5"},
    "trips/paris/tower.heic": {"rgb": (40, 60, 200), "fmt": "HEIF", "taken": "2024:01:05 18:00:00", "offset": "+01:00",
                               "gps": (48.8534, 2.3488), "make": "Apple", "model": "iPhone 15 Pro"},
    "home/garden.png": {"rgb": (40, 180, 60), "fmt": "PNG", "taken": "2024:05:20 09:15:00", "make": "Canon",
                        "model": "EOS R6"},  # no GPS: never in any place
    "tokyo.jpg": {"rgb": (230, 210, 30), "fmt": "JPEG", "taken": "2022:11:03 07:45:00", "offset": "+09:00",
                  "gps": (35.6895, 139.6917), "make": "SONY", "model": "ILCE-7M3"},
}
FILTER_COPY = "backup/tram-copy.jpg"


def make_filter_photos(root: Path) -> None:
    """The FILTER_PHOTOS files under `root`, and FILTER_COPY."""
    from pocketclip.runtime.facts.exif_writer import photo_with_exif

    for name, facts in FILTER_PHOTOS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo_with_exif(size=(160, 120), **facts))
    (root / FILTER_COPY).parent.mkdir(parents=True, exist_ok=True)
    (root / FILTER_COPY).write_bytes((root / "trips/lisbon/tram.jpg").read_bytes())


def photo_ids(db: Path) -> dict[str, int]:
    """Every 'ok' photo's id by its path."""
    from pocketclip.runtime.store import Store

    store = Store.open(db, readonly=True)
    try:
        return dict(store.execute("SELECT path, id FROM photos WHERE status = 'ok'").fetchall())
    finally:
        store.close()
