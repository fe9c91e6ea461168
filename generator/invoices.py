"""Public API: write random invoices (PDF + ground truth) and read the ground truth back.

Each invoice is ``<stem>.pdf`` beside ``<stem>.gt.json``; the JSON holds
``{"invoice": Invoice.to_json(), "layout", "language", "seed", "pages", "style"}``. The
ground truth is what the PDF prints: a field the layout leaves out is None.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from generator.breakdown import maybe_breakdown, settle_breakdown
from generator.credit_notes import maybe_credit_note
from generator.discounts import maybe_discounts
from generator.model import LAYOUTS, Document, random_document
from generator.render import render_pdf
from generator.withholding import maybe_withholding
from models.domain import Invoice

GT_SUFFIX = ".gt.json"


def gt_path(document_path: Path) -> Path:
    """``x.pdf``, ``x.png``, ``x.scan_p2.jpg``... → ``x.gt.json`` (stems have no dots)."""
    return document_path.with_name(document_path.name.split(".")[0] + GT_SUFFIX)


def write_document(doc: Document, out_dir: Path, stem: str,
                   truth_dir: Path | None = None) -> Path:
    """Render `doc` to ``out_dir/stem.pdf``; its ground truth goes beside it or in `truth_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / f"{stem}.pdf"
    pages = render_pdf(doc, pdf)
    record: dict[str, Any] = {
        "invoice": doc.invoice.to_json(),
        "layout": doc.layout,
        "language": doc.language,
        "seed": doc.seed,
        "pages": pages,
        "style": {"amount": _amount_style_name(doc), "date": doc.date_style},
    }
    if truth_dir is not None:
        truth_dir.mkdir(parents=True, exist_ok=True)
    target = gt_path(pdf) if truth_dir is None else truth_dir / gt_path(pdf).name
    target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    return pdf


def _amount_style_name(doc: Document) -> str:
    """The notation as a sample, e.g. ``1.234,56 €`` or ``USD 1,234.56``."""
    return doc.amount_style.amount(Decimal("1234.56"), doc.invoice.currency or "EUR")


def document_seeds(seed: int, count: int) -> list[int]:
    """Per-document seeds derived from the batch seed (stable across Python versions)."""
    rng = random.Random(seed)
    return [rng.randrange(2**31) for _ in range(count)]


def generate_documents(out_dir: Path, count: int, seed: int, *,
                       layouts: Sequence[str] | None = None,
                       credit_notes: float = 0.0, withholding: float = 0.0,
                       discounts: float = 0.0, breakdown: float = 0.0) -> list[Path]:
    """Write `count` random invoices, cycling through `layouts` (default: all of them);
    about a `credit_notes` share of them are credit notes (``generator.credit_notes``), a
    `discounts` share print a document-level discount or charge (``generator.discounts``),
    a `breakdown` share of the taxed ones print their VAT breakdown with its bases
    (``generator.breakdown``) and a `withholding` share of the Spanish ones print an IRPF
    withholding (``generator.withholding``); the defaults 0 write exactly the documents
    written before any of them existed."""
    chosen = tuple(layouts) if layouts else LAYOUTS
    unknown = set(chosen) - set(LAYOUTS)
    if unknown:
        raise ValueError(f"unknown layouts: {sorted(unknown)}; known: {list(LAYOUTS)}")
    paths = []
    for index, doc_seed in enumerate(document_seeds(seed, count)):
        layout = chosen[index % len(chosen)]
        doc = random_document(doc_seed, layout)
        maybe_credit_note(doc, credit_notes)
        maybe_breakdown(doc, breakdown)  # before the discounts: it may add a rate
        maybe_discounts(doc, discounts)
        maybe_withholding(doc, withholding)
        settle_breakdown(doc)
        paths.append(write_document(doc, out_dir, f"inv_{seed}_{index:04d}_{layout}"))
    return paths


def load_record(document_path: Path, truth_dir: Path | None = None) -> dict[str, Any]:
    """The whole ground-truth record of a document (see the module docstring)."""
    path = gt_path(document_path)
    if truth_dir is not None:
        path = truth_dir / path.name
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_ground_truth(pdf_path: Path, truth_dir: Path | None = None) -> Invoice:
    """The ground-truth `Invoice` of `pdf_path` (or of a scanned copy with the same stem).

    It is read from ``<stem>.gt.json`` beside the file, or in `truth_dir` when given
    (scenarios keep ground truth out of the inbox, in ``truth/``).
    """
    return Invoice.from_json(load_record(pdf_path, truth_dir)["invoice"])
