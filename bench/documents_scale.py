"""The Documents page at scale: one search with N documents stored.

Usage:  .venv/bin/python bench/documents_scale.py [--docs 100000] [--url postgresql://...]

Seeds N documents (most auto-approved with an invoice, some in review with a review item,
some failed without one) in a fresh SQLite file (or the given database, whose tables must be
empty), then times, best of 3, what one page view of /documents does
(`webapp.documents.load_documents`: count, one page of 50, the parts of split files) for a
few searches, among them an invoice number typed with other punctuation, which computes
every stored number's keys in the query (`models.search`).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import seeded_session
from models import db
from webapp.documents import DocumentFilter, load_documents

START = datetime(2026, 1, 1, tzinfo=UTC)
SEARCHES = (
    DocumentFilter(),
    DocumentFilter(number="f 2026 4711"),           # stored as "F-2026/04711"
    DocumentFilter(seller="seller 42"),
    DocumentFilter(seller="B10000042"),
    DocumentFilter(file="inv-9999"),
    DocumentFilter(status="failed", received_from="2026-02-01", received_to="2026-02-28"),
    DocumentFilter(page="1000"),
)


def _status(i: int) -> str:
    return "failed" if i % 50 == 0 else "needs_review" if i % 10 == 0 else "auto_approved"


def seed(session: Session, n: int) -> None:
    rng = random.Random(7)
    session.execute(insert(db.Document), [
        {"id": i + 1, "sha256": f"{i:064d}", "source_name": f"inv-{i}.pdf", "size_bytes": 1,
         "status": _status(i), "received_at": START + timedelta(minutes=3 * i),
         "reasons": [{"code": "PRICE_VARIANCE"}] if _status(i) == "needs_review" else []}
        for i in range(n)])
    session.execute(insert(db.Invoice), [
        {"id": i + 1, "document_id": i + 1, "invoice_number": f"F-2026/{i:05d}",
         "seller_name": f"Seller {i % 500}", "seller_tax_id": f"ES B{10_000_000 + i % 500}",
         "currency": "EUR", "total": Decimal(rng.randrange(100, 10**6)) / 100}
        for i in range(n) if _status(i) != "failed"])
    session.execute(insert(db.ReviewItem), [
        {"document_id": i + 1, "status": "open", "version": 1,
         "reasons": [{"code": "PRICE_VARIANCE"}], "reason_codes": " PRICE_VARIANCE "}
        for i in range(n) if _status(i) == "needs_review"])
    session.commit()


def best_of_3(session: Session, flt: DocumentFilter) -> tuple[float, int]:
    times, total = [], 0
    for _ in range(3):
        start = time.perf_counter()
        total = load_documents(session, flt).total
        times.append(time.perf_counter() - start)
        session.rollback()
    return min(times), total


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    with seeded_session(args.url, "documents", args.docs, "documents", seed) as session:
        for flt in SEARCHES:
            took, total = best_of_3(session, flt)
            print(f"  {flt.query(int(flt.page))}: {total:,} found, {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
