"""Typed domain objects passed between pipeline steps.

These are plain dataclasses: no ORM, no Prefect. Money is always `Decimal`; a value
that is not on the document is `None` and is never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any


class DocumentKind(StrEnum):
    DIGITAL = "digital"
    SCANNED = "scanned"
    EINVOICE = "einvoice"


class InvoiceType(StrEnum):
    """What the document does to the amount owed (EN 16931 BT-3, UNTDID 1001 codes grouped):
    an invoice bills, a credit note (381) gives back, a corrected invoice (384) amends an
    earlier one. Only an invoice can be paid without a person looking at it."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    CORRECTED_INVOICE = "corrected_invoice"


class ExtractionStatus(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    SPLIT = "split"  # several invoices: each was read from a file of its own pages


class DocumentStatus(StrEnum):
    AUTO_APPROVED = "auto_approved"
    NEEDS_REVIEW = "needs_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    FAILED = "failed"
    SPLIT = "split"  # a file of several invoices, each stored as a document of its own


@dataclass
class Party:
    name: str | None = None
    tax_id: str | None = None
    address: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "tax_id": self.tax_id, "address": self.address}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Party:
        data = data or {}
        return cls(name=data.get("name"), tax_id=data.get("tax_id"), address=data.get("address"))


@dataclass
class InvoiceLine:
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    tax_rate: Decimal | None = None
    # Line charges less line allowances (EN 16931 BG-28 / BG-27): amount = quantity × unit
    # price + adjustment. None where the document states none.
    adjustment: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvoiceLine:
        return cls(
            description=data.get("description"),
            quantity=_dec(data.get("quantity")),
            unit_price=_dec(data.get("unit_price")),
            amount=_dec(data.get("amount")),
            tax_rate=_dec(data.get("tax_rate")),
            adjustment=_dec(data.get("adjustment")),
        )


@dataclass(frozen=True)
class TaxSubtotal:
    """One row of the VAT breakdown (EN 16931 BG-23): a rate, the base it applies to and the tax
    stated for it. A surcharge levied on the same base (Spanish recargo de equivalencia) is
    added to the rate and the tax of its row."""

    rate: Decimal | None = None     # percent: 21 means 21 %
    base: Decimal | None = None     # BT-116
    amount: Decimal | None = None   # BT-117

    def to_json(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaxSubtotal:
        return cls(rate=_dec(data.get("rate")), base=_dec(data.get("base")),
                   amount=_dec(data.get("amount")))


# Header fields in the order of the public JSON contract (`arflow extract --json`).
HEADER_FIELDS = (
    "invoice_number", "issue_date", "due_date", "currency", "order_number",
    "subtotal", "tax_total", "total", "iban", "payment_terms",
)
REQUIRED_FIELDS = ("invoice_number", "issue_date", "currency", "total", "seller.name")


@dataclass
class Invoice:
    invoice_number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    seller: Party = field(default_factory=Party)
    buyer: Party = field(default_factory=Party)
    order_number: str | None = None
    subtotal: Decimal | None = None
    tax_total: Decimal | None = None
    total: Decimal | None = None  # with tax, before any withholding (EN 16931 BT-112)
    iban: str | None = None
    payment_terms: str | None = None
    lines: list[InvoiceLine] = field(default_factory=list)
    # INVOICE unless the document says otherwise (a type code, or a title such as "Credit note")
    invoice_type: InvoiceType = InvoiceType.INVOICE
    preceding_invoice: str | None = None  # the invoice a credit note or correction refers to
    # Income tax the payer withholds and pays to the tax office (Spanish IRPF retención, Italian
    # ritenuta d'acconto), as a positive amount: the supplier is paid total - withholding.
    withholding: Decimal | None = None
    # Document-level allowances and charges (EN 16931 BT-107 / BT-108), net of VAT: the
    # subtotal is the sum of the lines - allowances + charges.
    allowances: Decimal | None = None
    charges: Decimal | None = None
    # The VAT breakdown as stated: an e-invoice's, or a printed one the totals tie
    # (``extractors.breakdown``); empty when the document states none.
    tax_breakdown: list[TaxSubtotal] = field(default_factory=list)

    @property
    def amount_due(self) -> Decimal | None:
        """What is paid to the supplier: the total less any withholding."""
        if self.total is None:
            return None
        return self.total - (self.withholding or Decimal(0))

    def get(self, name: str) -> Any:
        """Read a field by its dotted contract name, e.g. ``seller.tax_id``."""
        head, _, rest = name.partition(".")
        value = getattr(self, head)
        return getattr(value, rest) if rest else value

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "invoice_number": self.invoice_number,
            "issue_date": _jsonable(self.issue_date),
            "due_date": _jsonable(self.due_date),
            "currency": self.currency,
            "seller": self.seller.to_json(),
            "buyer": self.buyer.to_json(),
            "order_number": self.order_number,
            "subtotal": _jsonable(self.subtotal),
            "tax_total": _jsonable(self.tax_total),
            "total": _jsonable(self.total),
            "iban": self.iban,
            "payment_terms": self.payment_terms,
            "lines": [line.to_json() for line in self.lines],
            "invoice_type": self.invoice_type.value,
            "preceding_invoice": self.preceding_invoice,
            "withholding": _jsonable(self.withholding),
            "allowances": _jsonable(self.allowances),
            "charges": _jsonable(self.charges),
        }
        if self.tax_breakdown:  # absent, the key is left out (as before it existed)
            out["tax_breakdown"] = [row.to_json() for row in self.tax_breakdown]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Invoice:
        return cls(
            invoice_number=data.get("invoice_number"),
            issue_date=_date(data.get("issue_date")),
            due_date=_date(data.get("due_date")),
            currency=data.get("currency"),
            seller=Party.from_json(data.get("seller")),
            buyer=Party.from_json(data.get("buyer")),
            order_number=data.get("order_number"),
            subtotal=_dec(data.get("subtotal")),
            tax_total=_dec(data.get("tax_total")),
            total=_dec(data.get("total")),
            iban=data.get("iban"),
            payment_terms=data.get("payment_terms"),
            lines=[InvoiceLine.from_json(x) for x in data.get("lines") or []],
            invoice_type=InvoiceType(data.get("invoice_type") or InvoiceType.INVOICE),
            preceding_invoice=data.get("preceding_invoice"),
            withholding=_dec(data.get("withholding")),
            allowances=_dec(data.get("allowances")),
            charges=_dec(data.get("charges")),
            tax_breakdown=[TaxSubtotal.from_json(x) for x in data.get("tax_breakdown") or []],
        )


@dataclass(frozen=True)
class Problem:
    """One structured error or finding about a document (machine-readable code + text)."""

    code: str
    message: str
    field: str | None = None
    page: int | None = None
    expected: str | None = None
    found: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for name in ("field", "page", "expected", "found"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class WordBox:
    """A word with its position on a page, in PDF points from the top-left corner."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    page: int = 0
    conf: float = 1.0  # OCR confidence 0..1; 1.0 for a digital text layer


@dataclass
class ExtractionResult:
    source: str
    status: ExtractionStatus
    kind: DocumentKind
    invoice: Invoice = field(default_factory=Invoice)
    confidence: dict[str, float] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    pages: int = 0
    # Which word boxes each field was read from (for highlighting in the review UI).
    evidence: dict[str, list[WordBox]] = field(default_factory=dict)
    readings: int = 1  # OCR readings of the document (3 when a field was read again)
    engines: tuple[str, ...] = ()  # the OCR engines that read it ("tesseract", "rapidocr")
    # A file of several invoices: each one's first and last page (0-based); empty otherwise.
    invoice_pages: list[tuple[int, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": str(self.status),
            "kind": str(self.kind),
            "invoice": self.invoice.to_json(),
            "confidence": {k: round(v, 3) for k, v in self.confidence.items()},
            "errors": [e.to_json() for e in self.errors],
        }


def pages_label(first: int, last: int) -> str:
    """0-based pages `first`..`last` as people count them: "page 3", "pages 2-3"."""
    return f"page {first + 1}" if first == last else f"pages {first + 1}-{last + 1}"


def display(value: object) -> str:
    """A value as text for messages and evidence: decimals in plain notation, ISO dates."""
    return str(_jsonable(value))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
