"""A supplier's new bank account accepted from a review item (SQLite and PostgreSQL): only
by the role the matrix names, confirmed, audited, and never by the invoice's approver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arflow.masterdata import import_csv
from arflow.reasons import Reason
from models import approvals
from models.approvals import ApprovalRefused
from models.audit import verify_chain
from models.bank_details import accept_bank_details
from models.db import AuditEvent, Document, Party, ReviewItem, User
from tests.conftest import MASTER_CSV
from tests.test_approvals import MATRIX, make_item, make_user, sample_invoice

Loader = Callable[[Session], None]
NEW_IBAN = "GB82 WEST 1234 5698 7654 32"
CLEAN_TOTAL = "166.18"


def _flagged(session: Session, load_master: Loader, number: str = "A-1") -> ReviewItem:
    load_master(session)
    session.commit()
    item = make_item(session, sample_invoice(CLEAN_TOTAL, number, NEW_IBAN), f"{number}.pdf")
    assert approvals.reason_codes(item) == [Reason.BANK_DETAILS_CHANGED]
    return item


def _accept(session: Session, item: ReviewItem, user: User) -> None:
    accept_bank_details(session, item.id, user=user, expected_version=item.version,
                        matrix=MATRIX, confirmation="called Acme's AP desk on file")
    session.commit()


def _party(session: Session) -> Party:
    return session.scalars(select(Party).where(Party.tax_id == "ESB58378431")).one()


def test_a_finance_lead_puts_the_new_iban_on_file_and_someone_else_approves(
    engine: Engine, load_master: Loader,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        item = _flagged(session, load_master)
        fi = make_user(session, "fi", "finance_lead", None)
        accept_bank_details(session, item.id, user=fi, expected_version=item.version,
                            matrix=MATRIX, confirmation="called Acme's AP desk on file, Ms Ruiz")
        session.commit()
        assert _party(session).iban == "GB82WEST12345698765432"
        assert approvals.reason_codes(item) == [] and item.status == "open"
        with pytest.raises(ApprovalRefused, match="corrected this item"):
            approvals.approve(session, item.id, user=fi, expected_version=item.version,
                              matrix=MATRIX)
        session.rollback()
        ana = make_user(session, "ana", "clerk", "1000")
        approvals.approve(session, item.id, user=ana, expected_version=item.version,
                          matrix=MATRIX)
        session.commit()
        assert session.get_one(Document, item.document_id).status == "approved"
        change = session.scalars(select(AuditEvent)
                                 .where(AuditEvent.action == "party.bank_details")).one()
        assert change.before == {"iban": "ES9121000418450200051332"}
        assert change.after is not None and change.after["confirmation"].startswith("called")
        assert verify_chain(session) is None
        later = make_item(session, sample_invoice(CLEAN_TOTAL, "A-2", NEW_IBAN), "A-2.pdf")
        assert Reason.BANK_DETAILS_CHANGED not in approvals.reason_codes(later)


@pytest.mark.parametrize(("role", "confirmation", "message"), [
    ("manager", "called them", "may not change bank details: it needs a finance_lead"),
    ("finance_lead", "  ", "say how the new account was confirmed"),
])
def test_the_change_is_refused_without_the_role_or_a_confirmation(
    engine: Engine, load_master: Loader, role: str, confirmation: str, message: str,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        item = _flagged(session, load_master)
        user = make_user(session, "someone", role, None)
        with pytest.raises(ApprovalRefused, match=message):
            accept_bank_details(session, item.id, user=user, expected_version=item.version,
                                matrix=MATRIX, confirmation=confirmation)
        session.rollback()
        assert _party(session).iban == "ES9121000418450200051332"


def test_an_item_without_a_changed_iban_has_nothing_to_accept(
    engine: Engine, load_master: Loader,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        session.commit()
        item = make_item(session, sample_invoice("999.00", "A-9"), "A-9.pdf")
        fi = make_user(session, "fi", "finance_lead", None)
        with pytest.raises(ApprovalRefused, match="match the ones on file"):
            accept_bank_details(session, item.id, user=fi, expected_version=item.version,
                                matrix=MATRIX, confirmation="called")


OLD_IBAN = "ES91 2100 0418 4502 0005 1332"  # the one on file for Acme (tests/data master)
THIRD_IBAN = "DE89 3704 0044 0532 0130 00"


def test_the_sellers_other_waiting_invoices_are_decided_again_with_the_new_account(
    engine: Engine, load_master: Loader,
) -> None:
    """Accepted once, the new account clears the finding of the seller's other waiting
    invoices that state it, flags those still stating the old account, and leaves those
    stating a third account and decided ones alone; the accepter approves none of them."""
    with Session(engine, expire_on_commit=False) as session:
        item = _flagged(session, load_master)
        same = make_item(session, sample_invoice("999.00", "A-2", NEW_IBAN), "A-2.pdf")
        stale = make_item(session, sample_invoice("999.00", "A-3", OLD_IBAN), "A-3.pdf")
        third = make_item(session, sample_invoice("999.00", "A-4", THIRD_IBAN), "A-4.pdf")
        done = make_item(session, sample_invoice("999.00", "A-5", NEW_IBAN), "A-5.pdf")
        fi = make_user(session, "fi", "finance_lead", None)
        approvals.reject(session, done.id, user=fi, expected_version=done.version,
                         reason="sent twice", matrix=MATRIX)
        session.commit()
        assert Reason.BANK_DETAILS_CHANGED in approvals.reason_codes(same)
        assert Reason.BANK_DETAILS_CHANGED not in approvals.reason_codes(stale)
        versions = {i.id: i.version for i in (third, done)}
        _accept(session, item, fi)
        for other in (same, stale, third, done):
            session.refresh(other)
        assert Reason.BANK_DETAILS_CHANGED not in approvals.reason_codes(same)
        assert Reason.BANK_DETAILS_CHANGED in approvals.reason_codes(stale)
        assert Reason.BANK_DETAILS_CHANGED in approvals.reason_codes(third)
        assert {i.id: i.version for i in (third, done)} == versions
        audited = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "review.correct")).all()
        assert {e.entity_id: (e.after or {}).get("accepted_on") for e in audited} == {
            str(item.id): None, str(same.id): item.id, str(stale.id): item.id}
        with pytest.raises(ApprovalRefused, match="corrected this item"):
            approvals.approve(session, same.id, user=fi, expected_version=same.version,
                              matrix=MATRIX)
        session.rollback()
        assert verify_chain(session) is None


def test_an_import_that_puts_back_the_replaced_account_is_audited_and_warned(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    """The ERP file still holds Acme's old IBAN after a finance lead accepted the new one:
    the import wins (the ERP owns the master), but says so, naming who accepted what."""
    with Session(engine, expire_on_commit=False) as session:
        item = _flagged(session, load_master)
        fi = make_user(session, "fi", "finance_lead", None)
        _accept(session, item, fi)
        erp = tmp_path / "erp-parties.csv"
        erp.write_text(MASTER_CSV["parties"], encoding="utf-8")
        report = import_csv(session, "parties", erp)
        session.commit()
        assert report.iban_changes == 1 and len(report.warnings) == 1
        warning = report.warnings[0]
        assert "fi accepted" in warning and f"review item {item.id}" in warning
        assert "GB82WEST12345698765432" in warning
        assert "1 IBAN changed" in str(report)
        assert _party(session).iban == "ES9121000418450200051332"
        undone = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "party.bank_details").order_by(AuditEvent.id)).all()
        assert [(e.actor, (e.after or {}).get("iban")) for e in undone] == [
            ("fi", "GB82WEST12345698765432"), ("import", "ES9121000418450200051332")]
        again = import_csv(session, "parties", erp)  # nothing changes: nothing said
        assert (again.iban_changes, again.warnings) == (0, ())
        assert verify_chain(session) is None


def test_an_import_changing_an_iban_is_audited_without_a_warning(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        erp = tmp_path / "erp-parties.csv"
        erp.write_text("name,tax_id,iban,email\nAcme Iberia SL,ESB58378431,"
                       f"{NEW_IBAN},ap@acme.example\n", encoding="utf-8")
        report = import_csv(session, "parties", erp)
        session.commit()
        assert (report.iban_changes, report.warnings) == (1, ())
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "party.bank_details")).one()
        assert (event.actor, event.before, event.after) == (
            "import", {"iban": "ES9121000418450200051332"},
            {"iban": "GB82WEST12345698765432", "source": "erp-parties.csv"})


def test_an_import_changing_the_account_decides_the_waiting_items_again(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    """The ERP puts Acme's new IBAN on file: a waiting invoice stating it loses its finding,
    one still stating the old account gains it; both audited with the file's name."""
    with Session(engine, expire_on_commit=False) as session:
        new = _flagged(session, load_master)
        old = make_item(session, sample_invoice("999.00", "A-3", OLD_IBAN), "A-3.pdf")
        assert Reason.BANK_DETAILS_CHANGED not in approvals.reason_codes(old)
        erp = tmp_path / "erp-parties.csv"
        erp.write_text("name,tax_id,iban,email\nAcme Iberia SL,ESB58378431,"
                       f"{NEW_IBAN},ap@acme.example\n", encoding="utf-8")
        report = import_csv(session, "parties", erp)
        session.commit()
        assert report.redecided == 2 and "2 waiting item(s) decided again" in str(report)
        for item in (new, old):
            session.refresh(item)
        assert Reason.BANK_DETAILS_CHANGED not in approvals.reason_codes(new)
        assert Reason.BANK_DETAILS_CHANGED in approvals.reason_codes(old)
        audited = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "review.correct")).all()
        assert {(e.actor, e.entity_id, (e.after or {}).get("source")) for e in audited} == {
            ("import", str(new.id), "erp-parties.csv"), ("import", str(old.id), "erp-parties.csv")}
        assert verify_chain(session) is None


def test_a_first_account_on_file_flags_waiting_invoices_stating_another(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    """No IBAN was on file, so nothing was compared: once the ERP files one, a waiting
    invoice stating another account gains the finding; an item on hold stays on hold."""
    erp = tmp_path / "erp.csv"
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        _party(session).iban = None
        session.commit()
        item = make_item(session, sample_invoice("999.00", "A-8", THIRD_IBAN), "A-8.pdf")
        assert Reason.BANK_DETAILS_CHANGED not in approvals.reason_codes(item)
        lead = make_user(session, "fi", "finance_lead", None)
        approvals.hold(session, item.id, user=lead, expected_version=item.version,
                       note="waiting for the supplier's call")
        session.commit()
        erp.write_text("name,tax_id,iban,email\nAcme Iberia SL,ESB58378431,"
                       f"{NEW_IBAN},ap@acme.example\n", encoding="utf-8")
        assert import_csv(session, "parties", erp).redecided == 1
        session.commit()
        session.refresh(item)
        assert Reason.BANK_DETAILS_CHANGED in approvals.reason_codes(item)
        assert item.status == "on_hold"


SECOND_IBAN = "NL91 ABNA 0417 1643 00"


def test_two_acceptances_for_one_supplier_at_once_see_each_other(
    pg_engine: Engine, load_master: Loader,
) -> None:
    """Two finance leads accept two new accounts of one supplier at the same moment
    (PostgreSQL: overlapping transactions). The supplier's row lock makes the second wait:
    its audit names the first's account as the one it replaced, and the invoice stating the
    account that lost is flagged again, whichever order they land in."""
    with Session(pg_engine, expire_on_commit=False) as session:
        first = _flagged(session, load_master, "A-1")
        second = make_item(session, sample_invoice("999.00", "A-2", SECOND_IBAN), "A-2.pdf")
        leads = [make_user(session, f"fi{n}", "finance_lead", None) for n in (1, 2)]
    gate, errors = threading.Barrier(2), []

    def accept(item: ReviewItem, lead: User) -> None:
        try:
            with Session(pg_engine) as own:
                gate.wait(timeout=30)
                accept_bank_details(own, item.id, user=lead, expected_version=item.version,
                                    matrix=MATRIX, confirmation="called the AP desk on file")
                own.commit()
        except BaseException as err:
            errors.append(err)

    workers = [threading.Thread(target=accept, args=pair)
               for pair in ((first, leads[0]), (second, leads[1]))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    with Session(pg_engine) as session:
        changes = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "party.bank_details").order_by(AuditEvent.id)).all()
        earlier, later = [(e.before or {}, e.after or {}) for e in changes]
        assert later[0]["iban"] == earlier[1]["iban"]  # the second saw the first's account
        on_file = _party(session).iban
        assert on_file == later[1]["iban"]
        for item in (first, second):
            stated = session.get_one(Document, item.document_id).invoice
            codes = approvals.reason_codes(session.get_one(ReviewItem, item.id))
            assert stated is not None
            changed = "".join((stated.iban or "").split()) != on_file
            assert (Reason.BANK_DETAILS_CHANGED in codes) == changed, (stated.iban, codes)


def test_an_import_during_an_acceptance_waits_and_sees_its_account(
    pg_engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    """An ERP import files a third account for Acme while a finance lead's acceptance of the
    new one is not yet committed (PostgreSQL, overlapping transactions). The import waits for
    the supplier's row lock, so it audits the accepted account as the one it replaced, warns
    that it overrides it, and flags the waiting invoice, which states the replaced account."""
    erp = tmp_path / "erp-parties.csv"
    erp.write_text("name,tax_id,iban,email\nAcme Iberia SL,ESB58378431,"
                   f"{THIRD_IBAN},ap@acme.example\n", encoding="utf-8")
    with Session(pg_engine, expire_on_commit=False) as session:
        item = _flagged(session, load_master)
        lead = make_user(session, "fi", "finance_lead", None)
    accepted, errors = threading.Event(), []

    def accept() -> None:
        try:
            with Session(pg_engine) as own:
                accept_bank_details(own, item.id, user=lead, expected_version=item.version,
                                    matrix=MATRIX, confirmation="called the AP desk")
                accepted.set()
                time.sleep(0.5)  # the import starts meanwhile
                own.commit()
        except BaseException as err:
            errors.append(err)
            accepted.set()

    worker = threading.Thread(target=accept)
    worker.start()
    assert accepted.wait(timeout=60)
    with Session(pg_engine) as session:
        report = import_csv(session, "parties", erp)
        session.commit()
    worker.join(timeout=60)
    assert errors == []
    assert len(report.warnings) == 1 and "fi accepted" in report.warnings[0]
    with Session(pg_engine) as session:
        changes = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "party.bank_details").order_by(AuditEvent.id)).all()
        assert [(e.actor, (e.before or {}).get("iban"), (e.after or {}).get("iban"))
                for e in changes] == [
            ("fi", "ES9121000418450200051332", "GB82WEST12345698765432"),
            ("import", "GB82WEST12345698765432", "DE89370400440532013000")]
        assert _party(session).iban == "DE89370400440532013000"
        codes = approvals.reason_codes(session.get_one(ReviewItem, item.id))
        assert Reason.BANK_DETAILS_CHANGED in codes
