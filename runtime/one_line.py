"""An error as the one line a person reads: the single way every floor shortens a library's message."""
from __future__ import annotations


def one_line(error: BaseException | str, limit: int = 300) -> str:
    """The error's text with its whitespace (newlines included) collapsed, cut to `limit` characters; the
    exception's type name when it says nothing."""
    text = " ".join(str(error).split())[:limit]
    return text or (type(error).__name__ if isinstance(error, BaseException) else "")
