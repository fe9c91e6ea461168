"""Inputs and outputs of validation and matching (the contract with storage and flows)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from models.domain import DocumentStatus, Invoice, Problem

# Column contracts of the master-data frames. Money and quantities are `Decimal` objects.
PARTY_COLUMNS = ("party_id", "name", "tax_id", "iban", "email")
ORDER_LINE_COLUMNS = (
    "order_line_id", "order_number", "counterparty_tax_id", "counterparty_name", "order_date",
    "currency", "line_no", "description", "quantity", "unit_price", "tax_rate",
    "quantity_received",   # sum of receipts for the line (Decimal, 0 when none)
    "quantity_invoiced",   # sum already billed by earlier accepted invoices (Decimal)
)
SEEN_INVOICE_COLUMNS = (
    "document_id", "seller_tax_id", "seller_name", "invoice_number", "total", "issue_date",
)
# What each accepted invoice billed, for crediting it: one row per (document, order line).
BILLED_LINE_COLUMNS = ("document_id", "order_line_id", "quantity")
# What each credit note not rejected (approved or pending review) gives back, so that the next
# credit note for the same invoice gives back only the rest: one row per (credit note, order
# line), the quantity given back positive. The invoice it refers to is found as matching found
# it: by seller and preceding invoice number (`matching.duplicates.DuplicateLedger.received`).
GIVEN_BACK_COLUMNS = ("document_id", "invoice_number", "seller_tax_id", "seller_name",
                      "preceding_invoice", "order_line_id", "quantity")


def _no_billed_lines() -> pd.DataFrame:
    return pd.DataFrame(columns=list(BILLED_LINE_COLUMNS))


def _nothing_given_back() -> pd.DataFrame:
    return pd.DataFrame(columns=list(GIVEN_BACK_COLUMNS))


@dataclass
class MasterData:
    parties: pd.DataFrame
    order_lines: pd.DataFrame
    seen_invoices: pd.DataFrame
    billed_lines: pd.DataFrame = field(default_factory=_no_billed_lines)
    given_back: pd.DataFrame = field(default_factory=_nothing_given_back)

    @classmethod
    def empty(cls) -> MasterData:
        return cls(
            parties=pd.DataFrame(columns=list(PARTY_COLUMNS)),
            order_lines=pd.DataFrame(columns=list(ORDER_LINE_COLUMNS)),
            seen_invoices=pd.DataFrame(columns=list(SEEN_INVOICE_COLUMNS)),
        )


@dataclass
class LineMatch:
    invoice_line: int          # index into Invoice.lines; -1: an invoice without lines billing
                               # the (unbilled rest of the) whole order, one entry per order line
    order_line_id: int | None  # matched order line, None when unmatched
    quantity: str | None = None


@dataclass
class Decision:
    """The outcome of validating and matching one invoice. Expected outcomes, not errors."""

    status: DocumentStatus
    order_number: str | None = None
    party_id: int | None = None
    reasons: list[Problem] = field(default_factory=list)
    line_matches: list[LineMatch] = field(default_factory=list)

    @property
    def reason_codes(self) -> list[str]:
        return sorted({p.code for p in self.reasons})


@dataclass
class Candidate:
    """An invoice handed to validation/matching, with a stable key for ordering in a batch."""

    key: str
    invoice: Invoice
    problems: list[Problem] = field(default_factory=list)  # already raised by extraction
