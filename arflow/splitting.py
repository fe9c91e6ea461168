"""A pipeline step: a PDF holding several invoices becomes one document per invoice.

Extraction finds the invoices in such a file (`extractors.bundles`) and says on which pages
each one is. Here each one's pages are written to a PDF of their own under ``<home>/split/``
and read again as a document, named after the file and its pages ("batch.pdf, pages 3-4").
The file itself is stored as it arrived with status `split`, so it is never read again, and
its parts point to it. Nothing is lost: when a part cannot be written, the file stays one
document and goes to review with its MULTIPLE_INVOICES finding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pypdfium2 as pdfium

from arflow.intake import InboxFile, fingerprint
from models.domain import ExtractionResult, ExtractionStatus, Invoice
from models.repo import Part

log = logging.getLogger(__name__)

ReadFiles = Callable[[Sequence[InboxFile]], list[ExtractionResult]]


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
    """One PDF per invoice; none when the file cannot be split (it then goes to review)."""
    try:
        split_dir.mkdir(parents=True, exist_ok=True)
        source = pdfium.PdfDocument(item.file.path)
        try:
            return [_write_part(source, item.file, first, last, split_dir)
                    for first, last in item.result.invoice_pages]
        finally:
            source.close()
    except (OSError, pdfium.PdfiumError) as exc:
        log.warning("%s: could not be split into its invoices: %s", item.file.name, exc)
        return []


def _write_part(
    source: pdfium.PdfDocument, file: InboxFile, first: int, last: int, split_dir: Path,
) -> tuple[InboxFile, Part]:
    part = Part(file.sha256, file.name, first, last)
    target = split_dir / f"{file.sha256[:12]}-{file.path.stem}-p{first + 1}-{last + 1}.pdf"
    pages = pdfium.PdfDocument.new()
    try:
        pages.import_pages(source, list(range(first, last + 1)))
        pages.save(target)
    finally:
        pages.close()
    return fingerprint(target), part
