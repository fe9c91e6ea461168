"""Everything validation and matching read, built once per batch from `MasterData`.

The context also carries the batch state: the duplicate ledger grows with every invoice,
`billed` holds the quantities billed by earlier auto-approved invoices of the same batch, and
`billed_by` what each accepted invoice billed (earlier batches and this one), for crediting it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from arflow.settings import Tolerances
from matching.duplicates import DuplicateLedger
from matching.linesearch import LineIndex
from matching.orders import OrderBook
from matching.parties import PartyIndex
from matching.tolerance import ToleranceBook
from matching.types import BILLED_LINE_COLUMNS, MasterData


@dataclass
class Context:
    parties: PartyIndex
    orders: OrderBook
    ledger: DuplicateLedger
    tolerances: ToleranceBook
    today: date
    billed: dict[int, Decimal] = field(default_factory=dict)  # order_line_id → quantity
    # document id → order_line_id → quantity that accepted invoice billed
    billed_by: dict[str, dict[int, Decimal]] = field(default_factory=dict)
    _lines: LineIndex | None = None

    def line_index(self) -> LineIndex:
        """The order lines keyed by counterparty and item, built on first use."""
        if self._lines is None:
            self._lines = LineIndex(self.orders)
        return self._lines

    def add_billed(self, doc: str, order_line_id: int, quantity: Decimal) -> None:
        self.billed[order_line_id] = self.billed.get(order_line_id, Decimal(0)) + quantity
        by_doc = self.billed_by.setdefault(doc, {})
        by_doc[order_line_id] = by_doc.get(order_line_id, Decimal(0)) + quantity


def build_context(
    master: MasterData, tol: Tolerances | ToleranceBook | None = None, today: date | None = None,
) -> Context:
    parties = PartyIndex(master.parties)
    return Context(
        parties=parties,
        orders=OrderBook(master.order_lines, parties),
        ledger=DuplicateLedger.from_seen(master.seen_invoices, parties),
        tolerances=ToleranceBook.of(tol),
        today=today or date.today(),
        billed_by=_billed_by(master.billed_lines),
    )


def _billed_by(frame: pd.DataFrame) -> dict[str, dict[int, Decimal]]:
    out: dict[str, dict[int, Decimal]] = {}
    columns = (frame[c].to_numpy(dtype=object) for c in BILLED_LINE_COLUMNS)
    for doc, line_id, quantity in zip(*columns, strict=True):
        if quantity is not None:
            out.setdefault(str(doc), {})[int(line_id)] = Decimal(quantity)
    return out
