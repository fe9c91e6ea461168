"""Checks that need only the invoice itself: required fields, arithmetic, dates, identifiers.

Each check returns every finding (never stops at the first) with expected/found evidence. Tax rates
are percentages (21 means 21 %), as in EN 16931 / UBL `Percent`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from stdnum import iban as std_iban
from stdnum.es import cif, nie, nif
from stdnum.eu import vat
from stdnum.gb import vat as gb_vat
from stdnum.us import ein

from arflow.reasons import Reason
from arflow.settings import Tolerances
from models.domain import REQUIRED_FIELDS, Invoice, InvoiceLine, Problem

EARLIEST_DATE = date(2000, 1, 1)
MAX_FUTURE = timedelta(days=365)


def _gb_vat_valid(tax_id: str) -> bool:
    """A UK VAT number, only with its GB prefix: bare, any 9 digits pass 1 time in 97."""
    return tax_id.strip().upper().startswith("GB") and bool(gb_vat.is_valid(tax_id))


_TAX_VALIDATORS: tuple[Callable[[str], bool], ...] = (
    vat.is_valid, _gb_vat_valid, nif.is_valid, cif.is_valid, nie.is_valid, ein.is_valid,
)
_HUNDRED = Decimal(100)


def missing_fields(invoice: Invoice) -> list[Problem]:
    return [
        Problem(Reason.MISSING_FIELD, f"required field {name} is missing", field=name,
                expected="a value", found="nothing")
        for name in REQUIRED_FIELDS
        if invoice.get(name) in (None, "")
    ]


def arithmetic(invoice: Invoice, tol: Tolerances) -> list[Problem]:
    amounts = [ln.amount for ln in invoice.lines]
    allowance = tol.line_rounding * max(len(amounts), 1)
    gross = _tax_included(invoice, allowance)
    out = [p for i, line in enumerate(invoice.lines)
           if (p := _line_amount(i, line, tol, gross=gross))]
    adjusted = invoice.allowances is not None or invoice.charges is not None
    if gross:
        out += _compare("total", "sum of line amounts (tax included)", _net(invoice),
                        invoice.total, allowance)
    elif invoice.subtotal is not None and amounts and None not in amounts:
        what = "sum of line amounts" + (" - allowances + charges" if adjusted else "")
        out += _compare("subtotal", what, _net(invoice), invoice.subtotal, allowance)
    if None not in (invoice.subtotal, invoice.tax_total, invoice.total):
        expected = _sum([invoice.subtotal, invoice.tax_total])
        out += _compare("total", "subtotal + tax", expected, invoice.total, tol.line_rounding)
    if invoice.tax_breakdown:
        out += _breakdown(invoice, allowance)
    if invoice.tax_total is not None and invoice.lines and _rated(invoice.lines):
        out += _gross_tax(invoice, allowance) if gross else _tax(invoice, allowance)
    return out


def _tax_included(invoice: Invoice, allowance: Decimal) -> bool:
    """Line amounts stated with tax (retail invoices: "Prijs incl. BTW", "Total"): they add up
    to the total, not to the subtotal (and the invoice has no document-level adjustments)."""
    amounts = [ln.amount for ln in invoice.lines]
    if (not amounts or None in amounts or invoice.total is None
            or invoice.allowances is not None or invoice.charges is not None):
        return False
    lines = _sum(amounts)
    return abs(lines - invoice.total) <= allowance and (
        invoice.subtotal is None or abs(lines - invoice.subtotal) > allowance)


def _gross_tax(invoice: Invoice, allowance: Decimal) -> list[Problem]:
    """The tax within tax-included line amounts: amount × rate / (100 + rate)."""
    tax = _sum([(ln.amount or Decimal(0)) * (ln.tax_rate or Decimal(0))
                / (_HUNDRED + (ln.tax_rate or Decimal(0))) for ln in invoice.lines])
    return _compare("tax_total", "sum of the tax within the line amounts", tax,
                    invoice.tax_total, allowance)


def _breakdown(invoice: Invoice, allowance: Decimal) -> list[Problem]:
    """The VAT breakdown: each row's base × rate = its tax, the rows' taxes sum to the tax
    total and their bases to the subtotal (EN 16931 BR-CO-14, BR-S-09)."""
    rows = invoice.tax_breakdown
    out = [p for i, row in enumerate(rows) if row.rate is not None and row.base is not None
           for p in _compare(f"tax_breakdown[{i}].amount", "base × rate",
                             row.base * row.rate / _HUNDRED, row.amount, allowance)]
    amounts, bases = [row.amount for row in rows], [row.base for row in rows]
    if None not in amounts:
        out += _compare("tax_total", "sum of the VAT breakdown's tax", _sum(amounts),
                        invoice.tax_total, allowance)
    if None not in bases:
        out += _compare("subtotal", "sum of the VAT breakdown's bases", _sum(bases),
                        invoice.subtotal, allowance)
    return out


def _net(invoice: Invoice) -> Decimal:
    """The lines' sum less document-level allowances plus charges (EN 16931 BT-109)."""
    lines = _sum([ln.amount for ln in invoice.lines])
    return lines - (invoice.allowances or Decimal(0)) + (invoice.charges or Decimal(0))


def _tax(invoice: Invoice, allowance: Decimal) -> list[Problem]:
    """Tax against the lines' rates. Document-level allowances and charges carry rates of their
    own, stated only in the VAT breakdown: with them, the breakdown is checked instead
    (`_breakdown`), and without one the check is made only when every line has the same rate
    (the usual case), on the adjusted net."""
    if invoice.allowances is None and invoice.charges is None:
        tax = _sum([(ln.amount or Decimal(0)) * (ln.tax_rate or Decimal(0)) / _HUNDRED
                    for ln in invoice.lines])
        return _compare("tax_total", "sum of line amount × tax rate", tax, invoice.tax_total,
                        allowance)
    rates = {ln.tax_rate for ln in invoice.lines}
    if invoice.tax_breakdown or len(rates) != 1:
        return []
    rate = rates.pop() or Decimal(0)
    return _compare("tax_total", "(lines - allowances + charges) × tax rate",
                    _net(invoice) * rate / _HUNDRED, invoice.tax_total, allowance)


def _rated(lines: list[InvoiceLine]) -> bool:
    return all(ln.amount is not None and ln.tax_rate is not None for ln in lines)


def _sum(values: list[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))


def _line_amount(
    index: int, line: InvoiceLine, tol: Tolerances, *, gross: bool = False,
) -> Problem | None:
    """quantity × unit price (+ line adjustment) = amount; with tax-included amounts, a net
    unit price with its rate's tax added also agrees."""
    if line.quantity is None or line.unit_price is None or line.amount is None:
        return None
    expected = line.quantity * line.unit_price + (line.adjustment or Decimal(0))
    if gross and line.tax_rate is not None and abs(line.amount - expected) > tol.line_rounding:
        with_tax = expected * (_HUNDRED + line.tax_rate) / _HUNDRED
        if abs(line.amount - with_tax) <= tol.line_rounding:
            return None
    what = "quantity × unit price" + (" + charges - allowances" if line.adjustment else "")
    found = _compare(f"lines[{index}].amount", what, expected, line.amount, tol.line_rounding)
    return found[0] if found else None


def _compare(
    field: str, what: str, expected: Decimal, found: Decimal | None, allowance: Decimal,
) -> list[Problem]:
    if found is None or abs(found - expected) <= allowance:
        return []
    return [Problem(Reason.ARITHMETIC_MISMATCH, f"{field} does not equal {what}", field=field,
                    expected=format(expected, "f"), found=format(found, "f"))]


def dates(invoice: Invoice, today: date) -> list[Problem]:
    out = []
    latest = today + MAX_FUTURE
    for name in ("issue_date", "due_date"):
        value: date | None = getattr(invoice, name)
        if value is not None and not EARLIEST_DATE <= value <= latest:
            out.append(Problem(Reason.INVALID_DATES, f"{name} is implausible", field=name,
                               expected=f"{EARLIEST_DATE} … {latest}", found=value.isoformat()))
    issue, due = invoice.issue_date, invoice.due_date
    if issue is not None and due is not None and due < issue:
        out.append(Problem(Reason.INVALID_DATES, "due date is before the issue date",
                           field="due_date", expected=f">= {issue}", found=due.isoformat()))
    return out


@lru_cache(maxsize=65_536)
def tax_id_valid(tax_id: str) -> bool:
    """True when any supported scheme (EU VAT, UK VAT, Spanish NIF/CIF/NIE, US EIN) accepts the
    ID. UK numbers need their own validator: `stdnum.eu.vat` no longer accepts GB since Brexit."""
    return any(check(tax_id) for check in _TAX_VALIDATORS)


@lru_cache(maxsize=65_536)
def iban_valid(iban: str) -> bool:
    return bool(std_iban.is_valid(iban))


def identifiers(invoice: Invoice) -> list[Problem]:
    out = []
    for name in ("seller.tax_id", "buyer.tax_id"):
        value = invoice.get(name)
        if value and not tax_id_valid(value):
            out.append(Problem(Reason.INVALID_TAX_ID, f"{name} fails its checksum or format",
                               field=name, expected="a valid tax ID", found=value))
    if invoice.iban and not iban_valid(invoice.iban):
        out.append(Problem(Reason.INVALID_IBAN, "IBAN fails its checksum", field="iban",
                           expected="a valid IBAN", found=invoice.iban))
    return out
