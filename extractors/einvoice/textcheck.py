"""Does the printed text of a hybrid PDF show the values of its embedded e-invoice?

`compare_with_printed` compares two extracted invoices, so every text-extraction slip shows
up as a mismatch. This check goes the other way: it looks for the XML's own values in the
page text, in the spellings invoices use (``1.021,91`` / ``1,021.91`` / ``1 021,91``;
``05.03.2013`` / ``03/05/2013`` / ``5. März 2013`` / ``March 5, 2013`` ...). A value that
appears nowhere is an EINVOICE_MISMATCH with ``found=None``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from arflow.reasons import Reason
from models.domain import Invoice, Problem

_AMOUNT = re.compile(r"\d{1,3}(?:[.,'’\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?")
_GROUPING = re.compile(r"['’\u00a0\u202f ]")
MONTHS: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "januar", "janvier", "enero", "gennaio", "januari", "jänner"),
    2: ("february", "feb", "februar", "fevrier", "febrero", "febbraio", "februari"),
    3: ("march", "mar", "marz", "maerz", "mars", "marzo", "maart"),
    4: ("april", "apr", "avril", "abril", "aprile"),
    5: ("may", "mai", "mayo", "maggio", "mei"),
    6: ("june", "jun", "juni", "juin", "junio", "giugno"),
    7: ("july", "jul", "juli", "juillet", "julio", "luglio"),
    8: ("august", "aug", "aout", "agosto", "augustus"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "settembre"),
    10: ("october", "oct", "oktober", "octobre", "octubre", "ottobre", "okt"),
    11: ("november", "nov", "novembre", "noviembre"),
    12: ("december", "dec", "dezember", "decembre", "diciembre", "dicembre", "dez"),
}


def check_against_text(xml_invoice: Invoice, text: str) -> list[Problem]:
    """EINVOICE_MISMATCH for each of total, invoice number and issue date that the XML has
    but the printed text does not show. Totals are matched by absolute value (credit notes
    are often printed negative while the XML carries a positive amount with type 381)."""
    checks: tuple[tuple[str, object, bool], ...] = (
        ("total", xml_invoice.total, _has_amount(text, xml_invoice.total)),
        ("invoice_number", xml_invoice.invoice_number, _has_number(text, xml_invoice)),
        ("issue_date", xml_invoice.issue_date, _has_date(text, xml_invoice.issue_date)),
    )
    problems = []
    for name, value, present in checks:
        if value is None or present:
            continue
        shown = value.isoformat() if isinstance(value, date) else str(value)
        problems.append(
            Problem(
                code=Reason.EINVOICE_MISMATCH,
                message=f"{name} {shown} of the embedded e-invoice is not on the printed pages",
                field=name,
                expected=shown,
            )
        )
    return problems


def amounts_in(text: str) -> set[Decimal]:
    """Every amount the text could mean, read with either decimal mark."""
    out: set[Decimal] = set()
    for token in _AMOUNT.findall(text):
        bare = _GROUPING.sub("", token)
        for decimal_mark, group_mark in ((",", "."), (".", ",")):
            try:
                out.add(Decimal(bare.replace(group_mark, "").replace(decimal_mark, ".")))
            except InvalidOperation:
                continue
    return out


def _has_amount(text: str, amount: Decimal | None) -> bool:
    return amount is not None and abs(amount) in amounts_in(text)


def _alnum(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def _has_number(text: str, invoice: Invoice) -> bool:
    return bool(invoice.invoice_number) and _alnum(invoice.invoice_number or "") in _alnum(text)


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(plain.casefold().replace(",", " , ").split())


def date_spellings(day: date) -> list[str]:
    d, m, y = day.day, day.month, day.year
    numeric = [f"{y:04d}-{m:02d}-{d:02d}", f"{y:04d}{m:02d}{d:02d}"]
    for dd, mm in ((f"{d:02d}", f"{m:02d}"), (str(d), str(m))):
        for sep in (".", "/", "-"):
            for yy in (str(y), f"{y % 100:02d}"):
                numeric += [f"{dd}{sep}{mm}{sep}{yy}", f"{mm}{sep}{dd}{sep}{yy}"]
    words = []
    for name in MONTHS[m]:
        for dd in (str(d), f"{d:02d}"):
            words += [f"{dd} {name} {y}", f"{dd}. {name} {y}", f"{name} {dd} , {y}"]
            words += [f"{dd} de {name} de {y}", f"{dd}-{name}-{y}", f"{name} {dd} {y}"]
    return numeric + words


def _has_date(text: str, day: date | None) -> bool:
    if day is None:
        return False
    folded = _fold(text)
    return any(_fold(form) in folded for form in date_spellings(day))
