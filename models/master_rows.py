"""Row validation for master-data CSV files.

Tax IDs and IBANs are validated and normalised by `extractors.ids`, the same rules the
extractors apply to invoices (Spanish NIF/CIF/NIE, EU and UK VAT, US EIN; compact IBAN).

Each `check_*` turns raw rows into records and appends a `RowError` (line, column, message)
for every problem it finds, including conflicts between rows of the same file.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from extractors.ids import normalize_iban, normalize_tax_id, plausible_tax_id
from models.currencies import ISO_4217
from models.types import MAX_ABS, SCALE
from models.upsert import OrderLineRecord, PartyRecord, ReceiptRecord, RowError

_SEPARATORS = re.compile(r"[\s.\-/]")
_valid_tax_id = lru_cache(maxsize=65_536)(normalize_tax_id)  # files repeat the same IDs
_TAX_ID_FORMS = "Spanish NIF/CIF/NIE, EU or UK VAT number with prefix, US EIN 12-3456789"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# an order or a delivery further ahead than this is a typing error (2099 for 2029), not a plan
MAX_AHEAD = timedelta(days=366)
MAX_TAX_RATE = Decimal(100)  # a percentage


class RowReader:
    """One CSV row; typed getters record an error and return None for a bad value."""

    def __init__(self, line: int, values: dict[str, str], found: int, expected: int) -> None:
        self.line, self.values, self.errors = line, values, list[RowError]()
        if found != expected:
            self.fail(None, f"expected {expected} fields, found {found}")

    def fail(self, column: str | None, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))

    def text(self, column: str, *, required: bool = True) -> str | None:
        value = (self.values.get(column) or "").strip()
        if not value and required:
            self.fail(column, "required value is empty")
        return value or None

    def decimal(self, column: str, *, required: bool = True,
                signed: bool = False) -> Decimal | None:
        """A decimal number; negative only when `signed` (a receipt's return)."""
        raw = self.text(column, required=required)
        if raw is None:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.fail(column, f"not a decimal number: {raw!r} (use . as decimal mark)")
            return None
        if not value.is_finite() or abs(value) >= MAX_ABS:
            self.fail(column, f"out of range: {raw!r}")
            return None
        if value.as_tuple().exponent < -SCALE:  # type: ignore[operator]
            self.fail(column, f"more than {SCALE} decimals: {raw!r}")
            return None
        if value < 0 and not signed:
            self.fail(column, f"must not be negative: {raw!r}")
            return None
        return value

    def integer(self, column: str) -> int | None:
        raw = self.text(column)
        if raw is None:
            return None
        if not raw.isdigit() or int(raw) < 1:
            self.fail(column, f"not a positive whole number: {raw!r}")
            return None
        return int(raw)

    def iso_date(self, column: str) -> date | None:
        """A date in ISO form, at most `MAX_AHEAD` after today."""
        raw = self.text(column)
        if raw is None:
            return None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            self.fail(column, f"not an ISO date (YYYY-MM-DD): {raw!r}")
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            self.fail(column, f"no such date: {raw!r}")
            return None
        if value > date.today() + MAX_AHEAD:
            self.fail(column, f"{raw} is more than a year in the future: a typing error?")
            return None
        return value

    def currency(self, column: str) -> str | None:
        """An ISO 4217 code: an unknown one (ZZZ) would make every invoice of the order a
        CURRENCY_MISMATCH, far from the import that caused it."""
        raw = self.text(column)
        if raw is not None and not re.fullmatch(r"[A-Z]{3}", raw):
            self.fail(column, f"not a 3-letter upper-case currency code: {raw!r}")
            return None
        if raw is not None and raw not in ISO_4217:
            self.fail(column, f"not an ISO 4217 currency code: {raw!r}")
            return None
        return raw

    def percentage(self, column: str) -> Decimal | None:
        """An optional tax rate in percent (21 for 21 %), from 0 to 100."""
        value = self.decimal(column, required=False)
        if value is not None and value > MAX_TAX_RATE:
            self.fail(column, f"not a percentage from 0 to 100: {value} (21 means 21 %)")
            return None
        return value

    def tax_id(self, column: str, *, strict: bool, required: bool = True) -> str | None:
        raw = self.text(column, required=required)
        if raw is None:
            return None
        valid = _valid_tax_id(raw)
        if valid is not None:
            return valid
        if not strict:  # keep what the order says; matching reports it if it matters
            return plausible_tax_id(raw) or _SEPARATORS.sub("", raw).upper()
        self.fail(column, f"invalid tax ID {raw!r}: wrong check digit or format ({_TAX_ID_FORMS})")
        return None

    def iban(self, column: str) -> str | None:
        raw = self.text(column, required=False)
        valid = None if raw is None else normalize_iban(raw)
        if raw is not None and valid is None:
            self.fail(column, f"invalid IBAN {raw!r}: wrong check digits or format")
        return valid

    def email(self, column: str) -> str | None:
        raw = self.text(column, required=False)
        if raw is not None and not _EMAIL.match(raw):
            self.fail(column, f"not an e-mail address: {raw!r}")
            return None
        return raw


def check_parties(rows: list[RowReader], errors: list[RowError]) -> list[PartyRecord]:
    out: list[PartyRecord] = []
    first: dict[str, int] = {}
    for row in rows:
        name, tax_id = row.text("name"), row.tax_id("tax_id", strict=True)
        iban_, email = row.iban("iban"), row.email("email")
        if tax_id is not None and tax_id in first:
            row.fail("tax_id", f"duplicate of line {first[tax_id]} ({tax_id})")
        errors.extend(row.errors)
        if not row.errors and name and tax_id:
            first[tax_id] = row.line
            out.append(PartyRecord(row.line, name, tax_id, iban_, email))
    return out


def _order_line(row: RowReader) -> OrderLineRecord | None:
    values = (row.text("order_number"), row.tax_id("counterparty_tax_id", strict=False,
                                                   required=False),
              row.text("counterparty_name"), row.iso_date("order_date"), row.currency("currency"),
              row.integer("line_no"), row.text("description", required=False),
              row.decimal("quantity"), row.decimal("unit_price"),
              row.percentage("tax_rate"))
    return None if row.errors else OrderLineRecord(row.line, *values)  # type: ignore[arg-type]


def check_orders(rows: list[RowReader], errors: list[RowError]) -> list[OrderLineRecord]:
    out: list[OrderLineRecord] = []
    headers: dict[str, OrderLineRecord] = {}
    seen: dict[tuple[str, int], int] = {}
    for row in rows:
        rec = _order_line(row)
        if rec is not None:
            _check_order_consistency(row, rec, headers.setdefault(rec.order_number, rec), seen)
        errors.extend(row.errors)
        if rec is not None and not row.errors:
            out.append(rec)
    return out


def _check_order_consistency(row: RowReader, rec: OrderLineRecord, head: OrderLineRecord,
                             seen: dict[tuple[str, int], int]) -> None:
    key = (rec.order_number, rec.line_no)
    if key in seen:
        row.fail("line_no", f"duplicate of line {seen[key]} (order {rec.order_number!r})")
    seen.setdefault(key, rec.line)
    for column in ("counterparty_tax_id", "counterparty_name", "order_date", "currency"):
        if getattr(rec, column) != getattr(head, column):
            row.fail(column, f"differs from line {head.line} of the same order "
                             f"({getattr(head, column)!s} there)")


def check_receipts(rows: list[RowReader], errors: list[RowError]) -> list[ReceiptRecord]:
    out: list[ReceiptRecord] = []
    seen: dict[tuple[str, int, date], int] = {}
    for row in rows:
        number, line_no = row.text("order_number"), row.integer("line_no")
        # negative: goods sent back to the supplier (a return delivery)
        quantity = row.decimal("quantity_received", signed=True)
        received = row.iso_date("received_date")
        if number and line_no and quantity is not None and received:
            key = (number, line_no, received)
            if key in seen:
                row.fail("received_date", f"duplicate of line {seen[key]}")
            seen.setdefault(key, row.line)
            if not row.errors:
                out.append(ReceiptRecord(row.line, number, line_no, quantity, received))
        errors.extend(row.errors)
    return out
