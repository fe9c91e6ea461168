"""Cross-check an embedded e-invoice against what the printed (rendered) document says."""

from __future__ import annotations

import re
from decimal import Decimal

from arflow.reasons import Reason
from models.domain import Invoice, Problem, display

COMPARED_FIELDS = ("invoice_number", "issue_date", "total")


def compare_with_printed(
    xml_invoice: Invoice, printed_invoice: Invoice, *, tolerance: Decimal = Decimal("0")
) -> list[Problem]:
    """EINVOICE_MISMATCH problems for total, invoice number and issue date.

    A field is compared only when both sides have it (a field the text extractor missed is a
    MISSING_FIELD matter, not a mismatch). Invoice numbers are compared ignoring case, spaces
    and punctuation; totals by absolute value (credit notes are often printed negative while
    the XML carries a positive amount with type 381) and differ when more than `tolerance`
    apart. See also `check_against_text`, which needs no field extraction."""
    problems = []
    for name in COMPARED_FIELDS:
        expected, found = xml_invoice.get(name), printed_invoice.get(name)
        if expected is None or found is None or _same(expected, found, tolerance):
            continue
        problems.append(
            Problem(
                code=Reason.EINVOICE_MISMATCH,
                message=f"{name}: the embedded e-invoice says {display(expected)}, "
                f"the printed document {display(found)}",
                field=name,
                expected=display(expected),
                found=display(found),
            )
        )
    return problems


def _same(a: object, b: object, tolerance: Decimal) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return abs(abs(a) - abs(b)) <= tolerance
    if isinstance(a, str) and isinstance(b, str):
        return normalize_number(a) == normalize_number(b)
    return a == b


def normalize_number(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()

