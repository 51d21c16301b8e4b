"""The page's "index now": one incremental index run at a time, in a background thread, with its
progress kept for the page to poll (JSON) or follow (server-sent events).

A thread, not an asyncio task: indexing decodes and encodes photos for seconds to hours, and the
event loop must keep answering searches meanwhile.
"""
from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import datetime, timezone

from pocketclip.runtime.indexing.indexer import IndexReport, Log, Progress
from pocketclip.runtime.one_line import one_line

IndexRun = Callable[[Progress, Log], IndexReport]  # runs the indexer with these callbacks
LOG_LINES = 20  # the last `skipping PATH: reason` lines shown on the page


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class IndexJob:
    """The state of the latest index run: idle | running | done | failed, photos done of total, the
    report or the one-line error, the last skipped files."""

    def __init__(self):
        self._lock = threading.Lock()
        self._changed = 0  # bumped on every change, so followers send only news
        self._state = {"state": "idle", "done": 0, "total": 0, "started_at": None, "finished_at": None,
                       "report": None, "error": None}
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._thread: threading.Thread | None = None

    def snapshot(self) -> dict:
        with self._lock:
            return {**self._state, "log": list(self._log)}

    def _versioned(self) -> tuple[int, dict]:
        with self._lock:
            return self._changed, {**self._state, "log": list(self._log)}

    def _update(self, **values) -> None:
        with self._lock:
            self._state.update(values)
            self._changed += 1

    def start(self, run: IndexRun) -> bool:
        """Start `run` in the background; False (and nothing started) while a run is still going."""
        with self._lock:
            if self._state["state"] == "running":
                return False
            self._state = {"state": "running", "done": 0, "total": 0, "started_at": _now(), "finished_at": None,
                           "report": None, "error": None}
            self._log.clear()
            self._changed += 1
        self._thread = threading.Thread(target=self._run, args=(run,), name="pocketclip-index", daemon=True)
        self._thread.start()
        return True

    def _run(self, run: IndexRun) -> None:
        try:
            report = run(self._progress, self._log_line)
        except Exception as exc:  # the page shows the reason; the server keeps serving the old index
            message = one_line(exc)
            self._update(state="failed", error=message, finished_at=_now())
        else:
            self._update(state="done", report=asdict(report), finished_at=_now())

    def _progress(self, done: int, total: int) -> None:
        self._update(done=done, total=total)

    def _log_line(self, line: str) -> None:
        with self._lock:
            self._log.append(line)
            self._changed += 1

    async def events(self, poll_s: float = 0.2) -> AsyncIterator[str]:
        """Server-sent events: the state whenever it changes, until the run is over."""
        yield "retry: 3000\n\n"
        seen = -1
        while True:
            changed, state = self._versioned()
            if changed != seen:
                seen = changed
                yield f"data: {json.dumps(state)}\n\n"
            if state["state"] != "running":
                return
            await asyncio.sleep(poll_s)
