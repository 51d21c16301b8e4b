"""The JSON API: the page's data, one endpoint per thing the page shows (Datasette's JSON twins).

Hits have the schema of `pocketclip search --json` (rank, id, path, score), with the path relative to
the library's root as the store keeps it (a name that is not valid UTF-8 as `.bytes:` and %XX escapes). Bad input is a 4xx with {"error": "one line"}; the app's handlers map the library's
named errors to their status codes.
"""
from __future__ import annotations

import math

from python_multipart.multipart import FormParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from pocketclip.runtime.search.filters import Filters
from pocketclip.runtime.search.hits import Hit
from pocketclip.web.served_library import ServedLibrary

DEFAULT_K = 48  # a screenful of thumbnails
MAX_K = 500
UPLOAD_LIMIT = 20 * 1024 * 1024  # bytes: a large phone photo fits, a runaway upload does not


def served(request: Request) -> ServedLibrary:
    return request.app.state.served


def k_param(request: Request) -> int:
    raw = request.query_params.get("k")
    if raw is None or raw == "":
        return DEFAULT_K
    try:
        k = int(raw)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_K:
        raise HTTPException(400, f"k must be a whole number from 1 to {MAX_K}, not {raw[:20]!r}")
    return k


def relative_param(request: Request) -> float | None:
    raw = request.query_params.get("relative")
    if raw is None or raw == "":
        return None
    try:
        relative = float(raw)
    except ValueError:
        relative = math.nan
    if not 0 <= relative <= 1:
        raise HTTPException(400, f"relative must be a number from 0 to 1, not {raw[:20]!r}")
    return relative


def filters_param(request: Request) -> Filters:
    """The filters of a search (after, before, folder, near, within_km, place, camera, type), checked."""
    return Filters.from_params(request.query_params)


def hits_json(request: Request, hits: list[Hit], took_ms: float, **about) -> JSONResponse:
    """Hits with the date taken, place and camera of each (null where the photo does not say)."""
    facts = served(request).hit_facts(hits)
    blank = {"taken_at": None, "taken_offset": None, "place": None, "camera": None}
    return JSONResponse({**about, "took_ms": round(took_ms, 2),
                         "hits": [h.to_json() | facts.get(h.id, blank) for h in hits]})


def search(request: Request) -> JSONResponse:
    """GET /api/search?q=TEXT&k=N&relative=R&after=&before=&folder=&near=&within_km=&place=&camera=&type=
    (q may be empty when a filter is given: the newest photos the filters select)."""
    query = request.query_params.get("q", "")
    k, relative, filters = k_param(request), relative_param(request), filters_param(request)
    hits, took = served(request).search_text(query, k, relative, filters)
    return hits_json(request, hits, took, query=query, k=k)


def facets(request: Request) -> JSONResponse:
    """GET /api/facets: what the filters can choose from (folders, cities, regions, countries, cameras, types,
    the first and last date taken)."""
    return JSONResponse(served(request).facet_values())


def duplicates(request: Request) -> JSONResponse:
    """GET /api/duplicates?threshold=C: groups of exact copies and near-duplicates, biggest first."""
    raw = request.query_params.get("threshold")
    try:
        threshold = None if raw is None else float(raw)
    except ValueError:
        raise HTTPException(400, f"threshold must be a cosine in (0, 1], not {raw[:20]!r}") from None
    groups, paths, took = served(request).duplicates(threshold)
    return JSONResponse({"took_ms": round(took, 2), "groups": [g.to_json(paths) for g in groups]})


def similar(request: Request) -> JSONResponse:
    """GET /api/similar/{id}?k=N&relative=R: photos like one of the library's (itself first)."""
    photo_id = request.path_params["photo_id"]
    k, relative, filters = k_param(request), relative_param(request), filters_param(request)
    hits, took = served(request).similar(photo_id, k, relative, filters)
    return hits_json(request, hits, took, like=photo_id, k=k)


async def read_upload(request: Request) -> bytes:
    """The uploaded photo's bytes, kept in memory: a multipart form's first file, or the raw body."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > UPLOAD_LIMIT:
        raise HTTPException(413, f"the upload is larger than {UPLOAD_LIMIT // 2**20} MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > UPLOAD_LIMIT:
            raise HTTPException(413, f"the upload is larger than {UPLOAD_LIMIT // 2**20} MB")
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type == b"multipart/form-data":
        files = []
        # in memory only: the parser's spill-to-disk threshold is set above the upload limit
        parser = FormParser("multipart/form-data", None, files.append, boundary=options.get(b"boundary"),
                            config={"MAX_MEMORY_FILE_SIZE": UPLOAD_LIMIT + 1})
        try:
            parser.write(bytes(body))
            parser.finalize()
        except Exception as exc:  # python-multipart raises several types for a malformed form
            raise HTTPException(400, f"not a readable multipart form ({type(exc).__name__})") from None
        if not files:
            raise HTTPException(400, "the form has no file; send the photo as a file field (e.g. -F photo=@x.jpg)")
        files[0].file_object.seek(0)
        return files[0].file_object.read()
    return bytes(body)


async def search_image(request: Request) -> JSONResponse:
    """POST /api/search-image?k=N: photos like the uploaded one (multipart or the raw file as the body)."""
    from starlette.concurrency import run_in_threadpool

    k, relative, filters = k_param(request), relative_param(request), filters_param(request)
    data = await read_upload(request)
    if not data:
        raise HTTPException(400, "the upload is empty; send a photo file")
    hits, took = await run_in_threadpool(served(request).search_image, data, k, relative, filters)
    return hits_json(request, hits, took, k=k, upload_bytes=len(data))


def status(request: Request) -> JSONResponse:
    """GET /api/status: photos ok / error / deleted, model, root, last indexed, the index job."""
    return JSONResponse(served(request).status())


def start_index(request: Request) -> JSONResponse:
    """POST /api/index: run the incremental indexer now, in the background (409 while one runs)."""
    if not served(request).start_index():
        raise HTTPException(409, "an index run is already going; follow it at /api/index/progress")
    return JSONResponse(served(request).job.snapshot(), status_code=202)


def index_progress(request: Request) -> JSONResponse:
    """GET /api/index/progress: the latest index run's state, photos done of total, report or error."""
    return JSONResponse(served(request).job.snapshot())


def index_events(request: Request) -> StreamingResponse:
    """GET /api/index/events: the same as server-sent events, one per change, until the run ends."""
    return StreamingResponse(served(request).job.events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
