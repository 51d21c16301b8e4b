"""`pocketclip serve`: the library as a local web page (pocketclip.web), its model loaded once."""
from __future__ import annotations

from pathlib import Path

import click

from pocketclip.cli.common import db_option, library_errors, torch_reference


def page_url(host: str, port: int, token: str | None) -> str:
    """The address to open: a wildcard bind is shown as this machine's name, IPv6 in brackets."""
    import socket

    shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; any but localhost needs an access token (one is generated)")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--token", default=None,
              help="access token every request must carry (default: none on localhost, a fresh one elsewhere)")
def serve_command(db_path: Path, host: str, port: int, token: str | None) -> None:
    """Search and browse the library in a web page on this machine: results as you type, thumbnails, more
    like this, search by a dropped photo, index now. Read-only, except for the index button.

    Example: pocketclip serve --port 8765
    """
    import uvicorn

    from pocketclip.runtime.library import Library
    from pocketclip.web.app import create_app
    from pocketclip.web.guard import access_token
    from pocketclip.web.served_library import ServedLibrary

    try:
        token = access_token(host, token)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--token") from None
    with library_errors():
        library = Library.open(db_path, reference=torch_reference)
        served = ServedLibrary(library, reference=torch_reference)
        photos = library.status()["ok"]
    click.echo(f"{photos} photos of {library.root}, model {library.bundle.manifest['model'].get('name')}")
    click.echo(f"open {page_url(host, port, token)}  (Ctrl-C stops)", nl=True)
    uvicorn.run(create_app(served, host, token), host=host, port=port, log_level="warning", access_log=False,
                server_header=False, timeout_graceful_shutdown=3)
