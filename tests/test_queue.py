"""The review queue in SQL (webapp.queue.load_page, the dashboard's aggregates) on SQLite and
PostgreSQL, the reason-code column kept by the repository, and its migration backfill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session
from test_approvals import make_item, sample_invoice

from arflow.db import alembic_config, make_engine, upgrade
from models import db
from models.approvals import ApprovalMatrix
from models.types import utcnow
from webapp import queue
from webapp.queue import QueueFilter, count_items, counterparty_counts, load_page, reason_counts
from webapp.stats import age_counts

NOW = utcnow()
# (seller, total, reasons, age in days, status)
ITEMS = [
    ("Acme Iberia SL", "120.00", ["PRICE_VARIANCE"], 0.5, "open"),
    ("acme 100% Tools", "9.50", ["PRICE_VARIANCE", "ORDER_NOT_FOUND"], 2, "open"),
    ("Globex GmbH", None, ["MISSING_FIELD"], 5, "on_hold"),
    ("Initech", "15000.00", ["BANK_DETAILS_CHANGED"], 10, "open"),
    (None, "75.25", ["UNKNOWN_PARTY", "ORDER_NOT_FOUND"], 40, "open"),
    ("Acme Iberia SL", "300.00", ["DUPLICATE_INVOICE"], 1, "approved"),
]


def seed(session: Session) -> list[int]:
    ids = []
    for i, (seller, total, codes, age, status) in enumerate(ITEMS):
        doc = db.Document(sha256=f"{i:064d}", source_name=f"doc-{i}.pdf", size_bytes=1,
                          status="needs_review")
        session.add(doc)
        session.flush()
        session.add(db.Invoice(document_id=doc.id, seller_name=seller, currency="EUR",
                               total=None if total is None else Decimal(total)))
        item = db.ReviewItem(document_id=doc.id, status=status,
                             reasons=[{"code": c, "message": c} for c in codes],
                             reason_codes=db.reason_codes_text(codes),
                             created_at=NOW - timedelta(days=age))
        session.add(item)
        session.flush()
        ids.append(item.id)
    session.commit()
    return ids


def shown(session: Session, **filters: object) -> list[int]:
    """Positions in ITEMS of the rows `load_page` shows, in order."""
    page = load_page(session, QueueFilter(**filters), ApprovalMatrix())  # type: ignore[arg-type]
    sources = [row.source for row in page.rows]
    return [int(s.removeprefix("doc-").removesuffix(".pdf")) for s in sources]


def test_filters_and_sorts_run_in_the_database(db_session: Session) -> None:
    seed(db_session)
    assert shown(db_session) == [4, 3, 2, 1, 0]  # open + on hold, oldest first
    assert shown(db_session, status="approved") == [5]
    assert shown(db_session, status="all", sort="counterparty") == [4, 1, 0, 5, 2, 3]
    assert shown(db_session, reason="ORDER_NOT_FOUND") == [4, 1]
    assert shown(db_session, reason="ORDER") == []  # a whole code, not a part of one
    assert shown(db_session, counterparty="ACME") == [1, 0]  # case-folded substring
    assert shown(db_session, counterparty="100%") == [1]  # % is a character, not a wildcard
    assert shown(db_session, min_amount="75,25", max_amount="200") == [4, 0]
    assert shown(db_session, older_than="3") == [4, 3, 2]
    assert shown(db_session, sort="amount") == [1, 4, 0, 3, 2]  # no amount last
    assert shown(db_session, sort="amount", desc=True) == [2, 3, 0, 4, 1]
    assert shown(db_session, sort="reason") == [3, 2, 1, 4, 0]  # by the sorted codes


def test_out_of_range_filters_neither_fail_nor_mislead(db_session: Session) -> None:
    seed(db_session)
    assert shown(db_session, min_amount="1e400") == []  # beyond what a column can hold
    assert shown(db_session, max_amount="1e400") == [4, 3, 1, 0]  # every stored amount
    assert shown(db_session, min_amount="-1e400", max_amount="10") == [1]
    assert shown(db_session, older_than="1e12") == []
    assert shown(db_session, older_than="-5") == [4, 3, 2, 1, 0]
    for junk in ("nan", "Infinity", "abc", "sNaN"):  # no filter, as for an empty box
        assert shown(db_session, min_amount=junk, older_than=junk) == [4, 3, 2, 1, 0]


def test_pages_are_cut_in_the_database(db_session: Session,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    seed(db_session)
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    first = load_page(db_session, QueueFilter(), ApprovalMatrix())
    last = load_page(db_session, QueueFilter(page="99"), ApprovalMatrix())  # clamped
    bad = load_page(db_session, QueueFilter(page="abc"), ApprovalMatrix())
    assert (first.number, first.pages, first.first, first.last, first.total) == (1, 3, 1, 2, 5)
    assert (last.number, last.first, last.last, len(last.rows)) == (3, 5, 5, 1)
    assert bad.number == 1


def test_an_empty_queue_is_one_empty_page(db_session: Session) -> None:
    page = load_page(db_session, QueueFilter(page="3"), ApprovalMatrix())
    assert (page.rows, page.number, page.pages, page.first, page.last) == ([], 1, 1, 0, 0)


def test_counts_for_the_queue_and_the_dashboard(db_session: Session) -> None:
    seed(db_session)
    assert count_items(db_session, "open") == 5 and count_items(db_session, "all") == 6
    assert reason_counts(db_session, "open") == [  # most frequent first, then by code
        ("ORDER_NOT_FOUND", 2), ("PRICE_VARIANCE", 2), ("BANK_DETAILS_CHANGED", 1),
        ("MISSING_FIELD", 1), ("UNKNOWN_PARTY", 1)]
    assert dict(reason_counts(db_session, "all"))["DUPLICATE_INVOICE"] == 1
    assert counterparty_counts(db_session, "open") == [
        ("(unknown)", 1), ("Acme Iberia SL", 1), ("Globex GmbH", 1), ("Initech", 1),
        ("acme 100% Tools", 1)]
    assert age_counts(db_session) == [("< 1 day", 1), ("1–3 days", 1), ("3–7 days", 1),
                                      ("7–30 days", 1), ("> 30 days", 1)]


def test_the_repository_keeps_the_reason_codes(
        db_session: Session, load_master: Callable[[Session], None]) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice())
    codes = sorted({p["code"] for p in item.reasons})
    assert codes and item.reason_codes == " " + " ".join(codes) + " "


def test_migration_fills_the_codes_of_existing_items(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0004_login_failures")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO documents (id, sha256, source_name, size_bytes, status, received_at) "
            "VALUES (1, :sha, 'a.pdf', 1, 'needs_review', '2026-01-01 00:00:00')"),
            {"sha": "0" * 64})
        conn.execute(sa.text(
            "INSERT INTO review_items (id, document_id, status, reasons, created_at, "
            "updated_at, version) VALUES (1, 1, 'open', :reasons, '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 1)"),
            {"reasons": '[{"code": "TOTAL_VARIANCE"}, {"code": "PRICE_VARIANCE"}]'})
    upgrade(url)
    with engine.connect() as conn:
        codes = conn.execute(sa.text("SELECT reason_codes FROM review_items")).scalar_one()
    engine.dispose()
    assert codes == " PRICE_VARIANCE TOTAL_VARIANCE "


def test_a_page_does_not_load_every_item(db_session: Session,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Five open items, a page of two: only the page's rows are loaded and built."""
    seed(db_session)
    built: list[int] = []
    original = queue._row

    def counting(*args: Any) -> queue.QueueRow:
        built.append(args[0].id)
        return original(*args)

    monkeypatch.setattr(queue, "_row", counting)
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    page = load_page(db_session, QueueFilter(), ApprovalMatrix())
    assert built == [row.item_id for row in page.rows] and len(built) == 2
