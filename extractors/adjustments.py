"""Document-level allowances and charges printed in a totals block (EN 16931 BT-107 / BT-108).

A discount row ("Descuento pronto pago 2%  -20,00", "Trade discount 5%", "Rappel") and a
charge row ("Portes 15,00", "Gastos de envío", "Freight", "Handling") stand between the
lines' sum and the tax base. They are read as ``allowances`` and ``charges`` — each the sum
of its rows, positive — only when the amounts tie them to the other totals:

    line items' sum - allowances + charges = tax base,   tax base + tax = total

(the line items' sum is the sum of the line items read, or, when that does not tie, a printed
lines' sum — "Suma", "Importe bruto", "Goods total" — or subtotal). The tax base is
the subtotal chosen, or, when no subtotal read ties, the total less the tax that both sums
give (an English "Subtotal / Discount / Shipping / Tax / Total" block prints none); its
evidence is then the words of the rows, the tax and the total. One row OCR misread with its
decimal comma lost ("495€" for 4,95 €) is reread as the amount the sums ask for when its
digits are those printed. Rows the numbers do not tie set nothing: the arithmetic check
then still sees the mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from extractors.candidates import Candidate

if TYPE_CHECKING:  # ``totals`` calls this module
    from extractors.totals import Totals

_CENT = Decimal("0.01")
_TIED_CONF = 0.95  # confidence of rows the arithmetic ties to the totals
_DERIVED_FACTOR = 0.9  # score kept by a tax base read as total - tax
_REREAD_FACTOR = 0.8  # score kept by a row whose amount the sums asked for (``_tied``)
_BLOCK = 12  # lines of a totals block above its total


def adjusted(totals: Totals, cands: Mapping[str, Sequence[Candidate]],
             line_sum: Decimal | None) -> Totals:
    """`totals` with the allowance and charge rows of its totals block when they tie (see
    the module docstring), else `totals` unchanged."""
    tot = totals.total
    if tot is None:
        return totals
    allowances = _rows(cands.get("allowance", ()), tot)
    charges = _rows(cands.get("charge", ()), tot)
    if _sum(allowances) == _sum(charges):  # none, or rows that cancel out: nothing to tie
        return totals
    printed = [*cands.get("line_total", ()), *cands.get("subtotal", ())]
    # the read lines' sum first; a printed lines' sum too, since OCR may lose or misread a
    # line item (the rows must still tie it exactly to the tax base, so a wrong one cannot)
    grosses = [*([line_sum] if line_sum is not None else []), *(c.value for c in printed)]
    pairs = [(g, b) for b in _bases(totals, cands) for g in dict.fromkeys(grosses) if g != b]
    for gross, base in pairs:
        tied = _tied_below(allowances, charges, gross - base)
        if tied is not None:
            return replace(totals, subtotal=_base(totals, base, printed, [*tied[0], *tied[1]]),
                           consistent=totals.consistent or totals.tax_total is not None,
                           lines_match=totals.lines_match or gross == line_sum,
                           allowances=_merged("allowances", tied[0]),
                           charges=_merged("charges", tied[1]))
    return totals


Rows = tuple[list[Candidate], list[Candidate]]


def _bases(totals: Totals, cands: Mapping[str, Sequence[Candidate]]) -> list[Decimal]:
    """The tax base the rows must reach: the subtotal chosen when the totals add up with it,
    else total - tax, else (no tax read) each printed subtotal."""
    tot, tax, sub = totals.total, totals.tax_total, totals.subtotal
    if totals.consistent and sub is not None:
        return [sub.value]
    if tax is not None and tot is not None:
        return [tot.value - tax.value]
    return list(dict.fromkeys(c.value for c in cands.get("subtotal", ())))


def _tied_below(allowances: list[Candidate], charges: list[Candidate],
                net: Decimal) -> Rows | None:
    """`_tied` on the rows from some line down to the total: all of them first, then without
    the topmost line, and so on. The block's rows stand together above the total; a row
    label higher up may be a line item's words ("Freight, pallet shipment zone 100 ... 297,34"
    when OCR garbled that line's amount, so it was not read as a line item)."""
    starts = sorted({c.hit.line.index for c in (*allowances, *charges)})
    for start in starts:
        tied = _tied([c for c in allowances if c.hit.line.index >= start],
                     [c for c in charges if c.hit.line.index >= start], net)
        if tied is not None and (tied[0] or tied[1]):
            return tied
    return None


def _tied(allowances: list[Candidate], charges: list[Candidate], net: Decimal) -> Rows | None:
    """The rows when allowances - charges = `net`; else the rows with one of them reread,
    when the amount the sum asks of it has the digits it was read with (OCR lost a decimal
    comma: "495€" for 4,95 €); else None."""
    less, more = _sum(allowances), _sum(charges)
    if abs(less - more - net) <= _CENT:
        return allowances, charges
    for index, row in enumerate(allowances):
        asked = net + more - (less - row.value)
        if _reread(row, asked):
            return _with(allowances, index, asked), charges
    for index, row in enumerate(charges):
        asked = less - net - (more - row.value)
        if _reread(row, asked):
            return allowances, _with(charges, index, asked)
    return None


def _reread(row: Candidate, asked: Decimal) -> bool:
    """`asked` has the digits printed in `row`'s words, in order."""
    printed = "".join(ch for w in row.words for ch in w.text if ch.isdigit()).lstrip("0")
    digits = format(asked.quantize(_CENT), "f").replace(".", "").lstrip("0")
    return asked > 0 and asked != row.value and digits == printed


def _with(rows: list[Candidate], index: int, value: Decimal) -> list[Candidate]:
    mended = replace(rows[index], value=value, score=rows[index].score * _REREAD_FACTOR)
    return [*rows[:index], mended, *rows[index + 1:]]


def _rows(found: Sequence[Candidate], tot: Candidate) -> list[Candidate]:
    """One candidate per printed row (two labels of one field on a line are two rows) in the
    totals block — at most ``_BLOCK`` lines above the total's — with its amount positive."""
    last = tot.hit.line.index
    rows: dict[tuple[int, int], Candidate] = {}
    for cand in found:
        if last - _BLOCK <= cand.hit.line.index <= last and cand.value:
            rows.setdefault((cand.hit.line.index, cand.hit.start),
                            replace(cand, value=abs(cand.value)))
    return list(rows.values())


def _sum(rows: Sequence[Candidate]) -> Decimal:
    return sum((c.value for c in rows), Decimal(0))


def _base(totals: Totals, base: Decimal, printed: Sequence[Candidate],
          rows: Sequence[Candidate]) -> Candidate:
    """The tax base's candidate: the subtotal chosen when the totals add up with it, else a
    subtotal printed as `base` (total - tax), else that difference with the rows, the tax
    and the total as its evidence."""
    sub, tax, tot = totals.subtotal, totals.tax_total, totals.total
    if totals.consistent and sub is not None:
        return sub
    same = [c for c in printed if c.field == "subtotal" and abs(c.value - base) <= _CENT]
    if same:
        return max(same, key=lambda c: c.score)
    assert tax is not None and tot is not None  # `base` is total - tax (`_bases`)
    words = [w for c in (*rows, tax, tot) for w in c.words]
    return Candidate("subtotal", base, min(tax.score, tot.score) * _DERIVED_FACTOR, words,
                     rows[0].hit)


def _merged(name: str, rows: Sequence[Candidate]) -> Candidate | None:
    """The rows of one field as one candidate: their sum, their words, the tied confidence."""
    if not rows:
        return None
    words = [w for c in rows for w in c.words]
    return Candidate(name, _sum(rows), _TIED_CONF, words, rows[0].hit)
