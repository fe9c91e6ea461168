"""File names as text the database, the logs and the web pages can hold.

A name that is not UTF-8 (Latin-1 bytes from an old scanner's share) reaches Python with lone
surrogates (PEP 383), which neither SQLite nor PostgreSQL store and which stopped a whole
batch. Its odd bytes are written as \\xNN instead; the file itself is found by its content
hash (staging, archive, quarantine), never by this text."""

from __future__ import annotations

import os
import re
from pathlib import Path


def path_text(path: str | os.PathLike[str]) -> str:
    """`path` as text: its bytes decoded as UTF-8, any other byte as \\xNN."""
    return printable(os.fspath(path))


def printable(text: str) -> str:
    """`text` (a message naming a file, say) with the surrogates of an undecodable file
    name written as \\xNN, as `path_text` writes them."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def path_of(text: str) -> Path:
    """The path whose `path_text` is `text`: the file itself when it exists under that
    name, else the one whose undecodable bytes `text` wrote as \\xNN (a ledger row finishing
    a move after a crash finds its file so)."""
    literal = Path(text)
    if literal.exists() or "\\x" not in text:
        return literal
    raw = _ESCAPED.sub(lambda m: bytes([int(m[1], 16)]), text.encode("utf-8"))
    return Path(os.fsdecode(raw))


_ESCAPED = re.compile(rb"\\x([0-9a-f]{2})")
