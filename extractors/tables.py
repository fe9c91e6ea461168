"""Line-item tables: find the header row, map columns by x-position, read rows to the totals.

A table that continues on the next page is joined whether or not its header is repeated
there: without a header, the previous page's columns are used from the first row that reads
as an item (page headers and footers before it are skipped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from extractors.labels import find_labels
from extractors.layout import Line, norm
from extractors.parse import parse_amount
from models.domain import InvoiceLine, WordBox

_HEADERS: dict[str, tuple[str, ...]] = {
    "description": (
        "description", "descripcion", "concepto", "articulo", "item", "items", "product",
        "producto", "beschreibung", "bezeichnung", "designation", "omschrijving", "detalle",
        "servicio", "service", "charge name", "product title", "leistung", "libelle", "artikel",
        "article", "producto/servicio", "description of goods",
    ),
    "quantity": (
        "qty", "quantity", "cantidad", "cant", "uds", "ud", "unidades", "units", "menge",
        "aantal", "hoeveelheid", "nombre", "qte", "anzahl", "hours", "hrs", "horas", "unid",
    ),
    "unit_price": (
        "unit price", "precio", "precio unitario", "precio unit", "price", "rate", "p.u",
        "unit cost", "vk-preis", "einzelpreis", "prijs", "prijs per stuk", "prix unitaire",
        "precio ud", "price per unit", "unit price (eur)", "p. unitario", "prix",
    ),
    "amount": (
        "amount", "importe", "total", "line total", "betrag", "montant", "bedrag", "zeilenbetrag",
        "gesamt", "gesamtpreis", "total price", "amount (usd)", "amount (eur)", "importe (eur)",
        "prijs incl. btw", "montant ht", "subtotal", "net amount", "total (eur)",
    ),
    # the item's position on the invoice (1, 2, 3...): a column of its own, never a quantity
    "position": ("pos", "position", "posicion", "posten", "#"),
    "tax_rate": (
        "vat %", "iva %", "% iva", "tax %", "iva", "vat", "tax", "mwst", "btw", "tva",
        "tax(%", "tax rate", "tipo iva", "% tax", "vat rate", "% vat", "tipo", "iva (%)",
    ),
}
PhraseIndex = dict[str, list[tuple[tuple[str, ...], str]]]


def phrase_index(phrases: Mapping[str, Sequence[str]]) -> PhraseIndex:
    """First normalised word -> (phrase's words, role), longest phrase first."""
    index: PhraseIndex = {}
    for role, texts in phrases.items():
        for text in texts:
            tokens = tuple(norm(t) for t in text.split())
            index.setdefault(tokens[0], []).append((tokens, role))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


_INDEX = phrase_index(_HEADERS)

_END_FIELDS = {"subtotal", "total", "tax_total", "line_total"}


@dataclass
class Column:
    role: str
    x0: float
    x1: float


@dataclass
class Table:
    lines: list[InvoiceLine] = field(default_factory=list)
    rows: list[list[WordBox]] = field(default_factory=list)  # evidence per item
    used: set[int] = field(default_factory=set)  # line indices consumed (header + body)


def header_columns(line: Line) -> list[Column] | None:
    """Columns if ``line`` reads as a line-item table header (column names, no figures)."""
    if any(c.isdigit() for w in line.words for c in w.text):
        return None
    tokens = [norm(w.text) for w in line.words]
    columns: list[Column] = []
    matched = i = 0
    while i < len(tokens):
        hit = _match(tokens, i)
        if hit is None:
            i += 1
            continue
        length, role = hit
        words = line.words[i : i + length]
        columns.append(Column(role, words[0].x0, words[-1].x1))
        matched += length
        i += length
    roles = {c.role for c in columns}
    if len(roles) < 2 or not roles & {"amount", "unit_price"} or matched * 2 < len(tokens):
        return None
    return _dedupe(columns)


def column_roles(words: Sequence[WordBox]) -> set[str]:
    """The line-item columns that `words` name ("Description", "Qty", "Unit price"...),
    figures or not."""
    tokens = [norm(w.text) for w in words]
    roles: set[str] = set()
    i = 0
    while i < len(tokens):
        hit = _match(tokens, i)
        if hit is None:
            i += 1
            continue
        roles.add(hit[1])
        i += hit[0]
    return roles


def longest_phrase(index: PhraseIndex, tokens: list[str], i: int) -> tuple[int, str] | None:
    """(words, role) of the longest phrase of `index` (first word -> phrases, longest
    first) at ``tokens[i]``, or None."""
    for phrase, role in index.get(tokens[i], ()):
        if tuple(tokens[i : i + len(phrase)]) == phrase:
            return len(phrase), role
    return None


def _match(tokens: list[str], i: int) -> tuple[int, str] | None:
    return longest_phrase(_INDEX, tokens, i)


def _dedupe(columns: list[Column]) -> list[Column]:
    """Keep the first column of each role except 'amount', where the rightmost wins."""
    seen: dict[str, Column] = {}
    for column in columns:
        if column.role not in seen or column.role == "amount":
            seen[column.role] = column
    return sorted(seen.values(), key=lambda c: c.x0)


def parse_quantity(text: str, mark: str | None) -> Decimal | None:
    token = text.split(maxsplit=1)[0] if text.split() else ""
    return parse_amount(token, mark)


def parse_rate(text: str, mark: str | None) -> Decimal | None:
    cleaned = text.replace("%", " ").strip()
    value = parse_amount(cleaned.split()[0], mark) if cleaned else None
    if value is None or not Decimal(0) <= value <= Decimal(100):
        return None
    return value


def is_totals_line(line: Line, has_amount: bool) -> bool:
    """A line that starts with a totals label (subtotal, tax, total) followed by an amount,
    or a row of sure totals labels (values under them): the table has ended."""
    hits = [h for h in find_labels(line) if h.field in _END_FIELDS]
    if has_amount:
        return any(h.start == 0 or h.strength >= 0.9 for h in hits)
    return any(h.start == 0 and h.strength >= 0.9 for h in hits) or len(hits) >= 2
