"""A pipeline step: a PDF or TIFF holding several invoices becomes one document per invoice.

Extraction finds the invoices in such a file (`extractors.bundles`) and says on which pages
each one is. Here each one's pages are written to a PDF of their own under ``<home>/split/``
(a multi-page TIFF's frames to a TIFF) and read again as a document, named after the file and
its pages ("batch.pdf, pages 3-4"). The file itself is stored as it arrived with status
`split`, so it is never read again, and its parts point to it. Nothing is lost: when a part
cannot be written, the file stays one document and goes to review with its MULTIPLE_INVOICES
finding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from arflow.intake import InboxFile, fingerprint
from arflow.names import short_name
from models.domain import ExtractionResult, ExtractionStatus, Invoice
from models.repo import Part

log = logging.getLogger(__name__)

ReadFiles = Callable[[Sequence[InboxFile]], list[ExtractionResult]]
_TIFF = (".tif", ".tiff")


@dataclass(frozen=True)
class Extracted:
    """A file and what extraction read from it; `part` when it is one invoice of a file."""

    file: InboxFile
    result: ExtractionResult
    part: Part | None = None


def split_bundles(items: Sequence[Extracted], split_dir: Path, read: ReadFiles) -> list[Extracted]:
    """Every file of several invoices followed by its invoices, each read by `read`; the other
    files as they are."""
    written = {index: parts for index, item in enumerate(items)
               if _is_bundle(item) and (parts := _write_parts(item, split_dir))}
    if not written:
        return list(items)
    files = [file for parts in written.values() for file, _ in parts]
    results = iter(read(files))
    out: list[Extracted] = []
    for index, item in enumerate(items):
        if index not in written:
            out.append(item)
            continue
        out.append(replace(item, result=_as_split(item.result)))
        out += [Extracted(file, next(results), part) for file, part in written[index]]
    return out


def _is_bundle(item: Extracted) -> bool:
    return (item.part is None and len(item.result.invoice_pages) > 1
            and item.result.status != ExtractionStatus.FAILED)


def _as_split(result: ExtractionResult) -> ExtractionResult:
    """The file's own record: its finding and the invoices' pages, no invoice of its own."""
    return replace(result, status=ExtractionStatus.SPLIT, invoice=Invoice(), confidence={},
                   evidence={})


def _write_parts(item: Extracted, split_dir: Path) -> list[tuple[InboxFile, Part]]:
    """One PDF (or TIFF, for a multi-page TIFF) per invoice; none when the file cannot be
    split (it then goes to review)."""
    suffix = item.file.path.suffix.lower()
    write, suffix = (_tiff_pages, suffix) if suffix in _TIFF else (_pdf_pages, ".pdf")
    try:
        split_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for first, last in item.result.invoice_pages:
            stem = Path(short_name(item.file.name)).stem  # a long name: cut (`short_name`)
            name = f"{item.file.sha256[:12]}-{stem}-p{first + 1}-{last + 1}"
            target = split_dir / f"{name}{suffix}"
            write(item.file.path, first, last, target)
            written.append((fingerprint(target), Part(item.file.sha256, item.file.name, first,
                                                       last)))
        return written
    except (OSError, pdfium.PdfiumError, Image.DecompressionBombError) as exc:
        log.warning("%s: could not be split into its invoices: %s", item.file.name, exc)
        return []


def _pdf_pages(source: Path, first: int, last: int, target: Path) -> None:
    document, pages = pdfium.PdfDocument(source), pdfium.PdfDocument.new()
    try:
        pages.import_pages(document, list(range(first, last + 1)))
        pages.save(target)
    finally:
        pages.close()
        document.close()


def _tiff_pages(source: Path, first: int, last: int, target: Path) -> None:
    """The frames as they are (no re-encoding beyond TIFF's lossless deflate), with their
    resolution, so that the part is read exactly as the file was."""
    with Image.open(source) as image:
        frames = []
        for index in range(first, last + 1):
            image.seek(index)
            frames.append(image.copy())
        dpi = image.info.get("dpi")
    extra = {"dpi": dpi} if dpi else {}
    frames[0].save(target, save_all=True, append_images=frames[1:], compression="tiff_deflate",
                   **extra)
