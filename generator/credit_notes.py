"""Credit notes (and Spanish corrective invoices) made from random invoices, opt-in.

``generate_documents(..., credit_notes=share)`` (``python -m generator documents
--credit-notes SHARE``; the benches' ``--credit-notes``) turns about that share of the
documents into credit notes: a title in the document's language ("CREDIT NOTE", "Nota de
abono"...), a number of their own with a label to match, and a line naming the invoice they
credit. A Spanish "factura rectificativa" is a corrected invoice (EN 16931 type 384): its
ground truth says so. Amounts stay positive, as most credit notes print them.

Every draw here comes from a stream of its own, seeded from the document's seed, so the
default share 0 leaves every document and its ground truth exactly as before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from generator.model import Document, invoice_number, opted_in
from models.domain import InvoiceType

_CREDIT, _CORRECTED = InvoiceType.CREDIT_NOTE, InvoiceType.CORRECTED_INVOICE


@dataclass(frozen=True)
class Style:
    """How one kind of credit note is titled and labelled."""

    title: str
    number_label: str
    kind: InvoiceType
    prefix: str  # its own number series


_STYLES: dict[str, tuple[Style, ...]] = {
    "en": (Style("CREDIT NOTE", "Credit note no.", _CREDIT, "CN"),
           Style("Credit note", "Credit note #", _CREDIT, "CRN"),
           Style("CREDIT MEMO", "Document No.", _CREDIT, "CM")),
    "es": (Style("NOTA DE ABONO", "Nº de abono", _CREDIT, "AB"),
           Style("Nota de crédito", "Nota de crédito nº", _CREDIT, "NC"),
           Style("FACTURA RECTIFICATIVA", "Nº rectificativa", _CORRECTED, "R"),
           Style("Factura rectificativa", "Factura rectificativa nº", _CORRECTED, "RECT")),
}
_REFERENCE_LABELS = {
    "en": ("Original invoice", "Refers to invoice", "Invoice reference",
           "Credit note for invoice"),
    "es": ("Rectifica a la factura nº", "Factura rectificada", "Factura original"),
}


def maybe_credit_note(doc: Document, share: float) -> bool:
    """Turn ``doc`` into a credit note with probability ``share``; True if it was."""
    rng = opted_in("credit-note", doc, share)
    if rng is not None:
        make_credit_note(doc, rng)
    return rng is not None


def make_credit_note(doc: Document, rng: random.Random, *, kind: InvoiceType | None = None,
                     preceding: str | None = None) -> None:
    """Retitle ``doc`` as a credit note (or corrective invoice) of an earlier invoice: of
    `preceding` when given (a scenario's real invoice), else of a made-up number. `kind`
    limits the titles drawn from to one type."""
    style = rng.choice([s for s in _STYLES[doc.language] if kind in (None, s.kind)])
    inv = doc.invoice
    assert inv.issue_date is not None
    year = inv.issue_date.year
    inv.invoice_type = style.kind
    inv.invoice_number = f"{style.prefix}-{year}-{rng.randint(1, 9999):04d}"
    inv.preceding_invoice = preceding or invoice_number(rng, year - rng.randint(0, 1))
    doc.labels = {**doc.labels, "title": style.title, "invoice_number": style.number_label,
                  "preceding_invoice": rng.choice(_REFERENCE_LABELS[doc.language])}
