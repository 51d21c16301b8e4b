"""`pocketclip serve`: the library as a local web page and its JSON API, on the runtime alone.

    app.py             the ASGI app: routes, the library's errors as one-line JSON
    guard.py           Host allow-list, access token, same-origin writes, security headers
    served_library.py  the Library opened once, searched by many requests, swapped after an index run
    index_job.py       "index now" in a background thread, its progress as JSON and server-sent events
    photo_files.py     photos by store id inside the root only; thumbnails cached on disk
    api.py, pages.py   the JSON endpoints and the HTML page with the photo files
    static/, templates/  the page's JS, CSS and HTML, served by the app (no CDN, no build step)

It imports neither pocketclip.models nor pocketclip.exporter (an import-linter contract): it runs where
torch is not installed.
"""
from pocketclip.web.app import create_app
from pocketclip.web.served_library import ServedLibrary

__all__ = ["ServedLibrary", "create_app"]
