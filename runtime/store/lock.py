"""One writer at a time: the store's writer lock, a `STORE.lock` file beside it naming its holder."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pocketclip.runtime.store.blobs import now
from pocketclip.runtime.store.errors import StoreLocked


def lock_writer(path: str | Path) -> int:
    """Take the store's writer lock (released when the process ends or the returned descriptor is
    closed), or raise StoreLocked naming the process that holds it."""
    lock = Path(f"{path}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreLocked(f"{path} is being indexed by {holder}; wait for it to finish") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pocketclip (pid {os.getpid()}, started {now()})".encode(), 0)
    return fd
