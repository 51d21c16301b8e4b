"""The HTML page and the photo files: the page renders the same hits as its JSON twin (so a reload, a
bookmark or a page without JS shows them), thumbnails come from the disk cache, photos by id only.
"""
from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.templating import Jinja2Templates

from pocketclip.runtime.indexing.decode import DecodeError
from pocketclip.runtime.library import UnknownPhoto
from pocketclip.runtime.search.filters import PARAM_NAMES, FilterError
from pocketclip.web.api import filters_param, k_param, relative_param, served
from pocketclip.web.photo_files import BROWSER_TYPES, jpeg_bytes

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# The URL names a photo by id and never changes when the file does: the browser asks again each time
# (If-None-Match), and the thumbnail's key answers 304 without reading the photo.
REVALIDATE = "private, no-cache"


def status_line(status: dict) -> str:
    model = status.get("model") or "model"
    line = (f"{status['ok']} photos · {status['error']} errors · {model} "
            f"({(status.get('fingerprint') or '')[:12]})")
    return line + (f" · last indexed {status['last_indexed']}" if status.get("last_indexed") else "")


def home(request: Request) -> Response:
    """GET /?q=TEXT or /?like=ID: the search page, with the hits already in it."""
    query = request.query_params.get("q", "")
    like = request.query_params.get("like", "")
    hits, message, code, json_url = [], "", 200, "/api/status"
    try:
        k, relative, filters = k_param(request), relative_param(request), filters_param(request)
        if like:
            if not like.isdigit():
                raise UnknownPhoto(f"no indexed photo has id {like[:20]!r}")
            hits, _ = served(request).similar(int(like), k, relative, filters)
            message, json_url = f"Photos like #{like}", f"/api/similar/{like}?{request.url.query}"
        elif query.strip() or filters:
            hits, _ = served(request).search_text(query, k, relative, filters)
            json_url = f"/api/search?{request.url.query}"
    except HTTPException as exc:
        message, code = exc.detail, exc.status_code
    except FilterError as exc:
        message, code = exc.message(PARAM_NAMES), 400
    except UnknownPhoto as exc:
        message, code = str(exc), 404
    status = served(request).status()
    facts = served(request).hit_facts(hits) if hits else {}
    context = {"query": query, "hits": [{"id": h.id, "path": h.path, "score": h.score, **facts.get(h.id, {})}
                                        for h in hits],
               "message": message, "status_line": status_line(status), "json_url": json_url}
    return templates.TemplateResponse(request, "index.html", context, status_code=code)


def _photo_or_404(request: Request):
    found = served(request).photo(request.path_params["photo_id"])
    if found is None:
        raise HTTPException(404, "no such photo")
    return found


def thumbnail(request: Request) -> Response:
    """GET /thumb/{id}: a JPEG of at most 320 px, upright, from the disk cache (made on first use)."""
    row, file = _photo_or_404(request)
    try:
        cached, key, was_cached = served(request).thumbs.thumbnail(row, file)
    except DecodeError as exc:
        raise HTTPException(404, f"photo {row.id} cannot be decoded: {exc}") from None
    etag = f'"{key}"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE, "X-Pocketclip-Cache": "hit" if was_cached else "miss"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(cached, media_type="image/jpeg", headers=headers)


def photo(request: Request) -> Response:
    """GET /photo/{id}: the photo itself; formats a browser cannot show (HEIC, TIFF) as JPEG."""
    row, file = _photo_or_404(request)
    media_type = BROWSER_TYPES.get(file.suffix.lower())
    if media_type is not None:
        return FileResponse(file, media_type=media_type, headers={"Cache-Control": REVALIDATE})
    try:
        return Response(jpeg_bytes(file), media_type="image/jpeg", headers={"Cache-Control": REVALIDATE})
    except DecodeError as exc:
        raise HTTPException(404, f"photo {row.id} cannot be decoded: {exc}") from None
