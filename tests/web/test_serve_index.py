""""Index now" over HTTP: the incremental indexer in the background, its progress as server-sent events and
as JSON, the new photos searchable when it ends, and a store another process is writing refused by name."""
import os
import time

from web_support import index, serving

RUN_TIMEOUT_S = 60


def events(server) -> list[str]:
    """The data lines of /api/index/events, read until the server ends the stream (the run is over)."""
    reply = server.get("/api/index/events")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/event-stream")
    return [line[len("data: "):] for line in reply.body.decode().splitlines() if line.startswith("data: ")]


def wait_until_over(server) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        job = server.get("/api/index/progress").json()
        if job["state"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"the index run did not end within {RUN_TIMEOUT_S} s")


def test_index_now_runs_in_the_background_and_the_new_photos_are_searched(photo_folder, fp32_bundle, tmp_path):
    import json

    from tests_support import draw_photos

    from pocketclip.runtime.store import lock_writer

    db = tmp_path / "library.db"
    index(photo_folder, fp32_bundle.root, db)
    with serving(db, tmp_path / "serve") as server:
        lock = lock_writer(db)  # another `pocketclip index` is writing the store
        try:
            assert server.request("POST", "/api/index").status == 202
            failed = wait_until_over(server)
        finally:
            os.close(lock)
        assert failed["state"] == "failed" and "being indexed by" in failed["error"]

        (new_photo,) = draw_photos(photo_folder, 1, start=100)
        (photo_folder / "photo_001.jpg").unlink()
        started = server.request("POST", "/api/index")
        assert started.status == 202 and started.json()["state"] == "running"
        states = [json.loads(data) for data in events(server)]
        done = states[-1] if states[-1]["state"] != "running" else wait_until_over(server)
        assert done["state"] == "done", done
        assert (done["report"]["embedded"], done["report"]["deleted"]) == (1, 1)
        assert done["done"] == done["total"] == 1

        status = server.get("/api/status").json()
        assert (status["ok"], status["deleted"]) == (24, 1) and status["index_job"]["state"] == "done"
        found = server.request("POST", "/api/search-image?k=1", new_photo.read_bytes()).json()["hits"]
        assert found[0]["path"] == new_photo.relative_to(photo_folder).as_posix() and found[0]["score"] > 0.999


def test_thumbnails_of_photos_gone_from_the_library_are_removed(photo_folder, fp32_bundle, tmp_path):
    """A deleted (or purged, or failed) photo's thumbnail does not stay in the cache for good: the served
    library prunes its cache folder when it starts and after each index run; another store's is untouched."""
    import time

    from pocketclip.runtime.library import Library
    from pocketclip.web.served_library import ServedLibrary

    db = tmp_path / "library.db"
    index(photo_folder, fp32_bundle.root, db)
    cache = tmp_path / "thumbs"
    served = ServedLibrary(Library.open(db), cache_folder=cache)
    victim = sorted(photo_folder.glob("*.jpg"))[0]
    rows = {}
    for path in (victim, sorted(photo_folder.glob("*.jpg"))[1]):
        hit = next(h for h in served.library.search_image(path, k=3) if h.path == path.name)
        rows[path.name], file = served.photo(hit.id)
        served.thumbs.thumbnail(rows[path.name], file)
    neighbour = cache / "another-store"
    neighbour.mkdir()
    (neighbour / "1-abc.jpg").write_bytes(b"x")
    assert len(list(served.thumbs.folder.glob("*/*.jpg"))) == 2
    victim.unlink()
    assert served.start_index()
    deadline = time.time() + 120
    while served.job.snapshot()["state"] == "running" and time.time() < deadline:
        time.sleep(0.2)
    assert served.job.snapshot()["state"] == "done", served.job.snapshot()
    left = [p.name for p in served.thumbs.folder.glob("*/*.jpg")]
    assert left and all(name.startswith(f"{rows[sorted(photo_folder.glob('*.jpg'))[0].name].id}-") for name in left)
    assert (neighbour / "1-abc.jpg").exists()
