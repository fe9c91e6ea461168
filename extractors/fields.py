"""Template-free field extraction from positioned words (digital text layer or OCR).

``extract_fields`` groups words into lines, reads the line-item table, finds ES/EN labels,
reads each label's value to its right or below it, chooses between candidates (label
strength, checksums, arithmetic) and returns the invoice with per-field confidence and the
words each field was read from. A title such as "Credit note" or "Factura rectificativa"
sets the document's type (``doc_type``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractors.adjustments import adjusted
from extractors.breakdown import (
    TIED_CONFIDENCE,
    Printed,
    as_subtotals,
    evidence,
    read_breakdown,
    restated,
)
from extractors.breakdown_table import Grid, find_grid
from extractors.candidates import Candidate, DocContext, collect
from extractors.currency_columns import prefer_currency_column
from extractors.dates import numeric_order_votes
from extractors.doc_type import read_invoice_type, read_preceding_invoice
from extractors.ids import normalize_iban
from extractors.labels import LabelHit, find_labels
from extractors.layout import Line, build_lines
from extractors.party_fields import read_parties
from extractors.table_rows import read_table
from extractors.terms import find_payment_terms
from extractors.totals import (
    PrintedAmounts,
    Totals,
    amount_confidence,
    choose_totals,
    digit_runs,
)
from extractors.values import (
    read_amounts,
    read_currency,
    read_date,
    read_iban,
    read_ocr_date,
)
from models.domain import Invoice, InvoiceLine, WordBox

_COMMA_DEC = re.compile(r"\d,\d{2}(?!\d)|\d\.\d{3},\d")
_DOT_DEC = re.compile(r"\d\.\d{2}(?!\d)|\d,\d{3}\.\d")
# Label words that mark a Spanish document ("total" is English too: it must not count).
_SPANISH = frozenset(("factura", "fecha", "iva", "cliente", "importe", "vencimiento", "pedido"))
_CURRENCY_TOKEN = re.compile(r"^(?:[A-Z]{3}|Rs\.?)$|[€£]")
# In OCR text only a dollar sign before a money amount counts ("$12.50"): OCR reads many an
# "S" as "$" ("4 $6", "€$00010702").
_DOLLAR_AMOUNT = re.compile(r"(?<![\w€$])\$\d{1,3}(?:,\d{3})*\.\d{2}(?!\d)")
# Money of countries that write the day first: ringgit ("RM 8.10", "RM8.10"), euro, pound.
# OCR reads many an "S" as "$", so a dollar sign alone does not outvote these.
_DAY_FIRST_MONEY = re.compile(r"(?<![A-Za-z])RM\s?\d|\bMYR\b|€|£|\bEUR\b|\bGBP\b")
_TIME = re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3]): ?[0-5]\d(?![\d/.-])")  # OCR: "10: 46"
# totals-block row labels, not party labels: a name may start with their words ("Shipping Co")
_TOTALS_ROWS = frozenset(("line_total", "allowance", "charge"))
_SCALARS = ("invoice_number", "issue_date", "due_date", "order_number", "payment_terms")


@dataclass
class FieldResult:
    invoice: Invoice = field(default_factory=Invoice)
    confidence: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, list[WordBox]] = field(default_factory=dict)

    def set(self, name: str, value: object, confidence: float, words: list[WordBox]) -> None:
        if value is None:
            return
        head, _, rest = name.partition(".")
        setattr(getattr(self.invoice, head) if rest else self.invoice, rest or head, value)
        self.confidence[name] = round(confidence * _word_conf(words), 4)
        self.evidence[name] = list(words)


def extract_fields(
    pages: Sequence[Sequence[WordBox]], *, page_width: float | None = None,
    key_fields_only: bool = False,
) -> FieldResult:
    """Read invoice fields from the words of each page (points, top-left origin);
    `key_fields_only`: the number, dates and amounts only, not the type, terms, currency,
    IBAN, parties and lines (to tell the invoices of one file apart, `extractors.bundles`)."""
    lines = build_lines(pages)
    result = FieldResult()
    if not lines:
        return result
    width = page_width or max(w.x1 for line in lines for w in line.words)
    mark = decimal_mark(lines)
    grid = find_grid(lines, mark)
    if grid is not None:  # its labels name no field and its rows are no items
        lines = build_lines([[w for w in page if id(w) not in grid.words] for page in pages])
    table = read_table(lines, mark)
    hits = [h for line in lines if line.index not in table.used for h in find_labels(line)]
    ctx = DocContext(lines, mark, _day_first(lines, hits))
    cands = collect(hits, ctx)
    if not key_fields_only:
        _document_type(result, cands, ctx, table.used)
    _scalars(result, cands)
    if not key_fields_only:
        _unlabelled_terms(result, lines)
    if result.invoice.issue_date is None:
        _issue_date_fallback(result, ctx, table.used)
    _check_date_order(result, ctx)
    totals = _amounts(result, cands, table.lines, lines, mark)
    if key_fields_only:
        return result
    _breakdown(result, cands, totals, grid, Printed(lines, mark, table))
    _currency(result, cands, lines)
    prefer_currency_column(result, lines, mark)
    _iban(result, cands, lines)
    party_hits = [h for h in hits if h.field not in _TOTALS_ROWS]
    read_parties(result, lines, party_hits, width, table.used,
                 title=result.evidence.get("invoice_type", []))
    result.invoice.lines = table.lines
    if table.lines:
        result.confidence["lines"] = 0.9
        result.evidence["lines"] = [w for row in table.rows for w in row]
    return result


def decimal_mark(lines: Sequence[Line]) -> str | None:
    """The document's decimal mark by majority of amount-looking words."""
    comma = dot = 0
    for line in lines:
        for word in line.words:
            comma += bool(_COMMA_DEC.search(word.text))
            dot += bool(_DOT_DEC.search(word.text))
    if comma == dot:
        return None
    return "," if comma > dot else "."


def _day_first(lines: Sequence[Line], hits: Sequence[LabelHit]) -> bool:
    text = "\n".join(line.text for line in lines)
    day, month = numeric_order_votes(text)
    if day != month:
        return day > month
    if _DAY_FIRST_MONEY.search(text) and "USD" not in text:
        return True
    spanish = any(h.line.words[h.start].text.lower().rstrip(":.") in _SPANISH for h in hits)
    us = "USD" in text or ("$" in text and (_DOLLAR_AMOUNT.search(text) is not None or any(
        "$" in w.text for ln in lines for w in ln.words if w.conf >= 1.0)))
    return spanish or not us


def _issue_date_fallback(result: FieldResult, ctx: DocContext, skip: set[int]) -> None:
    """No dated label: a date on the invoice-number line, else the first date on page 1
    with a time after it (a receipt's transaction stamp), else the first date on page 1,
    else the first OCR-garbled date (``read_ocr_date``) with a time after it."""
    number_words = result.evidence.get("invoice_number", [])
    first_page = [ln for ln in ctx.lines if ln.page == ctx.lines[0].page and ln.index not in skip]
    number_lines = [ln for ln in first_page if number_words and number_words[0] in ln.words]
    passes = ((number_lines, 0.6, read_date, False), (first_page, 0.5, read_date, True),
              (first_page, 0.4, read_date, False), (first_page, 0.3, read_ocr_date, True))
    for lines, confidence, reader, timed in passes:
        for line in lines:
            found = reader(line.words, ctx.day_first)
            if found is None or (timed and not _time_after(line, found.words)):
                continue
            if found.value != result.invoice.due_date:
                result.set("issue_date", found.value, confidence, found.words)
                return


def _time_after(line: Line, date_words: Sequence[WordBox]) -> bool:
    """A time of day follows the date on its line: a till's transaction stamp ("20/08/17
    12:48"), which a card slip's or a warranty's printed date does not have."""
    if not date_words or date_words[0] not in line.words:
        return False
    after = line.words[line.words.index(date_words[0]):]
    return _TIME.search(" ".join(w.text for w in after)) is not None


def _order_settled(ctx: DocContext) -> bool:
    """The document's own evidence fixes the day/month order: unambiguous dates, or a locale
    that writes day first (euro or pound amounts, Spanish labels) when day-first was chosen."""
    text = "\n".join(line.text for line in ctx.lines)
    day, month = numeric_order_votes(text)
    if day != month:
        return True
    european = any(sign in text for sign in ("€", "EUR", "£", "GBP"))
    return ctx.day_first and european


def _check_date_order(result: FieldResult, ctx: DocContext) -> None:
    """A due date before the issue date under the chosen day/month order: if both dates are
    ambiguous and the other order puts them the right way round, the document uses the other
    order. A planted or real "due before issue" with an unambiguous date stays as printed."""
    inv = result.invoice
    if inv.issue_date is None or inv.due_date is None or inv.due_date >= inv.issue_date:
        return
    if _order_settled(ctx):
        return
    issue = read_date(result.evidence["issue_date"], not ctx.day_first)
    due = read_date(result.evidence["due_date"], not ctx.day_first)
    if issue is None or due is None or due.value < issue.value:
        return
    if issue.value == inv.issue_date or due.value == inv.due_date:
        return  # one date reads the same either way (19/04/2026): the order is settled
    inv.issue_date, inv.due_date = issue.value, due.value


def _unlabelled_terms(result: FieldResult, lines: Sequence[Line]) -> None:
    """Payment terms printed without a label ("Net 30", "Pago a 60 días fecha factura")."""
    if result.invoice.payment_terms is not None:
        return
    for line in lines:
        found = find_payment_terms([line.text])
        if found is not None:
            result.set("payment_terms", found, 0.6, list(line.words))
            return


def _best(cands: list[Candidate]) -> Candidate | None:
    if not cands:
        return None
    return max(cands, key=lambda c: (c.score, -c.hit.line.index))


def _document_type(
    result: FieldResult, cands: dict[str, list[Candidate]], ctx: DocContext, skip: set[int]
) -> None:
    """Invoice, credit note or corrected invoice (from the title), and the invoice a credit
    note or correction refers to: that number is never the document's own."""
    kind = read_invoice_type(ctx.lines, skip)
    if kind is not None:
        result.set("invoice_type", kind.value, kind.confidence, kind.words)
    ref = read_preceding_invoice(ctx, skip, typed=kind is not None)
    if ref is None:
        return
    result.set("preceding_invoice", ref.value, min(ref.score, 1.0) * 0.95, ref.words)
    own = [c for c in cands.get("invoice_number", []) if c.value != ref.value]
    cands["invoice_number"] = own


def _scalars(result: FieldResult, cands: dict[str, list[Candidate]]) -> None:
    for name in _SCALARS:
        best = _best(cands.get(name, []))
        if best is not None:
            result.set(name, best.value, min(best.score, 1.0) * 0.95, best.words)


def _amounts(
    result: FieldResult,
    cands: dict[str, list[Candidate]],
    items: list[InvoiceLine],
    lines: Sequence[Line],
    mark: str | None,
) -> Totals:
    """Subtotal, tax, total, any withholding, allowances and charges, chosen with the
    arithmetic; every amount printed (with its line) settles misread totals on receipts
    (cash - change, rounding adjustments)."""
    printed = PrintedAmounts(lambda start: [(line.index, a.value) for line in lines
                                            if line.index >= start
                                            for a in read_amounts(line.words, mark)],
                             lambda index, value: next(
                                 (a.words for line in lines if line.index == index
                                  for a in read_amounts(line.words, mark) if a.value == value),
                                 []))
    runs = digit_runs(" ".join(w.text for w in line.words) for line in lines)
    totals = choose_totals(cands, items, printed, runs)
    _set_totals(result, totals)
    return totals


def _set_totals(result: FieldResult, totals: Totals) -> None:
    for name in ("subtotal", "tax_total", "total"):
        cand = getattr(totals, name)
        if cand is not None:
            result.set(name, cand.value, amount_confidence(totals, cand), cand.words)
    for name in ("withholding", "allowances", "charges"):  # their scores are confidences
        found: Candidate | None = getattr(totals, name)
        if found is not None:
            result.set(name, found.value, found.score, found.words)


def _breakdown(result: FieldResult, cands: dict[str, list[Candidate]], totals: Totals,
               grid: Grid | None, doc: Printed) -> None:
    """The VAT breakdown printed, when the totals tie it (``extractors.breakdown``); when
    the total alone tied it, also the subtotal and tax it states, and the discounts and
    charges these tie (``adjustments``)."""
    rows = read_breakdown(grid, cands, totals, doc)
    if not rows:
        return
    result.set("tax_breakdown", as_subtotals(rows), TIED_CONFIDENCE, evidence(rows))
    stated = restated(rows, totals)
    if stated is not None:
        _set_totals(result, adjusted(stated, cands, doc.line_sum))


def _currency(
    result: FieldResult, cands: dict[str, list[Candidate]], lines: Sequence[Line]
) -> None:
    best = _best(cands.get("currency", []))
    if best is not None:
        result.set("currency", best.value, 0.95, best.words)
        return
    total_words = result.evidence.get("total", [])
    found = read_currency(total_words) or read_currency(_line_of(lines, total_words))
    if found is not None:
        result.set("currency", found.value, 0.9, found.words)
        return
    votes = _currency_votes(lines, beside_amounts=True) or _currency_votes(lines, False)
    if votes:
        code, words = max(votes.items(), key=lambda kv: len(kv[1]))
        result.set("currency", code, 0.6, words[:3])


def _currency_votes(lines: Sequence[Line], beside_amounts: bool) -> dict[str, list[WordBox]]:
    """Currency symbols/codes printed with amounts, or (fallback) anywhere as a word."""
    votes: dict[str, list[WordBox]] = {}
    for line in lines:
        if beside_amounts:
            groups = [a.words for a in read_amounts(line.words, None)]
        else:
            groups = [[w] for w in line.words if _CURRENCY_TOKEN.search(w.text)]
        for words in groups:
            found = read_currency(words)
            if found is not None:
                votes.setdefault(found.value, []).extend(found.words)
    return votes


def _line_of(lines: Sequence[Line], words: list[WordBox]) -> list[WordBox]:
    if not words:
        return []
    for line in lines:
        if words[0] in line.words:
            return line.words
    return []


def _iban(result: FieldResult, cands: dict[str, list[Candidate]], lines: Sequence[Line]) -> None:
    labelled = sorted(cands.get("iban", []), key=lambda c: -c.score)
    for cand in labelled:
        result.set("iban", cand.value, 0.97 if _valid_iban(cand.value) else 0.6, cand.words)
        return
    for line in lines:
        found = read_iban(line.words)
        if found is not None and _valid_iban(found.value):
            result.set("iban", found.value, 0.85, found.words)
            return
    for line in lines:  # an "IBAN" word inside a line: keep a bad checksum for validation
        after = _after_iban_word(line.words)
        found = read_iban(after) if after else None
        if found is not None:
            result.set("iban", found.value, 0.5, found.words)
            return


def _after_iban_word(words: Sequence[WordBox]) -> Sequence[WordBox]:
    for index, word in enumerate(words):
        if word.text.rstrip(":.").upper() == "IBAN":
            return words[index + 1:]
    return ()


def _valid_iban(value: str) -> bool:
    return normalize_iban(value) is not None


def _word_conf(words: Sequence[WordBox]) -> float:
    return min((w.conf for w in words), default=1.0)
