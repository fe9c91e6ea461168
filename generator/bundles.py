"""Several generated invoices merged into one PDF, as a scanner's batch or a merged mail
attachment delivers them, with the truth of where each invoice starts and ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from generator.invoices import load_ground_truth


@dataclass(frozen=True)
class BundlePart:
    """Pages `first`..`last` (0-based, inclusive) hold the invoice numbered `number`."""

    first: int
    last: int
    number: str | None


def write_bundle(documents: Sequence[Path], out_path: Path) -> list[BundlePart]:
    """Merge generated PDFs (each with its ground truth beside it) into `out_path`."""
    merged = pdfium.PdfDocument.new()
    parts = []
    try:
        for path in documents:
            source = pdfium.PdfDocument(path)
            try:
                start = len(merged)
                merged.import_pages(source)
            finally:
                source.close()
            parts.append(BundlePart(start, len(merged) - 1,
                                    load_ground_truth(path).invoice_number))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        merged.save(out_path)
    finally:
        merged.close()
    return parts
