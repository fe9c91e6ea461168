"""The review queue at scale: one page view with N open items, in SQL against the old way.

Usage:  .venv/bin/python bench/queue_scale.py [--items 50000] [--url postgresql://...]

Seeds N review items (documents, invoices, one or two reason codes each) in a fresh SQLite
file (or the given database, whose tables must be empty), then times, best of 3, what the
queue page and the dashboard do per request:

  sql      — `webapp.queue.load_page` + `count_items` + `reason_counts` (filters, order,
             count and paging in the database), and `webapp.stats.dashboard`;
  baseline — what the page did before, measured in the same run: load every item of the
             status with its document and invoice, build every row, filter and sort them
             in Python, cut one page and count reasons over all rows.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_engine
from models import db
from models.approval_matrix import ApprovalMatrix
from webapp import queue
from webapp.queue import QueueFilter, count_items, load_page, reason_counts
from webapp.stats import dashboard

CODES = ("PRICE_VARIANCE", "ORDER_NOT_FOUND", "BANK_DETAILS_CHANGED", "ARITHMETIC_MISMATCH",
         "DUPLICATE_INVOICE", "TOTAL_VARIANCE")
FILTERS = (QueueFilter(), QueueFilter(reason="BANK_DETAILS_CHANGED", sort="amount", page="3"),
           QueueFilter(counterparty="seller 4", min_amount="100", sort="counterparty"))


def seed(session: Session, n: int) -> None:
    rng = random.Random(7)
    reasons = [rng.sample(CODES, rng.choice((1, 2))) for _ in range(n)]
    session.execute(insert(db.Document), [
        {"id": i + 1, "sha256": f"{i:064d}", "source_name": f"inv-{i}.pdf", "size_bytes": 1,
         "status": "needs_review"} for i in range(n)])
    session.execute(insert(db.Invoice), [
        {"id": i + 1, "document_id": i + 1, "seller_name": f"Seller {i % 500}",
         "currency": "EUR", "total": Decimal(rng.randrange(100, 10**6)) / 100}
        for i in range(n)])
    session.execute(insert(db.ReviewItem), [
        {"id": i + 1, "document_id": i + 1, "status": "open", "version": 1,
         "reasons": [{"code": c, "message": c} for c in codes],
         "reason_codes": db.reason_codes_text(codes)} for i, codes in enumerate(reasons)])
    session.commit()


def sql_page(session: Session, flt: QueueFilter, matrix: ApprovalMatrix) -> int:
    page = load_page(session, flt, matrix)
    count_items(session, flt.status)
    reason_counts(session, flt.status)
    return page.total


def baseline_page(session: Session, flt: QueueFilter, matrix: ApprovalMatrix) -> int:
    """Every item of the status loaded and built, then filtered, sorted and cut in Python."""
    query = (select(db.ReviewItem, db.Document.source_name, db.Invoice.seller_name,
                    db.Invoice.total, db.Invoice.currency)
             .join(db.Document, db.Document.id == db.ReviewItem.document_id)
             .outerjoin(db.Invoice, db.Invoice.document_id == db.Document.id))
    query = queue.with_status(query, flt.status)
    rows = [queue._row(item, (src, seller, total, cur), matrix)
            for item, src, seller, total, cur in session.execute(query)]
    low = queue._decimal(flt.min_amount)
    name = flt.counterparty.casefold()
    kept = [r for r in rows if (not flt.reason or flt.reason in r.reasons)
            and (not name or name in (r.counterparty or "").casefold())
            and (low is None or (r.amount is not None and r.amount >= low))]
    kept.sort(key=lambda r: (r.amount is None, r.amount or 0) if flt.sort == "amount"
              else ((r.counterparty or "").casefold(), r.item_id))
    Counter(code for r in rows for code in r.reasons)
    start = (int(flt.page) - 1) * queue.PAGE_SIZE
    _ = kept[start:start + queue.PAGE_SIZE]
    return len(kept)


def best_of_3(fn: Callable[[], int]) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(3):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    matrix = ApprovalMatrix()
    with scratch_engine(args.url, "queue") as engine, Session(engine) as session:
        start = time.perf_counter()
        seed(session, args.items)
        print(f"{engine.dialect.name}: {args.items:,} open review items seeded in "
              f"{time.perf_counter() - start:.1f} s")
        for flt in FILTERS:
            fast, n_fast = best_of_3(lambda f=flt: sql_page(session, f, matrix))
            slow, n_slow = best_of_3(lambda f=flt: baseline_page(session, f, matrix))
            assert n_fast == n_slow, (n_fast, n_slow)
            what = flt.query(int(flt.page)) or "no filter"
            print(f"  page view ({what}; {n_fast:,} match): sql {fast * 1000:.0f} ms, "
                  f"baseline {slow * 1000:.0f} ms ({slow / fast:.1f}x)")
        board, _ = best_of_3(lambda: dashboard(session, matrix).open_items)
        print(f"  dashboard (counts by reason, counterparty, age): {board * 1000:.0f} ms")


if __name__ == "__main__":
    main()
