"""Choosing subtotal, tax and total among competing candidates with arithmetic.

Every combination of the strongest candidates (or none) is scored by label strength plus a
bonus when subtotal + tax = total, when the line items add up to the subtotal (or the
total) and, on receipts, when the total is the cash handed over minus the change. The
winner's fields get a confidence raised by the checks they pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from extractors.candidates import Candidate
from extractors.line_repair import digit_edits
from models.domain import InvoiceLine

_CENT = Decimal("0.01")
_TOP = 5
_PAID_BONUS = 0.5  # a total that equals cash minus change (receipts)


@dataclass(frozen=True)
class Totals:
    subtotal: Candidate | None
    tax_total: Candidate | None
    total: Candidate | None
    consistent: bool  # subtotal + tax = total
    lines_match: bool  # sum of line amounts = subtotal (or total)


def choose_totals(cands: dict[str, list[Candidate]], lines: Sequence[InvoiceLine]) -> Totals:
    options = [_options(cands.get(name, []), name) for name in ("subtotal", "tax_total", "total")]
    line_sum = _line_sum(lines)
    paid = _tendered(cands)
    best: tuple[float, Totals] | None = None
    for sub, tax, tot in itertools.product(*options):
        totals = _judge(sub, tax, tot, line_sum)
        score = _score(totals)
        if paid is not None and tot is not None and tot.value == paid:
            score += _PAID_BONUS
        if best is None or score > best[0]:
            best = (score, totals)
    assert best is not None
    return _misread_total(best[1], paid)


def _misread_total(totals: Totals, paid: Decimal | None) -> Totals:
    """A total one digit off cash minus change ("185.00" read for 165.00) is a misreading:
    the arithmetic of the receipt chooses the other reading."""
    tot = totals.total
    if paid is None or tot is None or tot.value == paid or totals.consistent:
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
    """On a receipt, cash handed over minus change given back: what the total must be."""
    cash, change = cands.get("cash"), cands.get("change")
    if not cash or not change:
        return None
    best = [max(found, key=lambda c: c.score).value for found in (cash, change)]
    paid: Decimal = best[0] - best[1]
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
