"""Two copies of one invoice decided at the same time by workers that cannot see each other
(the master data each loaded holds neither): the database lets one be accepted, and sends
the other to review as DUPLICATE_INVOICE naming the first (`models.number_claims`), on SQLite
and PostgreSQL; a document's own number is never its duplicate."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arflow.reasons import Reason
from matching.engine import evaluate_batch
from matching.types import Candidate, Decision
from models import approvals, repo
from models.corrections import correct_field
from models.db import Document, InvoiceNumberClaim, ReviewItem
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice
from tests.test_approvals import make_item, make_user, sample_invoice

Loader = Callable[[Session], None]
CLEAN_TOTAL = "166.18"


def _store(engine: Engine, invoice: Invoice, source: str, gate: threading.Barrier) -> None:
    """One worker: decide against the master data as loaded now, wait for the other worker
    to have decided too, then store and commit."""
    with Session(engine) as session:  # as a pass does: master data read once, up front
        master = repo.load_master_data(session)
    decision = evaluate_batch([Candidate(source, invoice)], master)[0]
    assert decision.reason_codes == []  # neither sees the other: both look new
    gate.wait(timeout=30)
    with Session(engine, expire_on_commit=False) as session:
        _save(session, source, invoice, decision)


def _save(session: Session, source: str, invoice: Invoice, decision: Decision) -> None:
    """Store a decided document as a batch does (its number claimed), and commit."""
    document = repo.create_document(session, sha256=source.ljust(64, "0"),
                                    source_name=source, size_bytes=1)
    repo.save_extraction(session, document, ExtractionResult(
        source=source, status=ExtractionStatus.OK, kind=DocumentKind.DIGITAL,
        invoice=invoice, pages=1), decision)
    session.commit()


def _statuses(engine: Engine) -> dict[str, tuple[str, list[str]]]:
    with Session(engine) as session:
        return {d.source_name: (d.status, sorted({p["code"] for p in d.reasons or []}))
                for d in session.scalars(select(Document))}


def _race(engine: Engine, copies: list[Invoice], stem: str) -> None:
    """Each copy stored by a worker thread of its own, both decided before either stores."""
    gate = threading.Barrier(len(copies))
    errors: list[BaseException] = []

    def work(invoice: Invoice, source: str) -> None:
        try:
            _store(engine, invoice, source, gate)
        except BaseException as err:
            errors.append(err)

    workers = [threading.Thread(target=work, args=(inv, f"{stem}-{i}.pdf"))
               for i, inv in enumerate(copies)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []


@pytest.mark.parametrize(("first", "second"), [("A-1", "A-1"), ("F-2026-001", "f2026 1")])
def test_copies_decided_at_once_are_accepted_once(
    engine: Engine, load_master: Loader, first: str, second: str,
) -> None:
    """The same number, and the number as another layout prints it."""
    with Session(engine) as session:
        load_master(session)
    _race(engine, [sample_invoice(CLEAN_TOTAL, first), sample_invoice(CLEAN_TOTAL, second)],
          "copy")
    assert sorted(_statuses(engine).values()) == [
        ("auto_approved", []), ("needs_review", [Reason.DUPLICATE_INVOICE])]


def test_a_corrected_number_gives_up_the_old_one(engine: Engine, load_master: Loader) -> None:
    """A clerk corrects a misread number: the document claims the new number, not both, and
    is no duplicate of itself; the freed number may then arrive on its own."""
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        item = make_item(session, sample_invoice("999.00", "A-7I"), "misread.pdf")
        clerk = make_user(session, "ana", "clerk", "1000")
        correct_field(session, item.id, user=clerk, expected_version=item.version,
                      name="invoice_number", text="A-71")
        session.commit()
        assert Reason.DUPLICATE_INVOICE not in approvals.reason_codes(item)
        keys = session.scalars(select(InvoiceNumberClaim.number_key).where(
            InvoiceNumberClaim.document_id == item.document_id)).all()
        assert set(keys) == {"A71"}  # under the party and the printed tax ID
        other = make_item(session, sample_invoice("999.00", "A-7I"), "other.pdf")
        assert Reason.DUPLICATE_INVOICE not in approvals.reason_codes(other)
        assert session.scalar(select(ReviewItem.id).where(ReviewItem.id == other.id))


def test_a_seller_known_only_by_a_very_long_name_still_claims(
    engine: Engine, load_master: Loader,
) -> None:
    """The claim's seller key fits its column however long the printed name (it failed on
    PostgreSQL past 300 characters)."""
    with Session(engine) as session:
        load_master(session)
    invoice = sample_invoice(CLEAN_TOTAL, "L-1")
    invoice.seller.name, invoice.seller.tax_id = "Unknown Supplies " * 28, None
    with Session(engine, expire_on_commit=False) as session:
        master = repo.load_master_data(session)
        for copy in ("long-1.pdf", "long-2.pdf"):  # both decided before either is stored
            _save(session, copy, invoice, evaluate_batch([Candidate(copy, invoice)], master)[0])
        keys = session.scalars(select(InvoiceNumberClaim.seller_key)).all()
    assert keys and all(len(k) <= 300 for k in keys)
    codes = [codes for _, codes in sorted(_statuses(engine).values())]
    assert [Reason.DUPLICATE_INVOICE in c for c in codes].count(True) == 1


def test_copies_decided_before_and_after_the_seller_was_filed_still_meet(
    engine: Engine, load_master: Loader,
) -> None:
    """One copy decided while its seller was not in the party master (keyed by its printed
    tax ID), the other after the ERP filed the seller (keyed by the party): both decided
    before either was stored. The second stored is a duplicate of the first."""
    invoice = sample_invoice(CLEAN_TOTAL, "A-9")
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        filed = repo.load_master_data(session)
        unfiled = replace(filed, parties=filed.parties.iloc[0:0])  # as before the ERP import
        early = evaluate_batch([Candidate("early.pdf", invoice)], unfiled)[0]
        late = evaluate_batch([Candidate("late.pdf", invoice)], filed)[0]
        assert early.party_id is None and late.party_id is not None
        for source, decision in (("early.pdf", early), ("late.pdf", late)):
            _save(session, source, invoice, decision)
    statuses = _statuses(engine)
    assert Reason.DUPLICATE_INVOICE not in statuses["early.pdf"][1]
    assert Reason.DUPLICATE_INVOICE in statuses["late.pdf"][1]
