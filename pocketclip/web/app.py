"""The ASGI app of `pocketclip serve`: routes, the library's errors as JSON, the Guard in front.

    app = create_app(ServedLibrary(Library.open("index.db")), host="127.0.0.1", token=None)

Any server that speaks ASGI can run it; the CLI runs it on uvicorn.
"""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pocketclip.runtime.bundle.manifest import BundleError
from pocketclip.runtime.indexing.decode import DecodeError
from pocketclip.runtime.library import UnknownPhoto
from pocketclip.runtime.one_line import one_line
from pocketclip.runtime.search.filters import PARAM_NAMES, FilterError
from pocketclip.runtime.store import StoreError, StoreLocked
from pocketclip.web import api, pages
from pocketclip.web.guard import Guard
from pocketclip.web.served_library import ServedLibrary

log = logging.getLogger("pocketclip.web")


def _error(status: int):
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": one_line(exc)}, status_code=status)
    return handler


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _filter_error(request: Request, exc: FilterError) -> JSONResponse:
    return JSONResponse({"error": exc.message(PARAM_NAMES)}, status_code=400)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    # the traceback goes to the server's log, never to the page
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    if isinstance(exc, sqlite3.Error):
        return JSONResponse({"error": f"the store failed: {exc}"}, status_code=500)
    return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server's log"}, status_code=500)


def routes() -> list:
    return [
        Route("/", pages.home),
        Route("/thumb/{photo_id:int}", pages.thumbnail),
        Route("/photo/{photo_id:int}", pages.photo),
        Route("/api/search", api.search),
        Route("/api/similar/{photo_id:int}", api.similar),
        Route("/api/search-image", api.search_image, methods=["POST"]),
        Route("/api/status", api.status),
        Route("/api/duplicates", api.duplicates),
        Route("/api/facets", api.facets),
        Route("/api/index", api.start_index, methods=["POST"]),
        Route("/api/index/progress", api.index_progress),
        Route("/api/index/events", api.index_events),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]


def create_app(served: ServedLibrary, host: str = "127.0.0.1", token: str | None = None) -> Guard:
    """The app over an opened library; `host` is the address the server binds (its name is allowed in the
    Host header) and `token`, when not None, is required on every request. The Guard wraps the whole
    app, error pages included, so every response carries its headers."""
    handlers = {
        HTTPException: _http_error,
        FilterError: _filter_error,  # a filter's bad value, named as the API's parameter
        ValueError: _error(400),  # an empty query, a k or cut-off out of range
        DecodeError: _error(400),  # an upload that is not a photo
        UnknownPhoto: _error(404),
        StoreLocked: _error(409),
        StoreError: _error(500),
        BundleError: _error(500),
        Exception: _server_error,
    }
    app = Starlette(routes=routes(), exception_handlers=handlers)
    app.state.served = served
    return Guard(app, bound_host=host, token=token)
