"""The VAT breakdown of a printed invoice (EN 16931 BG-23: rate, base and tax per rate) read
into ``Invoice.tax_breakdown`` only when the numbers tie it.

Two printed forms are read: a breakdown table ("Base imponible | % IVA | Cuota IVA", one row
per rate: ``extractors.breakdown_table``) and, when no table ties, the totals block's tax
rows ("IVA 21%  210,00", "IVA 10% s/ 150,00  15,00", "VAT 20% on 1,000.00  200.00":
``extractors.breakdown_rows``). The rows of a form are the breakdown when:

- every row states its own rate (no rate twice), and
- the totals block adds up (subtotal + tax = total), the rows' taxes add up to its tax, and
  their bases, when printed on every row, to its subtotal (the tax base, after any
  document-level discount or charge), one cent of rounding per row. A row whose tax is not
  its base × rate is read then too — the sums confirm each of its amounts was read as
  printed, so the mismatch is the document's and validation reports it on that row
  (``matching.checks``) — provided its rate was read from a text layer, or, read by OCR,
  is a rate the line items print (an OCR slip in a rate is not passed off as the
  document's error); or
- no subtotal and tax that add up were read, and the rows' bases and taxes add up to the
  total and each row's tax is its base × rate (a table that alone states the tax: "21 %
  41,31  8,68  49,99" under tax-included lines and "Factuur totaal 49,99"; a block that
  prints no tax base row and no tax total, only a charge and a tax row per rate with its
  base). The rows then state the tax base and the tax (``restated``), every figure of them
  printed and their sum the printed total, and the discounts and charges are tied to them.

Rows without bases are read only for two rates or more. A single rate's row without its base
("IVA 21%  210,00") is the tax total again: it would check nothing, and as a breakdown it
would keep validation from checking a discounted invoice's tax against its one rate
(``matching.checks._tax``), so it is left out. Rows that do not tie set nothing: validation
then checks the totals as before. A row's error that the totals do not carry (a 10 % row of
25,00 beside a tax total that counts 20,00) is therefore not reported; the totals are right.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from extractors.breakdown_rows import totals_rows
from extractors.breakdown_table import Grid, PrintedRow
from extractors.candidates import Candidate
from extractors.layout import Line
from extractors.tables import Table
from extractors.totals import Totals
from models.domain import TaxSubtotal, WordBox

TIED_CONFIDENCE = 0.95
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Printed:
    """What else of the document the rows are read and tied with: its lines (without a
    breakdown table's words), its decimal mark and its line items."""

    lines: Sequence[Line]
    mark: str | None
    table: Table

    @property
    def rates(self) -> set[Decimal]:
        """The rates the line items print."""
        return {ln.tax_rate for ln in self.table.lines if ln.tax_rate is not None}

    @property
    def line_sum(self) -> Decimal | None:
        """The line items' amounts added up (None without items, or with one unread)."""
        amounts = [ln.amount for ln in self.table.lines]
        return None if not amounts or None in amounts else _sum(amounts)


def read_breakdown(grid: Grid | None, cands: Mapping[str, Sequence[Candidate]],
                   totals: Totals, doc: Printed) -> list[PrintedRow] | None:
    """The breakdown table's rows when the numbers tie them, else the totals block's tax
    rows when they tie (see the module docstring), else None."""
    if grid is not None and tied(grid.rows, totals, doc.rates):
        return list(grid.rows)
    if totals.total is None:
        return None
    rows = totals_rows(cands.get("tax_total", ()), doc.lines, totals.total.hit.line.index,
                       doc.mark, doc.table.used)
    return rows if rows and tied(rows, totals, doc.rates) else None


def restated(rows: Sequence[PrintedRow], totals: Totals) -> Totals | None:
    """`totals` with the subtotal and tax the rows state, when the total alone tied them
    (the subtotal and tax read do not add up to it), else None: the rows' bases and taxes
    were each printed, each row holds and together they make the printed total, so they
    are the tax base and the tax ("Subtotal 14,607.60 | Freight 146.08 | VAT 20% on
    5,878.49 1,175.70 | VAT 5% on 8,935.19 446.76 | Total 16,436.14", where no tax base
    row is printed and no tax total but the rates')."""
    tot = totals.total
    if totals.consistent or tot is None or any(row.base is None for row in rows):
        return None
    words = evidence(rows)
    sub = Candidate("subtotal", _sum([r.base for r in rows]), TIED_CONFIDENCE, words, tot.hit)
    tax = Candidate("tax_total", _sum([r.tax for r in rows]), TIED_CONFIDENCE, words, tot.hit)
    return replace(totals, subtotal=sub, tax_total=tax, consistent=True)


def as_subtotals(rows: Iterable[PrintedRow]) -> list[TaxSubtotal]:
    return [TaxSubtotal(rate=row.rate, base=row.base, amount=row.tax) for row in rows]


def evidence(rows: Iterable[PrintedRow]) -> list[WordBox]:
    return [w for row in rows for w in row.words]


def tied(rows: Sequence[PrintedRow], totals: Totals, line_rates: Collection[Decimal]) -> bool:
    """Whether the totals tie `rows` as the invoice's breakdown (module docstring)."""
    rates = [row.rate for row in rows]
    bases = [row.base for row in rows]
    if len(set(rates)) != len(rates):
        return False
    if None in bases:
        return len(rows) > 1 and all(base is None for base in bases) and _taxes_tie(rows, totals)
    if _taxes_tie(rows, totals) and _bases_tie(rows, totals):
        return all(_holds(row) or _rate_confirmed(row, line_rates) for row in rows)
    return _add_up_to_total(rows, totals) and all(_holds(row) for row in rows)


def _taxes_tie(rows: Sequence[PrintedRow], totals: Totals) -> bool:
    """The totals add up (subtotal + tax = total) and the rows' taxes to their tax."""
    tax = totals.tax_total
    return totals.consistent and tax is not None and _near(_sum([r.tax for r in rows]),
                                                             tax.value, len(rows))


def _bases_tie(rows: Sequence[PrintedRow], totals: Totals) -> bool:
    sub = totals.subtotal
    return sub is not None and _near(_sum([r.base for r in rows]), sub.value, len(rows))


def _add_up_to_total(rows: Sequence[PrintedRow], totals: Totals) -> bool:
    """No subtotal and tax that add up were read, but the rows' bases and taxes add up to
    the total printed (a table that alone states the tax: "21 % 41,31 8,68 49,99" above
    "Factuur totaal 49,99")."""
    tot = totals.total
    both = _sum([r.base for r in rows]) + _sum([r.tax for r in rows])
    return not totals.consistent and tot is not None and _near(both, tot.value, len(rows))


def _near(value: Decimal, target: Decimal, rows: int) -> bool:
    """Equal but for a cent of rounding per row."""
    return abs(value - target) <= _CENT * rows


def _holds(row: PrintedRow) -> bool:
    """base × rate = tax, to the cent."""
    assert row.base is not None
    return abs(row.base * row.rate / _HUNDRED - row.tax) <= _CENT


def _rate_confirmed(row: PrintedRow, line_rates: Collection[Decimal]) -> bool:
    """The row's rate was read from a text layer, or is a rate the line items print."""
    return all(w.conf >= 1.0 for w in row.rate_words) or row.rate in line_rates


def _sum(values: Sequence[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))
