"""One writer at a time: the writer lock is taken on the store file itself (its inode), so that no spelling of its
path (a hard link, a symlink, `..`, a bind mount) lets a second writer in; the message names the holder."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pocketclip.runtime.store.blobs import now
from pocketclip.runtime.store.errors import StoreError, StoreLocked


def lock_writer(path: str | Path) -> int:
    """Take the store's writer lock: flock on the store file itself (created empty when new), released when the
    process ends or the returned descriptor is closed (after the store's connection: closing another descriptor
    of the file would drop SQLite's own locks). StoreLocked names the process that holds it.

    flock, not fcntl: SQLite takes POSIX (fcntl) locks on the same file, and the two kinds never interact."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the store for writing ({exc.strerror}); index needs a writable "
                         f"store in a writable folder") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(path, fd)
        os.close(fd)
        raise StoreLocked(f"{path} is being indexed by {holder}; wait for it to finish") from None
    try:  # who holds it, for the message a second writer gets (the lock itself is the flock above)
        Path(f"{os.path.realpath(path)}.lock").write_text(f"{os.getpid()} pocketclip (pid {os.getpid()}, started {now()})")
    except OSError:
        pass
    return fd


def _holder(path: str | Path, fd: int) -> str:
    """The process holding the flock on this file, from the note beside it when that names it, else from
    /proc/locks (Linux), else "another process"."""
    info = os.fstat(fd)
    pid = None
    try:
        for line in Path("/proc/locks").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(info.st_ino):
                pid = parts[4]
                break
    except OSError:
        pass
    try:
        noted_pid, _, text = Path(f"{os.path.realpath(path)}.lock").read_text().partition(" ")
        if pid is None or noted_pid == pid:
            return text.strip() or "another process"
    except OSError:
        pass
    if pid is None:
        return "another process"
    try:  # another spelling of the path (a hard link): the holder named by its command line
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        command = " ".join(os.path.basename(a.decode(errors="replace")) if i == 0 else a.decode(errors="replace")
                           for i, a in enumerate(argv[:4]) if a)
        return f"{command} (pid {pid})"
    except OSError:
        return f"process {pid}"
