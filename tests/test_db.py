"""Storage on SQLite and PostgreSQL: migrations, exact decimals, constraints, repositories."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from arflow.db import (
    current_revision,
    make_engine,
    normalize_url,
    session_scope,
    upgrade,
)
from arflow.errors import StorageError
from matching.types import ORDER_LINE_COLUMNS, Decision, LineMatch
from models import db, repo
from models.audit import append_audit, verify_chain
from models.domain import (
    DocumentKind,
    DocumentStatus,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    InvoiceLine,
    Party,
    Problem,
    WordBox,
)
from models.review import decide_review

Loader = Callable[[Session], None]


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from arflow.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_migrations_up_from_empty_are_idempotent(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # second run is a no-op
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert tables == set(db.Base.metadata.tables) | {"alembic_version"}
        assert current_revision(engine) == _head_revision()
    finally:
        engine.dispose()


def test_migrations_build_the_schema_the_models_declare(engine: Engine) -> None:
    """Every column, index and constraint of `models.db` comes from a migration (a model changed
    without its migration shows up here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.Base.metadata)
    assert diff == []


def test_numeric_round_trips_decimal_exactly(engine: Engine) -> None:
    values = [Decimal("99999999999999.9999"), Decimal("-0.0001"), Decimal("0.1"),
              Decimal("12.5"), Decimal("1.00005")]  # last: 5 decimals, rounded half-even
    with session_scope(engine) as session:
        doc = repo.create_document(session, sha256="a" * 64, source_name="x.pdf", size_bytes=1)
        session.add(db.Invoice(document_id=doc.id, lines=[
            db.InvoiceLine(line_no=i, amount=v, quantity=v) for i, v in enumerate(values)]))
    with session_scope(engine) as session:
        rows = session.scalars(select(db.InvoiceLine).order_by(db.InvoiceLine.line_no)).all()
        amounts = [str(r.amount) for r in rows]
        quantities = [str(r.quantity) for r in rows]
        total = session.scalar(select(func.sum(db.InvoiceLine.amount)))
    assert amounts == ["99999999999999.9999", "-0.0001", "0.10", "12.50", "1.00"]
    assert quantities == ["99999999999999.9999", "-0.0001", "0.1", "12.5", "1"]
    assert total == sum(Decimal(a) for a in amounts)  # SUM in SQL stays exact


def test_datetimes_are_utc_aware(db_session: Session) -> None:
    cet = timezone(timedelta(hours=1))
    batch = db.Batch(started_at=datetime(2026, 11, 23, 10, 0, tzinfo=cet))
    db_session.add(batch)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get_one(db.Batch, batch.id).started_at == datetime(2026, 11, 23, 9, 0,
                                                                        tzinfo=UTC)
    assert db_session.get_one(db.Batch, batch.id).started_at.tzinfo is not None


def test_sha256_is_unique(engine: Engine) -> None:
    with session_scope(engine) as session:
        repo.create_document(session, sha256="b" * 64, source_name="a.pdf", size_bytes=10)
    with pytest.raises(StorageError) as caught, session_scope(engine) as session:
        repo.create_document(session, sha256="b" * 64, source_name="copy.pdf", size_bytes=10)
    assert caught.value.code == "DB_INTEGRITY"
    with session_scope(engine) as session:
        found = repo.get_document_by_sha256(session, "b" * 64)
        assert found is not None and found.source_name == "a.pdf"


def test_unreachable_database_is_a_typed_error_with_masked_password() -> None:
    with pytest.raises(StorageError) as caught:
        make_engine("postgresql://arflow:s3cret@127.0.0.1:1/nowhere")
    assert caught.value.code == "DB_UNAVAILABLE"
    assert "cannot connect to database at" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
    assert normalize_url("postgres://u@h/d").drivername == "postgresql+psycopg"


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'a.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()


def _extraction(number: str, quantity: str) -> ExtractionResult:
    invoice = Invoice(
        invoice_number=number, issue_date=date(2026, 10, 20), currency="EUR",
        seller=Party(name="Acme Iberia SL", tax_id="ESB58378431"), order_number="PO-1001",
        total=Decimal(quantity) * Decimal("12.50"),
        lines=[InvoiceLine("Widgets", Decimal(quantity), Decimal("12.50"),
                           Decimal(quantity) * Decimal("12.50"), Decimal("21"))],
    )
    box = WordBox(number, 10.0, 20.0, 60.0, 30.0)
    return ExtractionResult(source=f"{number}.pdf", status=ExtractionStatus.OK,
                            kind=DocumentKind.DIGITAL, invoice=invoice, pages=1,
                            confidence={"total": 0.99}, evidence={"invoice_number": [box]})


def _save(session: Session, number: str, quantity: str, status: DocumentStatus,
          line_id: int) -> db.Document:
    document = repo.create_document(session, sha256=number.ljust(64, "0"),
                                    source_name=f"{number}.pdf", size_bytes=100)
    reasons = ([Problem("QUANTITY_VARIANCE", "too many", expected="10", found=quantity)]
               if status == DocumentStatus.NEEDS_REVIEW else [])
    decision = Decision(status=status, order_number="PO-1001", reasons=reasons,
                        line_matches=[LineMatch(invoice_line=0, order_line_id=line_id)])
    repo.save_extraction(session, document, _extraction(number, quantity), decision)
    return document


def _widget_line(session: Session) -> int:
    query = select(db.OrderLine.id).where(db.OrderLine.description == "Widgets")
    return session.scalars(query).one()


def test_save_and_load_master_data_sums(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    line_id = _widget_line(db_session)
    _save(db_session, "INV-1", "3", DocumentStatus.AUTO_APPROVED, line_id)
    _save(db_session, "INV-2", "2.5", DocumentStatus.NEEDS_REVIEW, line_id)
    approved = _save(db_session, "INV-3", "1", DocumentStatus.NEEDS_REVIEW, line_id)
    approved.status = DocumentStatus.APPROVED
    db_session.commit()

    master = repo.load_master_data(db_session)
    assert list(master.order_lines.columns) == list(ORDER_LINE_COLUMNS)
    widgets = master.order_lines.set_index("order_line_id").loc[line_id]
    assert widgets["quantity_received"] == Decimal("10")      # receipts 4 + 6
    assert widgets["quantity_invoiced"] == Decimal("4")       # 3 auto + 1 approved, not 2.5
    assert widgets["unit_price"] == Decimal("12.50")
    bolts = master.order_lines[master.order_lines["description"] == "Bolts, M8"].iloc[0]
    assert (bolts["quantity_received"], bolts["quantity_invoiced"]) == (Decimal(100), Decimal(0))
    assert sorted(master.seen_invoices["invoice_number"]) == ["INV-1", "INV-2", "INV-3"]
    assert set(master.parties["tax_id"]) == {"ESB58378431", "DE136695976", "12345678Z"}


def test_report_rows_and_review_items(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    line_id = _widget_line(db_session)
    _save(db_session, "INV-1", "3", DocumentStatus.AUTO_APPROVED, line_id)
    _save(db_session, "INV-2", "12", DocumentStatus.NEEDS_REVIEW, line_id)
    db_session.commit()
    rows = repo.report_rows(db_session)
    assert [(r["source"], r["status"], r["order_number"]) for r in rows] == [
        ("INV-1.pdf", "auto_approved", "PO-1001"), ("INV-2.pdf", "needs_review", "PO-1001")]
    assert rows[0]["invoice"] == _extraction("INV-1", "3").invoice.to_json()
    assert rows[1]["reasons"] == ["QUANTITY_VARIANCE"]
    assert rows[1]["problems"] == [{"code": "QUANTITY_VARIANCE", "message": "too many",
                                    "expected": "10", "found": "12"}]
    assert [r["source"] for r in repo.report_rows(db_session, status="auto_approved")] == [
        "INV-1.pdf"]
    items = db_session.scalars(select(db.ReviewItem)).all()
    assert [(i.status, i.reasons[0]["code"]) for i in items] == [("open", "QUANTITY_VARIANCE")]
    doc = repo.get_document_by_sha256(db_session, "INV-1".ljust(64, "0"))
    assert doc is not None and doc.extraction is not None
    assert doc.extraction["evidence"]["invoice_number"][0]["x0"] == 10.0


def test_save_extraction_again_replaces_invoice(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    line_id = _widget_line(db_session)
    document = _save(db_session, "INV-1", "3", DocumentStatus.AUTO_APPROVED, line_id)
    decision = Decision(status=DocumentStatus.AUTO_APPROVED, order_number="PO-1001",
                        line_matches=[LineMatch(invoice_line=0, order_line_id=line_id)])
    repo.save_extraction(db_session, document, _extraction("INV-1", "5"), decision)
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(db.Invoice)) == 1
    assert db_session.scalars(select(db.Match.quantity)).all() == [Decimal("5")]


def test_audit_log_is_append_only_and_chained(engine: Engine) -> None:
    with session_scope(engine) as session:
        append_audit(session, actor="ana", action="review.decide", entity="review_item",
                     entity_id=1, before={"status": "open"}, after={"status": "approved"})
        append_audit(session, actor="bob", action="party.update", entity="party", entity_id=7)
    with session_scope(engine) as session:
        assert verify_chain(session) is None
    for statement in ("UPDATE audit_events SET actor = 'eve'", "DELETE FROM audit_events"):
        with pytest.raises(StorageError, match="append-only"), session_scope(engine) as session:
            session.execute(text(statement))


def test_review_decision_uses_optimistic_locking(engine: Engine, load_master: Loader) -> None:
    with session_scope(engine) as session:
        load_master(session)
        _save(session, "INV-2", "12", DocumentStatus.NEEDS_REVIEW, _widget_line(session))
    with session_scope(engine) as session:  # two reviewers open the same item
        seen = session.scalars(select(db.ReviewItem)).one()
    with session_scope(engine) as session:
        decide_review(session, seen.id, status=db.ReviewStatus.APPROVED,
                      expected_version=seen.version, actor="ana")
    with pytest.raises(StorageError) as caught, session_scope(engine) as session:
        decide_review(session, seen.id, status=db.ReviewStatus.REJECTED,
                      expected_version=seen.version, actor="bob")
    assert caught.value.code == "REVIEW_CONFLICT"
    with session_scope(engine) as session:
        assert session.scalars(select(db.Document.status)).one() == "approved"
        assert [e.actor for e in session.scalars(select(db.AuditEvent))] == ["ana"]


def test_review_conflict_between_open_transactions(
    pg_engine: Engine, load_master: Loader,
) -> None:
    """Two overlapping transactions: the UPDATE ... WHERE version = n of the second finds
    nothing. (PostgreSQL only: SQLite transactions are serialised, they cannot overlap.)"""
    engine = pg_engine
    with session_scope(engine) as session:
        load_master(session)
        _save(session, "INV-2", "12", DocumentStatus.NEEDS_REVIEW, _widget_line(session))
    with session_scope(engine) as first, session_scope(engine) as second:
        item = first.scalars(select(db.ReviewItem)).one()
        stale = second.scalars(select(db.ReviewItem)).one()
        decide_review(first, item.id, status=db.ReviewStatus.APPROVED,
                      expected_version=item.version, actor="ana")
        first.commit()
        with pytest.raises(StorageError) as caught:
            decide_review(second, stale.id, status=db.ReviewStatus.REJECTED,
                          expected_version=stale.version, actor="bob")
        second.rollback()
    assert caught.value.code == "REVIEW_CONFLICT"


def test_concurrent_claims_of_one_file_create_one_document(engine: Engine) -> None:
    first = Session(engine)
    doc, created = repo.claim_document(first, sha256="e" * 64, source_name="a.pdf", size_bytes=1)
    doc_id = doc.id
    results: list[tuple[int, bool]] = []

    def other_worker() -> None:
        with session_scope(engine) as session:
            found, made = repo.claim_document(session, sha256="e" * 64, source_name="b.pdf",
                                              size_bytes=1)
            results.append((found.id, made))

    worker = threading.Thread(target=other_worker)
    worker.start()
    time.sleep(0.3)
    assert worker.is_alive()  # blocked behind the first, uncommitted insert
    first.commit()
    first.close()
    worker.join(timeout=30)
    assert (created, results) == (True, [(doc_id, False)])


def test_claim_document_and_batch_counts(db_session: Session) -> None:
    batch_id = repo.start_batch(db_session, source="inbox/")
    first, created = repo.claim_document(db_session, sha256="c" * 64, source_name="a.pdf",
                                         size_bytes=5, batch_id=batch_id)
    again, created_again = repo.claim_document(db_session, sha256="c" * 64,
                                               source_name="copy.pdf", size_bytes=5)
    assert (created, created_again, again.id) == (True, False, first.id)
    broken = repo.create_document(db_session, sha256="d" * 64, source_name="bad.pdf",
                                  size_bytes=0, batch_id=batch_id)
    repo.record_failure(db_session, broken, Problem("EMPTY_DOCUMENT", "The file is empty."))
    batch = repo.finish_batch(db_session, batch_id, duplicates=1)
    db_session.commit()
    assert (batch.total, batch.failed, batch.duplicates) == (2, 1, 1)
    assert batch.finished_at is not None and batch.finished_at >= batch.started_at
    rows = repo.report_rows(db_session, batch_id=batch_id)
    assert [(r["source"], r["status"], r["invoice"]) for r in rows] == [
        ("a.pdf", "received", None), ("bad.pdf", "failed", None)]
    assert rows[1]["reasons"] == ["EMPTY_DOCUMENT"]


@dataclass
class _File:
    path: Path
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def where(self) -> str:
        return str(self.path)


def test_save_outcome_and_known_hashes(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    decision = Decision(status=DocumentStatus.AUTO_APPROVED, order_number="PO-1001")
    file = _File(Path("/inbox/INV-9.pdf"), "f" * 64, 1234)
    document = repo.save_outcome(db_session, batch_id=None, file=file,
                                 extraction=_extraction("INV-9", "1"), decision=decision)
    db_session.commit()
    assert (document.source_name, document.original_path, document.status) == (
        "INV-9.pdf", "/inbox/INV-9.pdf", "auto_approved")
    assert repo.known_hashes(db_session, ["f" * 64, "0" * 64]) == {"f" * 64}
    assert repo.dumps({"total": Decimal("12.50"), "on": date(2026, 1, 2)}) == (
        '{\n  "total": "12.50",\n  "on": "2026-01-02"\n}')
