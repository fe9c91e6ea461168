"""Invoice numbers and tax IDs compared in SQL the way matching compares them in Python.

An approver looking for "what happened to invoice f 2024 12?" should find the invoice printed
"F-2024/0012", exactly as the duplicate check would (`matching.normalize`). The database holds
the numbers as printed and no normalised column (adding one needs a migration), so the keys
are computed in the query:

- on SQLite by the very function matching uses, registered on the connection
  (`sqlite3.Connection.create_function`), so the two cannot disagree;
- on PostgreSQL by `regexp_replace`, after `translate` for text that is not ASCII (Latin
  letters with accents to their ASCII capital, "º" to "O": what
  `matching.normalize.ascii_upper` gives them). The test suite checks these against
  `matching.normalize` on awkward numbers; a character outside Latin-1 and Latin
  Extended-A/B that NFKD would turn into ASCII (a fullwidth digit, "¼") is dropped on
  PostgreSQL instead.

Computing keys costs 2-6 µs a row (a Python call on SQLite, four regular expressions on
PostgreSQL), too much for every row of 100,000 on every search. A key is what is left of the
text once characters are dropped, capitalised and stripped of accents, so its characters
appear in that order in the text as printed: a cheap `ILIKE '%F%2%0%2%4%1%2%'` is checked
first, and the keys are computed only for the rows that pass it, or that hold non-ASCII
text, where capitals and accents could differ (`bench/documents_scale.py` has the figures).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, String, case, cast, false, func, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import Function

from matching.normalize import ascii_upper, invoice_number_keys, norm_tax_id

_SQLITE_KEYS = "arflow_invoice_number_keys"
# What tax IDs are printed with between their characters ("ES B-58.378.431").
_TAX_SEPARATORS = (" ", "-", ".", "/")


def _accent_table() -> tuple[str, str]:
    """`translate` arguments: every character of Latin-1 and Latin Extended-A and -B that
    `ascii_upper` turns into one ASCII letter or digit ("é" → "E", "º" → "O", "²" → "2")."""
    pairs = [(c, ascii_upper(c)) for c in map(chr, range(0xA0, 0x250))]
    kept = [(c, up) for c, up in pairs if len(up) == 1 and up.isascii() and up.isalnum()]
    return "".join(c for c, _ in kept), "".join(up for _, up in kept)


_FROM, _TO = _accent_table()


def _keys_text(number: str | None) -> str:
    """A number's keys, space-separated: a key is [0-9A-Z] only, so a search for one key
    never matches across two."""
    return " ".join(invoice_number_keys(number))


def _on_sqlite(session: Session) -> bool:
    """Whether the session's database is SQLite; if so, the key function is registered on
    its connection (idempotent, and cheap enough to do per query)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False
    raw: Any = connection.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        raw.create_function(_SQLITE_KEYS, 1, _keys_text, deterministic=True)
    return True


def _not_ascii(column: Any, sqlite: bool) -> ColumnElement[bool]:
    """The text holds a character beyond ASCII: more bytes than characters in UTF-8."""
    if sqlite:
        return func.length(cast(column, LargeBinary)) != func.length(column)
    return func.octet_length(column) != func.char_length(column)


def _pg_keys(column: Any) -> ColumnElement[str]:
    """`invoice_number_keys` in PostgreSQL: per digit group without its leading zeros, then
    as one run without the zeros that lead it (after any letters)."""
    plain = case((_not_ascii(column, False), func.translate(column, _FROM, _TO)), else_=column)
    text = func.upper(plain)
    grouped = func.regexp_replace(
        func.regexp_replace(text, "(^|[^0-9])0+([0-9])", r"\1\2", "g"), "[^0-9A-Z]+", "", "g")
    joined = func.regexp_replace(func.regexp_replace(text, "[^0-9A-Z]+", "", "g"),
                                 "^([A-Z]*)0+([0-9A-Z])", r"\1\2")
    return func.concat(grouped, " ", joined)


def _keys(column: Any, sqlite: bool) -> ColumnElement[str]:
    return Function(_SQLITE_KEYS, column, type_=String()) if sqlite else _pg_keys(column)


def number_keys(session: Session, column: Any) -> ColumnElement[str]:
    """The keys of the invoice numbers in `column`, space-separated (see `_keys_text`)."""
    return _keys(column, _on_sqlite(session))


def _in_order(key: str) -> str:
    """A LIKE pattern for text holding the key's characters in this order ("%F%1%2%")."""
    return "%" + "%".join(key) + "%"


def number_matches(session: Session, column: Any, typed: str) -> ColumnElement[bool]:
    """Invoice numbers holding what was typed, compared by their keys: "f 2024 12" finds
    "F-2024/0012" (and "F-2024/00123"); text without a letter or digit finds nothing."""
    keys = [key for key in invoice_number_keys(typed.strip()) if key]
    if not keys:
        return false()
    sqlite = _on_sqlite(session)
    stored = _keys(column, sqlite)
    found = or_(*(stored.contains(key) for key in keys))
    maybe = or_(*(column.ilike(_in_order(key)) for key in keys), _not_ascii(column, sqlite))
    return case((maybe, found), else_=false())


def _tax_id_text(column: Any) -> ColumnElement[str]:
    """Tax IDs in capitals without separators ("es b-58.378.431" → "ESB58378431"): plain
    `replace`, which both databases run in C."""
    for separator in _TAX_SEPARATORS:
        column = func.replace(column, separator, "")
    return func.upper(column)


def tax_id_matches(column: Any, typed: str) -> ColumnElement[bool] | None:
    """Tax IDs holding what was typed, without separators or VAT country prefix
    (`matching.normalize.norm_tax_id`); None when the text has no digit (then it is a name,
    not a tax ID)."""
    key = norm_tax_id(typed)
    if not any(c.isdigit() for c in key):
        return None
    found = _tax_id_text(column).contains(key, autoescape=True)
    return case((column.ilike(_in_order(key)), found), else_=false())
