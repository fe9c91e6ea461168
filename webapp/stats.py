"""Figures for the dashboard and the HTML report: exceptions by reason and counterparty,
straight-through rate per batch, open items by age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from markupsafe import Markup
from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from models.approvals import ApprovalMatrix
from models.db import Batch, ReviewItem
from models.types import utcnow
from webapp.charts import COLORS, bar_chart
from webapp.queue import count_items, counterparty_counts, reason_counts, with_status

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


def straight_through(session: Session, last: int = TOP) -> list[tuple[str, float]]:
    query = select(Batch).where(Batch.total > 0).order_by(Batch.id.desc()).limit(last)
    batches = list(session.scalars(query))[::-1]
    return [(f"batch {b.id} ({b.started_at:%Y-%m-%d})",
             round(100.0 * b.auto_approved / b.total, 1)) for b in batches]


def age_counts(session: Session, status: str = "open") -> list[tuple[str, int]]:
    """Items of a status per age bucket (``AGE_BUCKETS``), counted in one scan."""
    now = utcnow()
    sums = []
    younger = None
    for limit, _ in AGE_BUCKETS:
        cutoff = None if limit == float("inf") else now - timedelta(days=limit)
        test = true() if cutoff is None else ReviewItem.created_at > cutoff
        older = test if younger is None else and_(test, ~younger)
        sums.append(func.sum(case((older, 1), else_=0)))
        younger = test
    found = session.execute(with_status(select(*sums), status)).one()
    return [(label, int(n or 0)) for (_, label), n in zip(AGE_BUCKETS, found, strict=True)]


def dashboard(session: Session, matrix: ApprovalMatrix) -> Dashboard:
    """The dashboard's figures, each one aggregate query (no item is loaded)."""
    del matrix  # the figures do not depend on who may approve
    return Dashboard(open_items=count_items(session, "open"),
                     by_reason=reason_counts(session, "open"),
                     by_counterparty=counterparty_counts(session, "open"),
                     straight_through=straight_through(session), by_age=age_counts(session))
