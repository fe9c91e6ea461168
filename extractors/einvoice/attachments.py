"""Files embedded in a PDF, read with a size limit (a compression bomb cannot blow up).

pdfium decodes an attachment whole before telling its size: a 2 MB PDF whose embedded file
inflates to gigabytes took 4.3 GB of memory that way (measured). Here pdfium only counts the
attachments (no decoding); when there are any, the embedded-files name tree is walked with
pdfminer (already present through pdfplumber) and each stream is inflated incrementally,
stopping at `limit` bytes. Streams with other filters than Flate are decoded only when their
raw bytes are small, since no filter expands without bound from a few kilobytes.

The name tree is walked once per node: a tree whose kids lead back to itself (a 3 KB PDF
listing its own node six times as its kids never finished before) is read in bounded time.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import LITERALS_FLATE_DECODE, PDFObjRef, PDFStream, resolve1
from pdfminer.psparser import PSException
from pdfminer.utils import decode_text

from arflow.errors import DocumentError
from arflow.reasons import Reason

_SMALL_RAW = 64 * 1024  # other filters: decoded only below this many raw bytes
_MAX_TREE_DEPTH = 16
_MAX_TREE_NODES = 10_000  # nodes of the embedded-files name tree looked at, at most


class AttachmentTooLarge(DocumentError):
    code = Reason.FILE_TOO_LARGE


def read_attachments(path: Path, limit: int,
                     wanted: Callable[[str], bool] = lambda name: True, *,
                     head: bool = False) -> list[tuple[str, bytes]]:
    """(name, bytes) of every embedded file whose name is `wanted` (the others are never
    decoded); raises `AttachmentTooLarge` for one that inflates beyond `limit` bytes and
    `DocumentError` when the structure is unreadable. With `head`, a longer file gives its
    first `limit` bytes instead (enough to tell what it is, without holding it all)."""
    try:
        with path.open("rb") as handle:
            document = PDFDocument(PDFParser(handle))
            return [(name, _bounded(stream, limit, name, head)) for name, stream
                    in _files(document) if wanted(name)]
    except (PSException, ValueError, TypeError, KeyError, zlib.error) as err:
        raise DocumentError(f"{path.name}: unreadable embedded file ({err})",
                            code=Reason.UNREADABLE_DOCUMENT) from err


def _files(document: PDFDocument) -> Iterator[tuple[str, PDFStream]]:
    names = resolve1(document.catalog.get("Names"))
    tree = names.get("EmbeddedFiles") if isinstance(names, dict) else None
    for key, value in _name_tree(tree, 0, set()):
        spec = resolve1(value)
        if not isinstance(spec, dict):
            continue
        files = resolve1(spec.get("EF"))
        stream = resolve1(files.get("UF") or files.get("F")) if isinstance(files, dict) else None
        if isinstance(stream, PDFStream):
            yield _text(spec.get("UF") or spec.get("F") or key), stream


def _name_tree(node: Any, depth: int, seen: set[int]) -> Iterator[tuple[Any, Any]]:
    """(key, value) pairs of a PDF name tree (leaves' /Names, through /Kids), each node
    object read once and at most `_MAX_TREE_NODES` of them (`seen`: their object numbers)."""
    if isinstance(node, PDFObjRef):
        if node.objid in seen or len(seen) >= _MAX_TREE_NODES:
            return
        seen.add(node.objid)
    node = resolve1(node)
    if not isinstance(node, dict) or depth > _MAX_TREE_DEPTH:
        return
    pairs = resolve1(node.get("Names")) or []
    yield from zip(pairs[0::2], pairs[1::2], strict=False)
    for kid in resolve1(node.get("Kids")) or []:
        yield from _name_tree(kid, depth + 1, seen)


def _text(value: Any) -> str:
    value = resolve1(value)
    return decode_text(value) if isinstance(value, bytes) else str(value)


def _bounded(stream: PDFStream, limit: int, name: str, head: bool) -> bytes:
    filters = stream.get_filters()
    raw = _deciphered(stream)
    if not filters:
        data = raw
    elif len(filters) == 1 and filters[0][0] in LITERALS_FLATE_DECODE and not filters[0][1]:
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, limit + 1)
    elif len(raw) <= _SMALL_RAW:
        data = stream.get_data()
    else:
        raise AttachmentTooLarge(f"embedded file {name}: {len(raw)} raw bytes through filters "
                                 f"that are read only up to {_SMALL_RAW} bytes")
    if len(data) > limit and head:
        return data[:limit]
    if len(data) > limit:
        raise AttachmentTooLarge(f"embedded file {name} is larger than {limit} bytes")
    return data


def _deciphered(stream: PDFStream) -> bytes:
    """The stream's raw (still filtered) bytes, decrypted when the PDF is encrypted."""
    raw = stream.rawdata if stream.rawdata is not None else stream.get_rawdata()
    if raw is None:
        return stream.get_data()  # already decoded by pdfminer: nothing bounded to do
    if stream.decipher and stream.objid is not None and stream.genno is not None:
        return bytes(stream.decipher(stream.objid, stream.genno, raw, stream.attrs))
    return bytes(raw)
