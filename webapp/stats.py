"""Figures for the dashboard and the HTML report: exceptions by reason and counterparty,
straight-through rate per batch, open items by age."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.approvals import ApprovalMatrix
from models.db import Batch
from webapp.charts import COLORS, bar_chart
from webapp.queue import QueueRow, counterparty_counts, load_rows, reason_counts

AGE_BUCKETS = ((1.0, "< 1 day"), (3.0, "1–3 days"), (7.0, "3–7 days"), (30.0, "7–30 days"),
               (float("inf"), "> 30 days"))
TOP = 12


@dataclass(frozen=True)
class Dashboard:
    open_items: int
    by_reason: list[tuple[str, int]]
    by_counterparty: list[tuple[str, int]]
    straight_through: list[tuple[str, float]]
    by_age: list[tuple[str, int]]

    def charts(self) -> list[Markup]:
        return [
            bar_chart("Open exceptions by reason", self.by_reason, color=COLORS[1]),
            bar_chart("Open exceptions by counterparty", self.by_counterparty[:TOP]),
            bar_chart("Straight-through rate per batch", self.straight_through, unit=" %",
                      color=COLORS[2]),
            bar_chart("Open items by age", self.by_age, color=COLORS[3]),
        ]


def age_buckets(rows: list[QueueRow]) -> list[tuple[str, int]]:
    counts = dict.fromkeys((label for _, label in AGE_BUCKETS), 0)
    for row in rows:
        label = next(label for limit, label in AGE_BUCKETS if row.age_days < limit)
        counts[label] += 1
    return list(counts.items())


def straight_through(session: Session, last: int = TOP) -> list[tuple[str, float]]:
    query = select(Batch).where(Batch.total > 0).order_by(Batch.id.desc()).limit(last)
    batches = list(session.scalars(query))[::-1]
    return [(f"batch {b.id} ({b.started_at:%Y-%m-%d})",
             round(100.0 * b.auto_approved / b.total, 1)) for b in batches]


def dashboard(session: Session, matrix: ApprovalMatrix) -> Dashboard:
    rows = load_rows(session, "open", matrix)
    return Dashboard(open_items=len(rows), by_reason=reason_counts(rows),
                     by_counterparty=counterparty_counts(rows),
                     straight_through=straight_through(session), by_age=age_buckets(rows))
