"""Credit notes and corrective invoices: never paid or matched automatically.

Such a document changes what an earlier invoice billed, so it goes to an approver with the
invoice it refers to looked up in the duplicate ledger (earlier batches and this one).
"""

from __future__ import annotations

from arflow.reasons import Reason
from matching.duplicates import DuplicateLedger
from models.domain import Invoice, InvoiceType, Problem

_REASON = {InvoiceType.CREDIT_NOTE: Reason.CREDIT_NOTE,
           InvoiceType.CORRECTED_INVOICE: Reason.CORRECTED_INVOICE}
_WORDS = {InvoiceType.CREDIT_NOTE: "credit note",
          InvoiceType.CORRECTED_INVOICE: "corrective invoice"}


def needs_order(invoice: Invoice) -> bool:
    """Only an invoice bills an order; a credit note or correction is checked by a person."""
    return invoice.invoice_type == InvoiceType.INVOICE


def type_problems(invoice: Invoice, party_key: str, ledger: DuplicateLedger) -> list[Problem]:
    """CREDIT_NOTE / CORRECTED_INVOICE, with the referred invoice and whether it is on file."""
    kind = invoice.invoice_type
    if kind == InvoiceType.INVOICE:
        return []
    words = _WORDS[kind]
    found = f"{words}; {_referred(invoice, party_key, ledger)}"
    return [Problem(_REASON[kind], f"the document is a {words}", field="invoice_type",
                    expected="an invoice", found=found)]


def _referred(invoice: Invoice, party_key: str, ledger: DuplicateLedger) -> str:
    number = invoice.preceding_invoice
    if not number:
        return "refers to no invoice number"
    doc = ledger.received(party_key, number)
    if doc is None:
        return f"refers to invoice {number} (not received from this seller)"
    original = ledger.totals.get(doc)
    if original is None:
        return f"refers to invoice {number} (received as document {doc})"
    text = f"refers to invoice {number} (received as document {doc}, total {original:f})"
    credited = invoice.total
    if (invoice.invoice_type == InvoiceType.CREDIT_NOTE and credited is not None
            and abs(credited) > abs(original)):
        text += f"; it credits {abs(credited):f}, more than that invoice's total"
    return text
