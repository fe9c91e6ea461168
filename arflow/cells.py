"""Untrusted text in spreadsheet-bound output (CSV reports, exports, XLSX workbooks).

File names and invoice fields come from senders: a cell starting with `=`, `+`, `-`, `@`,
a tab or a carriage return is run as a formula by spreadsheet programs (OWASP "CSV
injection"). One rule for every file arflow writes, so the exports and the reports cannot
drift apart.
"""

from __future__ import annotations

from decimal import Decimal

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would take `text` as a formula; a negative amount is a plain
    number and not one."""
    return text[:1] in _FORMULA_START and not (text[:1] == "-" and _number(text))


def safe_cell(text: str) -> str:
    """`text` for a CSV cell: formula-like text gets a leading apostrophe, which spreadsheets
    show as text; amounts and everything else stay as they are."""
    return "'" + text if formula_like(text) else text


def _number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
