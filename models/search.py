"""Invoice numbers and tax IDs compared in SQL the way matching compares them in Python, and
names searched and sorted in lower case on either database (`lowered`).

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

Names (of suppliers, sellers, files) are searched in lower case: "álvarez" finds "ÁLVAREZ
HERMANOS S.L.". SQLite's own lower() changes ASCII letters only, so there `lowered` calls
`arflow.db.unicode_lower` (Python's `str.lower`, registered on every connection), and
PostgreSQL's lower(), which changes every letter in a UTF-8 database whose LC_CTYPE is not
plain "C" ("C.UTF-8", as the test server's, is fine). What was typed is put
in lower case by the same SQL function as the stored text, so the two cannot disagree on a
database. Lower case, not Python's `str.casefold`: PostgreSQL 15 has no case folding, and
with "Straße" folded to "strasse" a name typed as stored would not be found; "strasse" does
not find "Straße" on either database. The databases may still differ on a few letters
(Python lowers "İ" to "i̇", two characters, glibc to "i"; an ICU collation knows the final
"ς"). Accents count: "alvarez" does not find "Álvarez" (unlike invoice numbers above).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, String, case, cast, false, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import Function, FunctionElement

from arflow.db import SQLITE_LOWER
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


class _Lowered(FunctionElement[str]):
    """lower() for every letter: compiled per database (below), so that the pages' queries
    need no session to know which database they run on."""

    type = String()
    name = "lowered"
    inherit_cache = True


@compiles(_Lowered)
def _lowered_sql(element: _Lowered, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_Lowered, "sqlite")
def _lowered_sqlite(element: _Lowered, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def lowered(text: Any) -> ColumnElement[str]:
    """Text in lower case, every letter and on either database (NULL stays NULL): what names
    are compared and sorted by."""
    return _Lowered(text)


def _like_escaped(text: str) -> str:
    """Text with LIKE's wildcards escaped by "/" (as `autoescape` does), so "%" is a
    character; lower() changes none of the three."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def lowered_contains(column: Any, typed: str) -> ColumnElement[bool]:
    """The text in `column` holds what was typed, regardless of case: both put in lower case
    by the same SQL function (`lowered`), so they cannot be lowered two different ways."""
    typed_lower = lowered(literal(_like_escaped(typed), String()))
    return lowered(column).contains(typed_lower, escape="/")
