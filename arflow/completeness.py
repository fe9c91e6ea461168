"""Telling a file a writer has paused on from a finished one, by its last bytes.

The settle window (`arflow.intake.settled`) and the drop folder's stability check
(`ingest.stability`) take a file once it has gone unmodified for a few seconds. A scanner
writing to a network share, or a copy over a slow link, can pause longer than that; the file
would then be read half written and quarantined as unreadable. Most invoice formats say where
they end (a PDF's `%%EOF`, PNG's `IEND` chunk, JPEG's end-of-image marker, XML's last closing
tag), so a file of such a format whose end is missing, modified recently, is left for a later
pass rather than read. Once it has gone unmodified for `ARFLOW_INCOMPLETE_WAIT_SECONDS`
(default 300) it is taken as it is: a file that really is cut short is then quarantined with
its reason, as before. Formats without an end marker (TIFF, e-mail) are judged by time alone.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from pathlib import Path

from arflow.settings import env_number

WAIT_ENV = "ARFLOW_INCOMPLETE_WAIT_SECONDS"
DEFAULT_WAIT_S = 300.0
HEAD = 1024  # a PDF's header may follow a little junk (the format allows 1,024 bytes)
PDF_TAIL = 1024
TAIL = 4096  # end markers may be followed by padding or trailing bytes some tools add

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_XML_STARTS = (b"<?xml", b"<")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def incomplete_wait(env: Mapping[str, str] | None = None) -> float:
    """Seconds a file that looks unfinished is left alone after its last change
    (`ARFLOW_INCOMPLETE_WAIT_SECONDS`, default 300; 0 takes such files like any other)."""
    return env_number(dict(os.environ) if env is None else dict(env), WAIT_ENV,
                      DEFAULT_WAIT_S, float, valid=lambda v: 0.0 <= v < math.inf,
                      what="a number of seconds >= 0")


def missing_end(path: Path) -> str | None:
    """What is missing at the end of the file's bytes for its format, or None when the end is
    there, the format has no end marker arflow knows, or the file cannot be read (reading it
    later says why)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD)
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL))
            tail = handle.read(TAIL)
    except OSError:
        return None
    if size == 0:
        return "no bytes yet"
    return _missing_end(head, tail)


def _missing_end(head: bytes, tail: bytes) -> str | None:
    if b"%PDF-" in head:  # readers look for %%EOF in the last 1,024 bytes; a linearised
        # PDF has one more after its first page, which a cut file may end a little after
        return None if b"%%EOF" in tail[-PDF_TAIL:] else "a PDF without %%EOF at its end"
    if head.startswith(_PNG):
        return None if b"IEND" in tail else "a PNG without its IEND chunk"
    if head.startswith(_JPEG):
        return None if b"\xff\xd9" in tail else "a JPEG without its end-of-image marker"
    text = _without_bom(head).lstrip()
    if text.startswith(_XML_STARTS):
        return None if tail.rstrip().endswith(b">") else "XML that stops inside an element"
    return None


def _without_bom(data: bytes) -> bytes:
    for bom in _BOMS:
        if data.startswith(bom):
            return data[len(bom):]
    return data


def held_back(path: Path, mtime_ns: int, wait: float, now_ns: int | None = None) -> str | None:
    """Why `path` (last modified at `mtime_ns`) is left for a later pass: its end is missing
    and it changed less than `wait` seconds ago; None to take it now."""
    if wait <= 0:
        return None
    age = ((time.time_ns() if now_ns is None else now_ns) - mtime_ns) / 1e9
    if age >= wait:
        return None
    missing = missing_end(path)
    if missing is None:
        return None
    return (f"still being written, it seems: {missing} (modified {age:.0f} s ago; taken as it "
            f"is once unchanged for {wait:g} s, {WAIT_ENV})")
