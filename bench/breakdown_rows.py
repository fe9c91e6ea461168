"""Scoring the VAT breakdown read from generated documents (bench/extract_digital.py and
bench/extract_scanned.py, ``--breakdown``).

A document whose ground truth has a ``tax_breakdown`` (the generator printed it with its
bases, ``generator.breakdown``) counts as right when the rows read are exactly those rows
(rate, base and tax, in any order). A document without one may still print a tax row per
rate without its base (the generator's default for several rates); rows read there are
checked against its line items (``rate_rows_agree``). Anything else read is stray.
"""

from __future__ import annotations

from decimal import Decimal

from generator.model import tax_breakdown
from models.domain import Invoice, TaxSubtotal

Pair = tuple[Invoice, Invoice]  # (ground truth, read)


def _key(rows: list[TaxSubtotal]) -> list[tuple[Decimal | None, ...]]:
    return sorted((r.rate, r.base, r.amount) for r in rows)  # type: ignore[type-var]


def rate_rows_agree(truth: Invoice, got: list[TaxSubtotal]) -> bool:
    """Rows read from a document whose ground truth has no breakdown are its tax rows per
    rate without bases: one per rate of its lines, adding up to its tax total, and, when no
    discount or charge moved the bases, each the tax its lines at that rate give."""
    rates = {ln.tax_rate for ln in truth.lines}
    if None in rates or any(r.base is not None for r in got) or \
            {r.rate for r in got} != rates or len(got) != len(rates):
        return False
    if sum((r.amount or Decimal(0) for r in got), Decimal(0)) != truth.tax_total:
        return False
    if truth.allowances is not None or truth.charges is not None:
        return True
    expected = [TaxSubtotal(t.rate, None, t.tax) for t in tax_breakdown(truth.lines)]
    return _key(got) == _key(expected)


def breakdown_line(pairs: list[Pair]) -> str:
    """Printed breakdowns read right, and what was read on the other documents."""
    printed = [(t, g) for t, g in pairs if t.tax_breakdown]
    right = sum(_key(g.tax_breakdown) == _key(t.tax_breakdown) for t, g in printed)
    empty = sum(not g.tax_breakdown for _, g in printed)
    several = sum(len(t.tax_breakdown) > 1 for t, _ in printed)
    several_right = sum(len(t.tax_breakdown) > 1 and _key(g.tax_breakdown) == _key(t.tax_breakdown)
                        for t, g in printed)
    rows = sum(len(t.tax_breakdown) for t, _ in printed)
    others = [(t, g) for t, g in pairs if not t.tax_breakdown and g.tax_breakdown]
    rated = sum(rate_rows_agree(t, g.tax_breakdown) for t, g in others)
    return (f"    breakdown printed on {len(printed)}/{len(pairs)} ({rows} rows; "
            f"{several} with several rates): right {right}/{len(printed)} "
            f"(several rates {several_right}/{several}), none read {empty}, "
            f"wrong {len(printed) - right - empty}; read on a document without one: "
            f"{len(others)}, of which rate rows its lines agree with: {rated}")
