"""Choosing subtotal, tax and total among competing candidates with arithmetic.

Every combination of the strongest candidates (or none) is scored by label strength plus a
bonus when subtotal + tax = total, when the line items add up to the subtotal (or the
total) and, on receipts, when the total is the cash handed over minus the change. The
winner's fields get a confidence raised by the checks they pass. A withholding (IRPF
retención, ritenuta d'acconto) printed above the amount paid is added back to it to give the
total with tax and before the withholding (`withheld`); discount and charge rows tied to the
lines and the tax base are the document's allowances and charges (``adjustments``).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cached_property

from extractors.adjustments import adjusted
from extractors.candidates import Candidate
from extractors.line_repair import digit_edits
from models.domain import InvoiceLine, WordBox

_CENT = Decimal("0.01")
_TOP = 5
_PAID_BONUS = 0.5  # a total that equals cash minus change (receipts)
_NO_CENTS_FACTOR = 0.5  # score kept by an OCR amount printed without cents
_DERIVED_SCORE = 0.6  # label-strength stand-in of a total derived from cash - change
_ROUNDING = Decimal("0.05")  # cash rounding step (Malaysia, Switzerland, Australia ...)
_CENTS = re.compile(r"\d[.,:]\d{2}(?!\d)")  # ":" read for the point: "26:58"


@dataclass(frozen=True)
class Totals:
    subtotal: Candidate | None
    tax_total: Candidate | None
    total: Candidate | None
    consistent: bool  # subtotal + tax = total
    lines_match: bool  # sum of line amounts = subtotal (or total)
    withholding: Candidate | None = None  # income tax kept back, positive (``withheld``)
    allowances: Candidate | None = None  # document-level, positive (``adjustments``)
    charges: Candidate | None = None


class PrintedAmounts:
    """Every amount printed on the document with the index of its line, read only when a
    rule asks (most documents never need them all): ``at`` in reading order, ``after(i)``
    those on lines below line ``i``, ``counts`` how often each amount is printed. ``read(i)``
    reads the amounts of the lines from index ``i`` on; ``words(i, value)`` the words of
    ``value`` on line ``i`` (its evidence when a rule takes it)."""

    def __init__(self, read: Callable[[int], Sequence[tuple[int, Decimal]]],
                 words: Callable[[int, Decimal], list[WordBox]] = lambda index, value: []
                 ) -> None:
        self._read = read
        self.words = words

    @cached_property
    def at(self) -> Sequence[tuple[int, Decimal]]:
        return self._read(0)

    def after(self, index: int) -> Sequence[tuple[int, Decimal]]:
        if "at" in self.__dict__:
            return [(i, value) for i, value in self.at if i > index]
        return self._read(index + 1)

    @cached_property
    def counts(self) -> Mapping[Decimal, int]:
        return Counter(value for _, value in self.at)


NOTHING_PRINTED = PrintedAmounts(lambda start: ())


def choose_totals(
    cands: dict[str, list[Candidate]],
    lines: Sequence[InvoiceLine],
    printed: PrintedAmounts = NOTHING_PRINTED,
    digit_runs: Collection[str] = (),
) -> Totals:
    """The best subtotal/tax/total combination; ``printed`` is every amount on the document
    (a total printed twice is not "corrected" by cash - change; cash - change printed again
    is the total; a rounding adjustment printed below the total); ``digit_runs`` are the
    digits of every number printed (see `reconcile`)."""
    cands = {name: [_weigh_cents(c) for c in found] for name, found in cands.items()}
    cands = _tax_included(_whole_totals_dropped(cands, printed), printed)
    paid = _tendered(cands)
    held = [replace(c, value=abs(c.value)) for c in cands.get("withholding", []) if c.value]
    if held:
        cands["total"] = _demote_due(cands.get("total", []), held)
    options = [_options(cands.get(name, []), name) for name in ("subtotal", "tax_total", "total")]
    grosses = _before_withholding(cands.get("total", []), held)
    options[2][-1:-1] = [*_paid_total(cands, paid), *(g.total for g in grosses)]
    line_sum = _line_sum(lines)
    best: tuple[float, Totals] | None = None
    for sub, tax, tot in itertools.product(*options):
        totals = _judge(sub, tax, tot, line_sum)
        score = _score(totals)
        if paid is not None and tot is not None and tot.value == paid:
            score += _PAID_BONUS
        if best is None or score > best[0]:
            best = (score, totals)
    assert best is not None
    chosen = _misread_total(best[1], paid, printed)
    chosen = _cash_rounded(chosen, cands.get("total", []))
    chosen = _rounding_adjusted(chosen, printed)
    chosen = _printed_tender(chosen, paid, _handed(cands), printed)
    chosen = reconcile(chosen, line_sum, digit_runs) if digit_runs else chosen
    chosen = _rounded_sum(chosen, printed)
    chosen = adjusted(chosen, cands, line_sum)
    return withheld(chosen, held, grosses, cands.get("total", [])) if held else chosen


_BEFORE_FACTOR = 0.95  # score kept by a total read as the amount due plus the withholding
_DUE_FACTOR = 0.5  # score kept by a total that is another total less a withholding
_TIED_CONF = 0.95  # confidence of a withholding the total's arithmetic ties to the amounts
_LABELLED_CONF = 0.85  # factor of a labelled withholding the arithmetic neither ties nor denies


@dataclass(frozen=True)
class Gross:
    """A total candidate made of a printed total (the amount paid) plus a withholding."""

    total: Candidate
    printed: Candidate
    held: Candidate


def _before_withholding(totals: Sequence[Candidate], held: Sequence[Candidate]) -> list[Gross]:
    """Each printed total plus each withholding: the invoice total when the amount printed
    as the total is what is paid ("Total a pagar 1.060,00" below "Retención IRPF 15%
    -150,00"). Such a total stands only when the subtotal and tax add up to it (`withheld`)."""
    return [Gross(Candidate("total", tot.value + wh.value, tot.score * _BEFORE_FACTOR,
                            [*tot.words, *wh.words], tot.hit), tot, wh)
            for tot in totals for wh in held]


def _demote_due(totals: Sequence[Candidate], held: Sequence[Candidate]) -> list[Candidate]:
    """A printed total that another printed total less a withholding gives is the amount
    paid ("Importe total 23.093,56", "Ret. IRPF -3.330,80", "Líquido a percibir
    19.762,76"), not the invoice total: it keeps ``_DUE_FACTOR`` of its score, so that the
    other is chosen even when no subtotal was read to tell them apart."""
    values = {c.value for c in totals}
    return [replace(c, score=c.score * _DUE_FACTOR)
            if any(c.value + wh.value in values for wh in held) else c for c in totals]


def withheld(totals: Totals, held: Sequence[Candidate], grosses: Sequence[Gross],
             printed_totals: Sequence[Candidate]) -> Totals:
    """`totals` with the withholding (EN 16931: the total is with tax and before it):

    - the total chosen is a printed total plus a withholding (`Gross`) and the subtotal
      and tax add up to it: that is the total, with the subtotal's and tax's words as
      evidence, and that withholding is set (if they do not add up, the printed total
      stands: a sum nothing confirms is not taken);
    - another printed total is the total chosen less a withholding (the amount paid):
      that withholding is set (or, when the withholding was misread, the difference if
      its digits are printed as one number after the label: `_reread_withholding`);
    - else, on consistent amounts and no other total printed (the amount paid is not
      printed), the best-labelled withholding under the total is set with a lower
      confidence (unless digits stand right before its amount: a split "-1 184,95");
      on amounts that do not add up, or beside a printed total the withholding does not
      explain, none (nothing is guessed)."""
    tot = totals.total
    if tot is None:
        return totals
    gross = next((g for g in grosses if g.total is tot), None)
    if gross is not None:
        return _gross_total(totals, gross)
    ranked = sorted(held, key=lambda c: -c.score)
    found = _tied(tot, ranked, printed_totals)
    if found is None and totals.consistent and all(c.value == tot.value for c in printed_totals):
        found = next((replace(wh, score=min(wh.score, 1.0) * _LABELLED_CONF)
                      for wh in ranked if wh.value < tot.value and not _digits_before(wh)),
                     None)
    return totals if found is None else replace(totals, withholding=found)


def _tied(tot: Candidate, ranked: Sequence[Candidate],
          printed_totals: Sequence[Candidate]) -> Candidate | None:
    """The withholding another printed total (the amount paid) is `tot` less: one read so,
    else one whose digits after its label are that difference (`_reread_withholding`)."""
    for wh in ranked:
        if any(c.value == tot.value - wh.value for c in printed_totals):
            return replace(wh, score=_TIED_CONF)
    for wh in ranked:
        for due in (c for c in printed_totals if 0 < c.value < tot.value):
            mended = _reread_withholding(wh, tot.value - due.value)
            if mended is not None:
                return mended
    return None


_LEADING_DIGITS = re.compile(r"^[-−]?\d{1,3}$")


def _reread_withholding(wh: Candidate, asked: Decimal) -> Candidate | None:
    """The withholding the two printed totals ask for (total - amount paid), when its digits
    are printed as one number after its label: OCR put a wide gap into "-1 184,95", read as
    "-1" and "184,95". Its evidence is the amount read and the digits before it."""
    after = wh.hit.line.words[wh.hit.end:]
    if _digits(asked) not in digit_runs([" ".join(w.text for w in after)]):
        return None
    words = [*_digits_before(wh), *wh.words]
    return replace(wh, value=asked, score=_TIED_CONF * _FIX_FACTOR, words=words)


def _digits_before(wh: Candidate) -> list[WordBox]:
    """The word before the amount read, after the label, when it is one to three digits
    ("-1" of "-1 184,95"): the amount read may be only the tail of the amount printed."""
    line = wh.hit.line
    first = next((i for i, w in enumerate(line.words) if w is wh.words[0]), None)
    if first is None or first <= wh.hit.end:
        return []
    before = line.words[first - 1]
    return [before] if _LEADING_DIGITS.match(before.text) else []


def _gross_total(totals: Totals, gross: Gross) -> Totals:
    """The total chosen is `gross`: confirmed by the subtotal and tax (their words are its
    evidence, the lower of their scores its score) with its withholding, else undone."""
    sub, tax = totals.subtotal, totals.tax_total
    if not totals.consistent or sub is None or tax is None:
        return replace(totals, total=gross.printed)
    total = Candidate("total", gross.total.value, min(sub.score, tax.score),
                      [*sub.words, *tax.words], gross.total.hit)
    return replace(totals, total=total, withholding=replace(gross.held, score=_TIED_CONF))


def _paid_total(cands: dict[str, list[Candidate]], paid: Decimal | None) -> list[Candidate]:
    """Cash minus change as a total candidate when a subtotal (and a tax) add up to it: two
    independent readings agree on an amount whose own total line OCR lost ("Tuial © les
    (Inclusive of GST) : 22.26") or whose label also names a subtotal ("NET TOTAL")."""
    if paid is None or any(c.value == paid for c in cands.get("total", [])):
        return []
    taxes = [Decimal(0), *(c.value for c in cands.get("tax_total", []) if c.value > 0)]
    for sub, tax in itertools.product(cands.get("subtotal", []), taxes):
        if abs(sub.value + tax - paid) <= _CENT:
            cash = _handed(cands)
            assert cash is not None  # a tendered amount was read from it
            return [Candidate("total", paid, _DERIVED_SCORE, cash.words, cash.hit)]
    return []


def _printed_tender(totals: Totals, paid: Decimal | None, handed: Candidate | None,
                    printed: PrintedAmounts) -> Totals:
    """Cash minus change (or the card charge) printed once more elsewhere on the receipt
    ("Net Amt: 28.80" ... "Received 30.00  Change 1.20") is the total, when the total read
    is missing, garbled ("WTO, RM 21.60") or taken from another line: two independent
    readings agree. A total the subtotal and tax add up to stands, and so does one the
    line items add up to unless the tender only rounds it to 5 cents."""
    tot = totals.total
    if paid is None or handed is None or totals.consistent:
        return totals
    if tot is not None and (tot.value == paid or (
            totals.lines_match and abs(tot.value - paid) >= _ROUNDING)):
        return totals
    elsewhere = printed.counts.get(paid, 0) - (1 if paid == handed.value else 0)
    if elsewhere < 1:
        return totals
    fixed = Candidate("total", paid, _DERIVED_SCORE, handed.words, handed.hit)
    return Totals(totals.subtotal, totals.tax_total, fixed, False, totals.lines_match)


def _handed(cands: dict[str, list[Candidate]]) -> Candidate | None:
    """The strongest reading of what the customer handed over: cash, else a card payment."""
    found = cands.get("cash") or cands.get("card")
    return max(found, key=lambda c: c.score) if found else None


def _weigh_cents(cand: Candidate) -> Candidate:
    """An OCR amount without its cents ("Total: 1340" for 13.40, "Total Item(s): 12") is
    more likely a misreading or a count than money: it loses half its score."""
    if any(w.conf >= 1.0 for w in cand.words) or any(_CENTS.search(w.text) for w in cand.words):
        return cand
    return replace(cand, score=cand.score * _NO_CENTS_FACTOR)


def _whole_ocr(cand: Candidate) -> bool:
    """An OCR amount read as a whole number with no cents printed ("TOTAL 420" for 46.20,
    "Total Incl. GST:RM 87 55" read as 55, an item count "1")."""
    return (cand.value == cand.value.to_integral_value()
            and all(w.conf < 1.0 for w in cand.words)
            and not any(_CENTS.search(w.text) for w in cand.words))


def _whole_totals_dropped(cands: dict[str, list[Candidate]],
                          printed: PrintedAmounts) -> dict[str, list[Candidate]]:
    """On a document that prints its amounts with cents, an OCR total read as a whole
    number without them is a misreading or a count, never the total: it is dropped (the
    other readings, the arithmetic or the tender may still give the total)."""
    whole = [c for c in cands.get("total", []) if _whole_ocr(c)]
    if not whole or all(v == v.to_integral_value() for _, v in printed.at):
        return cands
    return {**cands, "total": [c for c in cands["total"] if c not in whole]}


_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s?%")
_TAX_WORD = re.compile(r"\b(?:gst|vat|tax|iva|sst|tva|mwst|btw|igic)\b", re.IGNORECASE)
_INCLUDED_SLACK = Decimal("0.01")  # a cent of rounding beyond the half-cent of printing


def _tax_included(cands: dict[str, list[Candidate]],
                  printed: PrintedAmounts) -> dict[str, list[Candidate]]:
    """A total label on a line naming a tax and its rate whose amount is that rate's share
    of a larger amount printed on the document ("(Total Included GST @ 6% : 0.56)" under
    "Due 9.90": 9.90 × 6/106 = 0.56) states the tax included in that amount: the amount is
    a tax, and the larger amount the total: one printed twice or more, as a receipt prints
    its total (item, total, amount due), so that a lone amount matching by chance is not."""
    out = dict(cands)
    for cand in cands.get("total", []):
        line = " ".join(w.text for w in cand.hit.line.words)
        rate = _RATE.search(line)
        if rate is None or not _TAX_WORD.search(line) or cand.value <= 0:
            continue
        share = Decimal(rate.group(1).replace(",", ".")) / 100
        if not 0 < share < 1:
            continue
        grosses = [(printed.counts[v], i, v) for i, v in printed.at
                   if v > cand.value and printed.counts[v] >= 2
                   and abs(v * share / (1 + share) - cand.value) <= _CENT / 2 + _INCLUDED_SLACK]
        if not grosses:
            continue
        _, index, gross = max(grosses)
        out["total"] = [c for c in out["total"] if c is not cand] + [
            Candidate("total", gross, cand.score, printed.words(index, gross), cand.hit)]
        out["tax_total"] = [*out.get("tax_total", []), replace(cand, field="tax_total")]
    return out


def _rounded_sum(totals: Totals, printed: PrintedAmounts) -> Totals:
    """No total read, but the subtotal plus the tax, rounded to 5 cents as a cash till
    rounds it, is printed below them ("SUB TOTAL 14.00", "GST 6% 0.84", "14.85" printed
    big over its label "NET TOTAL"): that printed amount is the total."""
    sub, tax = totals.subtotal, totals.tax_total
    if totals.total is not None or sub is None or tax is None or tax.value <= 0:
        return totals
    exact = sub.value + tax.value
    cash = (exact / _ROUNDING).quantize(Decimal(1)) * _ROUNDING
    below = max(sub.hit.line.index, tax.hit.line.index)
    for index, value in printed.after(below):
        if value in (exact, cash):
            total = Candidate("total", value, min(sub.score, tax.score) * _FIX_FACTOR,
                              printed.words(index, value), sub.hit)
            return replace(totals, total=total)
    return totals


def _cash_rounded(totals: Totals, found: Sequence[Candidate]) -> Totals:
    """A total printed again further down, rounded to 5 cents and less than 5 cents away
    ("Total 10.89" ... "Final Total 10.90", "Rounded Total"), is what was paid in cash."""
    tot = totals.total
    if tot is None or _rounded(tot.value):
        return totals
    for cand in found:
        later = cand.hit.line.index > tot.hit.line.index
        if later and _rounded(cand.value) and 0 < abs(cand.value - tot.value) < _ROUNDING:
            return Totals(totals.subtotal, totals.tax_total, cand, False, totals.lines_match)
    return totals


def _rounding_adjusted(totals: Totals, printed: PrintedAmounts) -> Totals:
    """A total followed by its rounding adjustment and the rounded amount ("Total 23.79",
    "Rounding Adj: 0.01", "23.80"), whatever their labels were read as: the amount below the
    total, rounded to 5 cents and less than 5 cents away, whose difference from the total is
    itself printed below it, is what was paid."""
    tot = totals.total
    if tot is None or _rounded(tot.value):
        return totals
    below = [value for _, value in printed.after(tot.hit.line.index)]
    for value in below:
        step = value - tot.value
        if _rounded(value) and 0 < abs(step) < _ROUNDING and (step in below or -step in below):
            fixed = Candidate("total", value, tot.score, tot.words, tot.hit)
            return Totals(totals.subtotal, totals.tax_total, fixed, False, totals.lines_match)
    return totals


def _rounded(value: Decimal) -> bool:
    return value != 0 and value % _ROUNDING == 0


_FIELDS = ("subtotal", "tax_total", "total")
_FIX_FACTOR = 0.8  # score kept by an amount taken from the arithmetic and the printed digits
_NUMBER_RUN = re.compile(r"\d(?:[\d.,]|\s(?=\d))*")


def digit_runs(texts: Iterable[str]) -> set[str]:
    """The digits of every number printed in `texts`, separators and inner spaces dropped
    ("34 147,41€" → "3414741", "9.49330€" → "949330")."""
    return {re.sub(r"\D", "", m.group(0)) for text in texts for m in _NUMBER_RUN.finditer(text)}


def reconcile(totals: Totals, line_sum: Decimal | None, runs: Collection[str]) -> Totals:
    """When subtotal + tax ≠ total, one amount may be an OCR misreading: a lost decimal comma
    ("9.49330" for 9.493,30), a space as thousands separator read as two numbers ("34
    147,41"), an amount glued to its currency that no label claimed. The amount the
    arithmetic asks for (the line items' sum for the subtotal, else the other two) is taken
    only when exactly one field can be mended so and its digits are printed as one number:
    nothing is invented, a misreading is reread."""
    if totals.consistent:
        return totals
    if _separator_slip(totals.subtotal, line_sum, runs):
        assert line_sum is not None
        totals = _with(totals, "subtotal", line_sum)
    fixes = [(name, value) for name in _FIELDS
             if (value := _asked(totals, name)) is not None and value > 0
             and value != _value(totals, name) and len(_digits(value)) >= 3
             and _digits(value) in runs]
    if len(fixes) != 1:
        return totals
    return _with(totals, *fixes[0])


def _separator_slip(sub: Candidate | None, line_sum: Decimal | None,
                    runs: Collection[str]) -> bool:
    """The subtotal has the line items' digits with a separator misread ("2.34991")."""
    if sub is None or line_sum is None or line_sum == sub.value:
        return False
    return _digits(line_sum) == _digits(sub.value) and _digits(line_sum) in runs


def _asked(totals: Totals, name: str) -> Decimal | None:
    """What `name` must be for subtotal + tax = total, from the other two."""
    sub, tax, tot = (_value(totals, n) for n in _FIELDS)
    if name == "subtotal":
        return None if tax is None or tot is None else tot - tax
    if name == "tax_total":
        return None if sub is None or tot is None else tot - sub
    return None if sub is None or tax is None else sub + tax


def _value(totals: Totals, name: str) -> Decimal | None:
    cand: Candidate | None = getattr(totals, name)
    return None if cand is None else cand.value


def _digits(value: Decimal) -> str:
    return format(value.quantize(_CENT), "f").replace(".", "").lstrip("-").lstrip("0") or "0"


def _with(totals: Totals, name: str, value: Decimal) -> Totals:
    """`totals` with `name` set to `value` (keeping the old candidate's words as evidence)."""
    old: Candidate | None = getattr(totals, name)
    donor = old or totals.total or totals.subtotal or totals.tax_total
    assert donor is not None  # two of the three exist whenever a value is asked for
    words = old.words if old else []
    score = (old.score if old else donor.score) * _FIX_FACTOR
    parts = {n: getattr(totals, n) for n in _FIELDS}
    parts[name] = Candidate(name, value, score, words, donor.hit)
    sub, tax, tot = (parts[n] for n in _FIELDS)
    consistent = _judge(sub, tax, tot, None).consistent
    return Totals(sub, tax, tot, consistent, totals.lines_match)


def _misread_total(totals: Totals, paid: Decimal | None, printed: PrintedAmounts) -> Totals:
    """A total one digit off cash minus change ("185.00" read for 165.00) is a misreading:
    the arithmetic of the receipt chooses the other reading - unless the total is printed
    twice or more (item line, total line): then the cash or change was misread."""
    tot = totals.total
    if paid is None or tot is None or tot.value == paid or totals.consistent:
        return totals
    if printed.counts.get(tot.value, 0) >= 2:
        return totals
    if digit_edits(tot.value, paid) != 1:
        return totals
    fixed = Candidate(tot.field, paid, tot.score * 0.9, tot.words, tot.hit)
    return Totals(totals.subtotal, totals.tax_total, fixed, False, totals.lines_match)


def _options(cands: list[Candidate], name: str) -> list[Candidate | None]:
    ranked = sorted(cands, key=lambda c: (c.score, c.hit.line.index if name == "total" else 0))
    unique: list[Candidate] = []
    for cand in reversed(ranked):
        if all(cand.value != u.value for u in unique):
            unique.append(cand)
    chosen: list[Candidate | None] = list(unique[:_TOP])
    if name == "tax_total":
        chosen.extend(_tax_sums(cands))
    return [*chosen, None]


def _tax_sums(cands: list[Candidate]) -> list[Candidate]:
    """Several VAT rates printed on separate lines: their sum is a tax-total candidate."""
    per_line: dict[tuple[int, int], Candidate] = {}
    for cand in cands:
        per_line.setdefault((cand.hit.line.index, cand.hit.start), cand)
    if len(per_line) < 2:
        return []
    parts = list(per_line.values())
    total = sum((c.value for c in parts), Decimal(0))
    words = [w for c in parts for w in c.words]
    score = min(c.score for c in parts) * 0.9
    return [Candidate("tax_total", total, score, words, parts[0].hit)]


def _tendered(cands: dict[str, list[Candidate]]) -> Decimal | None:
    """On a receipt, cash handed over minus change given back, or the amount charged to a
    card when no cash was handed over: what the total must be."""
    handed, change = _handed(cands), cands.get("change")
    if handed is None:
        return None
    if cands.get("cash"):
        if not change:
            return None
        paid: Decimal = handed.value - max(change, key=lambda c: c.score).value
    else:
        paid = handed.value  # a card charge: no change is given
    return paid if paid > 0 else None


def _line_sum(lines: Sequence[InvoiceLine]) -> Decimal | None:
    amounts = [ln.amount for ln in lines]
    if not amounts or any(a is None for a in amounts):
        return None
    return sum((a for a in amounts if a is not None), Decimal(0))


def _judge(
    sub: Candidate | None, tax: Candidate | None, tot: Candidate | None, line_sum: Decimal | None
) -> Totals:
    consistent = (
        sub is not None and tax is not None and tot is not None
        and abs(sub.value + tax.value - tot.value) <= _CENT
    )
    target = sub if sub is not None else tot
    lines_match = (
        target is not None and line_sum is not None and abs(line_sum - target.value) <= _CENT
    )
    return Totals(sub, tax, tot, consistent, lines_match)


def _score(t: Totals) -> float:
    score = sum(c.score for c in (t.subtotal, t.tax_total, t.total) if c is not None)
    score += 2.0 if t.consistent else 0.0
    if t.lines_match:
        score += 0.8 if t.subtotal is not None else 0.15
    if t.total is None:
        score -= 0.5
    elif t.total.value == 0:
        score -= 1.0 if t.subtotal is not None else 0.5
    if t.subtotal and t.total and t.subtotal.value > t.total.value > 0:
        score -= 0.7
    if t.tax_total and t.total and t.tax_total.value >= t.total.value > 0:
        score -= 1.5
    return score


def amount_confidence(t: Totals, cand: Candidate | None) -> float:
    if cand is None:
        return 0.0
    base = min(cand.score, 1.0) * 0.85
    if t.consistent:
        base = max(base, 0.97)
    elif t.lines_match and cand in (t.subtotal, t.total):
        base = max(base, 0.9)
    return base
