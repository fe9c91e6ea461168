"""Business duplicates: same seller + normalised invoice number (DUPLICATE_INVOICE), or same seller,
total and issue date under another number (SUSPECTED_DUPLICATE).

The ledger starts from `seen_invoices` and grows with every invoice of the batch, so a resent copy
in another layout is caught whether it arrived last week or earlier in the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from arflow.reasons import Reason
from matching.normalize import invoice_number_keys
from matching.parties import PartyIndex, opt_str
from models.domain import Invoice, InvoiceType, Problem

_Fingerprint = tuple[str, Decimal, date]


@dataclass
class DuplicateLedger:
    numbers: dict[tuple[str, str], str] = field(default_factory=dict)   # → document id
    fingerprints: dict[_Fingerprint, set[str]] = field(default_factory=dict)  # → numbers
    totals: dict[str, Decimal] = field(default_factory=dict)  # document id → invoice total

    @classmethod
    def from_seen(cls, seen: pd.DataFrame, parties: PartyIndex) -> DuplicateLedger:
        ledger = cls()
        keys = parties.keys(seen["seller_tax_id"], seen["seller_name"])
        days = pd.to_datetime(seen["issue_date"]).to_numpy("datetime64[D]").astype(object)
        names = ("document_id", "invoice_number", "total")
        columns = (seen[c].to_numpy(dtype=object) for c in names)
        for key, doc, number, total, day in zip(keys, *columns, days, strict=True):
            ledger.add(str(key), opt_str(number), _decimal(total), day, str(doc))
        return ledger

    def add(
        self, key: str, number: str | None, total: Decimal | None, day: date | None, doc: str,
    ) -> None:
        norms = invoice_number_keys(number)
        for norm in norms:
            self.numbers.setdefault((key, norm), doc)
        if total is not None:
            self.totals.setdefault(doc, total)
        if total is not None and day is not None:
            self.fingerprints.setdefault((key, total, day), set()).add(norms[0] if norms else "")

    def add_invoice(self, key: str, invoice: Invoice, doc: str) -> None:
        """Enter a document; a credit note or correction only by its number (its total and date
        often equal its invoice's, which is no sign of a duplicate)."""
        plain = invoice.invoice_type == InvoiceType.INVOICE
        self.add(key, invoice.invoice_number, invoice.total if plain else None,
                 invoice.issue_date, doc)

    def received(self, key: str, number: str | None) -> str | None:
        """The document id under which this seller's invoice `number` was received, if it was."""
        norms = invoice_number_keys(number)
        return next((d for n in norms if (d := self.numbers.get((key, n))) is not None), None)

    def check(self, key: str, invoice: Invoice) -> list[Problem]:
        norms = invoice_number_keys(invoice.invoice_number)
        earlier = self.received(key, invoice.invoice_number)
        if earlier is not None:
            return [duplicate_problem(invoice.invoice_number, f"as document {earlier}")]
        if invoice.total is None or invoice.issue_date is None:
            return []
        if invoice.invoice_type != InvoiceType.INVOICE:
            return []
        others = self.fingerprints.get((key, invoice.total, invoice.issue_date), set())
        others = others - set(norms) - {""}
        if not others:
            return []
        return [Problem(
            Reason.SUSPECTED_DUPLICATE,
            "same seller, total and issue date as an invoice with another number",
            field="invoice_number", expected="a distinct invoice",
            found=f"{invoice.invoice_number} vs {', '.join(sorted(others))}",
        )]


def duplicate_problem(number: str | None, where: str) -> Problem:
    """`DUPLICATE_INVOICE` for invoice `number`, received before `where`."""
    return Problem(Reason.DUPLICATE_INVOICE, f"invoice {number} already received",
                   field="invoice_number", expected="a new invoice number",
                   found=f"{number} ({where})")


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    text = opt_str(value)
    return None if text is None else Decimal(text)
