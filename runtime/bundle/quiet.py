"""Keeping the libraries' own chatter off a person's terminal while they export or check a bundle.

coremltools, torchao, ExecuTorch and torch print at import and at work: version notices, failed
optional `.so` loads, cpuinfo lines from C++, their own progress bars, deprecation warnings. None of
it is ours to show. They write from Python and from C++, so both the Python streams and the file
descriptors 1 and 2 are pointed at a temporary file; when the work fails, the file's tail is shown
with the error, so nothing needed for a diagnosis is lost.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from typing import TextIO

TAIL = 4000  # characters of the hidden output shown when the work fails


@contextlib.contextmanager
def dependency_output_hidden() -> Iterator[TextIO]:
    """Hide what libraries print inside the block; yields a stream to the real stderr (for our own
    progress bar)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    terminal = os.fdopen(os.dup(saved[2]), "w", buffering=1)
    with tempfile.TemporaryFile(mode="w+b") as log, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = io.TextIOWrapper(log, write_through=True)
        for fd in saved:
            os.dup2(log.fileno(), fd)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield terminal
        except BaseException:
            _restore(saved)
            log.seek(0)
            tail = log.read().decode(errors="replace")[-TAIL:].strip()
            if tail:
                print(f"(output of the libraries before the error)\n{tail}", file=sys.stderr)
            raise
        finally:
            _restore(saved)
            for copy in saved.values():
                os.close(copy)
            text.detach()
            terminal.close()


def _restore(saved: dict[int, int]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, copy in saved.items():
        os.dup2(copy, fd)
