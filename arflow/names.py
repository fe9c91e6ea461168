"""File names as text the database, the logs and the web pages can hold.

A name that is not UTF-8 (Latin-1 bytes from an old scanner's share) reaches Python with lone
surrogates (PEP 383), which neither SQLite nor PostgreSQL store and which stopped a whole
batch. Its odd bytes are written as \\xNN instead; the file itself is found by its content
hash (staging, archive, quarantine), never by this text.

Such a text can be 4 times as long as the name on disk, and arflow adds a hash prefix, a
variant or a suffix to the names of its copies: `short_name` keeps a copy's name within
what a file system allows (255 bytes)."""

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


NAME_MAX = 255  # bytes in one file name (ext4, XFS, btrfs, tmpfs)
# what arflow adds to a name in its own folders, at most: a hash prefix (13 bytes), a free
# name's variant (".<hash>-<n>", 18), ".reason.json" (12), a temporary name (".<name>.tmp",
# ".<name>.partial": 9)
NAME_ROOM = 48
SHORT_NAME = NAME_MAX - NAME_ROOM
_MARK = "…"  # where a shortened name was cut
_SUFFIX_MAX = 16  # bytes of a suffix kept as it is ("pdf", "xml", "tiff", "eml")


def short_name(name: str, most: int = SHORT_NAME) -> str:
    """`name` as arflow names its copies (staging, quarantine, archive): unchanged when it
    takes at most `most` bytes on disk, else its stem cut, with "…" where it was cut, and its
    suffix kept, so that whatever arflow adds to it (`NAME_ROOM`) stays within `NAME_MAX`.
    A name as text (`path_text`: odd bytes written as \\xNN, 4 bytes each) can be 4 times
    its name on disk. The whole name is kept where the copy is described (the stored
    document, the reason file beside a quarantined copy)."""
    if _size(name) <= most:
        return name
    stem, suffix = os.path.splitext(name)
    if _size(suffix) > _SUFFIX_MAX:
        stem, suffix = name, ""
    room = most - _size(suffix) - _size(_MARK)
    kept, used = [], 0
    for char in stem:
        used += _size(char)
        if used > room:
            break
        kept.append(char)
    return "".join(kept) + _MARK + suffix


def _size(text: str) -> int:
    """Bytes of `text` on disk (a name read from the file system keeps its odd bytes)."""
    return len(text.encode("utf-8", "surrogateescape"))
