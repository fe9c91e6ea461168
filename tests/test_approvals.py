"""The approval matrix, decisions, corrections and users (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from arflow.errors import ConfigError, StorageError
from matching.engine import evaluate_batch
from matching.types import Candidate
from models import approvals, repo, users
from models.approvals import ApprovalMatrix, ApprovalRefused, Band
from models.audit import verify_chain
from models.corrections import correct_field, parse_value
from models.db import AuditEvent, Document, ReviewItem, ReviewStatus, User
from models.domain import (
    DocumentKind,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    InvoiceLine,
    WordBox,
)
from models.domain import Party as PartyInfo

Loader = Callable[[Session], None]
D = Decimal
MATRIX = ApprovalMatrix()
ACME_IBAN = "ES9121000418450200051332"


def sample_invoice(total: str = "999.00", number: str = "A-1", iban: str = ACME_IBAN) -> Invoice:
    """PO-1001 billed exactly, except the printed total (166.18 would be right)."""
    return Invoice(
        invoice_number=number, issue_date=date(2026, 10, 20), due_date=date(2026, 11, 20),
        currency="EUR", seller=PartyInfo(name="Acme Iberia SL", tax_id="ESB58378431"),
        order_number="PO-1001", subtotal=D("137.34"), tax_total=D("28.84"), total=D(total),
        iban=iban, lines=[InvoiceLine("Widgets", D(10), D("12.50"), D("125.00"), D(21)),
                          InvoiceLine("Bolts, M8", D(100), D("0.1234"), D("12.34"), D(21))])


def make_item(session: Session, invoice: Invoice, source: str = "a.pdf",
              original_path: str | None = None) -> ReviewItem:
    """Validate and match `invoice` like a batch does and store it; returns its review item."""
    result = ExtractionResult(source=source, status=ExtractionStatus.OK,
                              kind=DocumentKind.DIGITAL, invoice=invoice, pages=1,
                              evidence={"total": [WordBox("999.00", 400, 700, 450, 712)]})
    decision = evaluate_batch([Candidate(source, invoice)], repo.load_master_data(session))[0]
    document = repo.create_document(session, sha256=source.ljust(64, "0"), source_name=source,
                                    size_bytes=1, original_path=original_path)
    repo.save_extraction(session, document, result, decision)
    session.commit()
    return session.scalars(select(ReviewItem).where(ReviewItem.document_id == document.id)).one()


def make_user(session: Session, name: str, role: str, limit: str | None) -> User:
    user = users.add_user(session, name, "password-" + name, role,
                          None if limit is None else D(limit))
    session.commit()
    return user


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.mark.parametrize(("amount", "codes", "role"), [
    ("500", [], "clerk"), ("1000", [], "clerk"), ("1000.01", [], "manager"),
    ("10000", [], "manager"), ("10000.01", [], "finance_lead"), (None, [], "finance_lead"),
    ("5", ["BANK_DETAILS_CHANGED"], "finance_lead"), ("5", ["PRICE_VARIANCE"], "clerk"),
])
def test_routing(amount: str | None, codes: list[str], role: str) -> None:
    value = None if amount is None else D(amount)
    assert approvals.required_role(MATRIX, value, codes) == role


def test_two_approvers_threshold_and_matrix_from_toml(tmp_path: Path) -> None:
    assert not approvals.needs_two(MATRIX, D("10000"))
    assert approvals.needs_two(MATRIX, D("10000.01")) and approvals.needs_two(MATRIX, None)
    path = tmp_path / "matrix.toml"
    path.write_text('two_approvers_above = 50\n[[bands]]\nup_to = 10\nrole = "manager"\n'
                    '[[bands]]\nrole = "finance_lead"\n[reason_roles]\nINVALID_IBAN = "manager"\n')
    matrix = approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(path)})
    assert matrix.bands == (Band(D(10), "manager"), Band(None, "finance_lead"))
    assert approvals.required_role(matrix, D(5), ["INVALID_IBAN"]) == "manager"
    assert approvals.needs_two(matrix, D(51)) and approvals.load_matrix({}) == MATRIX
    path.write_text('[[bands]]\nrole = "boss"\n')
    with pytest.raises(ConfigError, match="unknown role 'boss'"):
        approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(path)})


def test_clerk_approves_within_limit_audited(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00"))
    assert approvals.reason_codes(item) == ["ARITHMETIC_MISMATCH"]
    clerk = make_user(db_session, "cleo", "clerk", "1000")
    approvals.approve(db_session, item.id, user=clerk, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.APPROVED
    assert db_session.get_one(Document, item.document_id).status == "approved"
    [event] = _events(db_session, "review.approve")
    assert (event.actor, event.entity_id) == ("cleo", str(item.id))
    assert event.before is not None and event.before["review_status"] == "open"
    assert event.after is not None and event.after["review_status"] == "approved"
    with pytest.raises(ApprovalRefused, match="already approved"):
        approvals.approve(db_session, item.id, user=clerk, expected_version=item.version,
                          matrix=MATRIX)


def test_clerk_refused_above_role_and_limit(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    big = make_item(db_session, sample_invoice("5000.00"), "big.pdf")
    small = make_item(db_session, sample_invoice("999.00", "A-2"), "small.pdf")
    clerk = make_user(db_session, "cleo", "clerk", "100")
    with pytest.raises(ApprovalRefused, match="it needs a manager"):
        approvals.approve(db_session, big.id, user=clerk, expected_version=big.version,
                          matrix=MATRIX)
    with pytest.raises(ApprovalRefused, match="above cleo's approval limit of 100"):
        approvals.approve(db_session, small.id, user=clerk, expected_version=small.version,
                          matrix=MATRIX)
    db_session.rollback()
    assert _events(db_session, "review.approve") == []


def test_the_matrix_values_other_currencies_at_its_rates(tmp_path: Path) -> None:
    path = tmp_path / "matrix.toml"
    path.write_text('currency = "eur"\n[[bands]]\nup_to = 1000\nrole = "clerk"\n'
                    '[[bands]]\nrole = "manager"\n[rates]\nusd = 0.9\n')
    matrix = approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(path)})
    assert matrix.in_own_currency(D("1000"), "EUR") == D("1000")
    assert matrix.in_own_currency(D("1100"), "usd") == D("990.00")
    assert matrix.in_own_currency(D("10"), "GBP") is None  # no rate: cannot be valued
    assert matrix.in_own_currency(D("10"), None) is None
    assert approvals.required_role(matrix, matrix.in_own_currency(D("1100"), "USD"), []) == \
        "clerk"
    path.write_text('[[bands]]\nrole = "clerk"\n[rates]\nUSD = -1\n')
    with pytest.raises(ConfigError, match="positive"):
        approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(path)})


def test_a_foreign_currency_without_a_rate_is_above_every_limit(
    db_session: Session, load_master: Loader
) -> None:
    load_master(db_session)
    invoice = sample_invoice("50.00")
    invoice.currency = "USD"
    item = make_item(db_session, invoice)
    assert approvals.effective_role(db_session, item, MATRIX) == "finance_lead"
    lead = make_user(db_session, "flo", "finance_lead", "100")
    with pytest.raises(ApprovalRefused, match="cannot be valued in EUR"):
        approvals.approve(db_session, item.id, user=lead, expected_version=item.version,
                          matrix=MATRIX)
    valued = replace(MATRIX, rates={"USD": D("0.9")})
    assert approvals.effective_role(db_session, item, valued) == "clerk"
    approvals.approve(db_session, item.id, user=lead, expected_version=item.version,
                      matrix=valued)
    assert item.status == "approved"


def test_bank_details_change_needs_finance_lead(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice("166.18", iban="DE89370400440532013000"))
    assert "BANK_DETAILS_CHANGED" in approvals.reason_codes(item)
    manager = make_user(db_session, "max", "manager", "10000")
    with pytest.raises(ApprovalRefused, match="needs a finance_lead"):
        approvals.approve(db_session, item.id, user=manager, expected_version=item.version,
                          matrix=MATRIX)


def test_two_different_approvers_above_threshold(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice("20000.00"))
    first, second = (make_user(db_session, n, "finance_lead", None) for n in ("fay", "fin"))
    approvals.approve(db_session, item.id, user=first, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.OPEN
    with pytest.raises(ApprovalRefused, match="second, different approver"):
        approvals.approve(db_session, item.id, user=first, expected_version=item.version,
                          matrix=MATRIX)
    db_session.rollback()
    approvals.approve(db_session, item.id, user=second, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.APPROVED
    assert [e.after["approvers"] for e in _events(db_session, "review.approve")
            if e.after] == [["fay"], ["fay", "fin"]]


def test_correction_revalidates_and_four_eyes(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00"))
    cleo, carl = (make_user(db_session, n, "clerk", "1000") for n in ("cleo", "carl"))
    correct_field(db_session, item.id, user=cleo, expected_version=item.version,
                  name="total", text="166.18")
    db_session.commit()
    assert item.reasons == [] and item.status == ReviewStatus.OPEN
    document = db_session.get_one(Document, item.document_id)
    assert document.invoice is not None and document.invoice.total == D("166.18")
    assert document.status == "needs_review"
    [event] = _events(db_session, "review.correct")
    assert event.before == {"field": "total", "value": "999.00",
                            "reasons": ["ARITHMETIC_MISMATCH"]}
    assert event.after == {"field": "total", "value": "166.18", "reasons": []}
    with pytest.raises(ApprovalRefused, match="corrected this item"):
        approvals.approve(db_session, item.id, user=cleo, expected_version=item.version,
                          matrix=MATRIX)
    db_session.rollback()
    approvals.approve(db_session, item.id, user=carl, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.APPROVED


def test_a_lower_corrected_total_keeps_the_approvers_the_invoice_needed(
    db_session: Session, load_master: Loader,
) -> None:
    """Received at 4,392.72 (a manager's band), corrected by a clerk to 10.00: the item still
    needs a manager, and a clerk with a limit of 1,000 may not approve it. Corrected upwards,
    the higher amount counts."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("4392.72"))
    assert item.received_total == D("4392.72") and item.received_currency == "EUR"
    cleo, carl = (make_user(db_session, n, "clerk", "1000") for n in ("cleo", "carl"))
    correct_field(db_session, item.id, user=cleo, expected_version=item.version,
                  name="total", text="10.00")
    db_session.commit()
    assert approvals.effective_role(db_session, item, MATRIX) == "manager"
    with pytest.raises(ApprovalRefused, match="needs a manager"):
        approvals.approve(db_session, item.id, user=carl, expected_version=item.version,
                          matrix=MATRIX)
    db_session.rollback()
    correct_field(db_session, item.id, user=cleo, expected_version=item.version,
                  name="total", text="20000.00")
    db_session.commit()
    assert approvals.effective_role(db_session, item, MATRIX) == "finance_lead"
    assert approvals.item_amount(db_session, item, MATRIX) == D("20000.00")


def test_correcting_the_iban_to_the_one_on_file_keeps_the_finance_lead_needed(
    db_session: Session, load_master: Loader,
) -> None:
    """QA: a clerk corrected a flagged IBAN to the one on file, the finding went, and a
    manager approved: no finance lead saw the bank change. The reasons the item was opened
    with still decide who may approve."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("166.18", iban="GB82 WEST 1234 5698 7654 32"))
    assert approvals.reason_codes(item) == ["BANK_DETAILS_CHANGED"]
    bea = make_user(db_session, "bea", "clerk", "200")
    mo = make_user(db_session, "mo", "manager", None)
    correct_field(db_session, item.id, user=bea, expected_version=item.version,
                  name="iban", text=ACME_IBAN)
    db_session.commit()
    assert approvals.reason_codes(item) == []
    assert approvals.effective_role(db_session, item, MATRIX) == "finance_lead"
    with pytest.raises(ApprovalRefused, match="needs a finance_lead"):
        approvals.approve(db_session, item.id, user=mo, expected_version=item.version,
                          matrix=MATRIX)


@pytest.mark.parametrize(("typed", "value"), [
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("12,500.00", "12500.00"),
    ("12,50", "12.50"), ("1500", "1500"), ("0.1234", "0.1234"), ("1.234.567", "1234567"),
    ("-3,5", "-3.5"),
])
def test_corrected_amounts_read_as_people_type_them(typed: str, value: str) -> None:
    assert parse_value("total", typed) == D(value)


@pytest.mark.parametrize(("typed", "why"), [
    ("1,500", "could be 1500 or 1.500"),  # QA: was stored as 1.50
    ("NaN", "not a number"), ("sNaN", "not a number"),  # QA: a 500
    ("Infinity", "not a number"), ("1e20", "too large"),
    ("12345678901234567", "too large"),  # QA: a database error naming its URL
])
def test_corrected_amounts_that_cannot_be_read_safely_are_refused(typed: str, why: str) -> None:
    with pytest.raises(ApprovalRefused, match=why):
        parse_value("withholding", typed)


def test_a_corrected_currency_is_an_iso_code() -> None:
    assert parse_value("currency", " eur ") == "EUR"
    assert parse_value("currency", "€") == "EUR"
    for typed in ("€€€", "EURO", "E1R", "ZZZ"):
        with pytest.raises(ApprovalRefused, match="not a currency"):
            parse_value("currency", typed)


def test_correction_can_raise_new_findings(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00"))
    cleo = make_user(db_session, "cleo", "clerk", "1000")
    correct_field(db_session, item.id, user=cleo, expected_version=item.version,
                  name="lines[0].unit_price", text="13,90")
    db_session.commit()
    assert "PRICE_VARIANCE" in approvals.reason_codes(item)
    with pytest.raises(ApprovalRefused, match="cannot be corrected"):
        parse_value("sha256", "x")
    with pytest.raises(ApprovalRefused, match="not a valid value for issue_date"):
        parse_value("issue_date", "yesterday")
    assert parse_value("total", "") is None and parse_value("iban", "es91 21") == "ES9121"


def test_stale_version_is_a_conflict(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00"))
    clerk = make_user(db_session, "cleo", "clerk", "1000")
    seen = item.version
    approvals.hold(db_session, item.id, user=clerk, expected_version=seen, note="asking")
    db_session.commit()
    with pytest.raises(StorageError, match="changed by someone else") as caught:
        approvals.approve(db_session, item.id, user=clerk, expected_version=seen, matrix=MATRIX)
    assert caught.value.code == "REVIEW_CONFLICT"
    db_session.rollback()
    assert item.status == ReviewStatus.ON_HOLD


def test_reject_escalate_hold(db_session: Session, load_master: Loader) -> None:
    load_master(db_session)
    first = make_item(db_session, sample_invoice("999.00"), "one.pdf")
    second = make_item(db_session, sample_invoice("999.00", "A-2"), "two.pdf")
    clerk = make_user(db_session, "cleo", "clerk", "1000")
    with pytest.raises(ApprovalRefused, match="needs a reason"):
        approvals.reject(db_session, first.id, user=clerk, expected_version=first.version,
                         reason=" ", matrix=MATRIX)
    bea = make_user(db_session, "bea", "clerk", "200")  # QA: she could reject what she
    with pytest.raises(ApprovalRefused, match="above bea's approval limit"):  # cannot approve
        approvals.reject(db_session, first.id, user=bea, expected_version=first.version,
                         reason="not ours", matrix=MATRIX)
    db_session.rollback()
    approvals.reject(db_session, first.id, user=clerk, expected_version=first.version,
                     reason="not our order", matrix=MATRIX)
    approvals.escalate(db_session, second.id, user=clerk, expected_version=second.version,
                       matrix=MATRIX)
    db_session.commit()
    assert db_session.get_one(Document, first.document_id).status == "rejected"
    assert [e.after["reason"] for e in _events(db_session, "review.reject") if e.after] == [
        "not our order"]
    assert second.assigned_role == "manager"
    assert approvals.effective_role(db_session, second, MATRIX) == "manager"
    with pytest.raises(ApprovalRefused, match="needs a manager"):
        approvals.approve(db_session, second.id, user=clerk, expected_version=second.version,
                          matrix=MATRIX)
    db_session.rollback()
    assert [e.action for e in approvals.history(db_session, second.id)] == ["review.escalate"]
    assert verify_chain(db_session) is None


def test_users_passwords_and_sessions(db_session: Session) -> None:
    user = make_user(db_session, "cleo", "clerk", "1000")
    assert user.password_hash.startswith("scrypt$") and "password-cleo" not in user.password_hash
    assert users.authenticate(db_session, "cleo", "password-cleo") == user
    assert users.authenticate(db_session, "cleo", "wrong-password") is None
    assert users.authenticate(db_session, "nobody", "password-cleo") is None
    token = users.open_session(db_session, user)
    logged = users.session_user(db_session, token)
    assert logged is not None and logged.user == user and len(logged.csrf_token) > 20
    users.close_session(db_session, token)
    assert users.session_user(db_session, token) is None
    with pytest.raises(users.UserError, match="unknown role"):
        users.add_user(db_session, "x", "long-enough", "boss", None)
    with pytest.raises(users.UserError, match="too short"):
        users.add_user(db_session, "x", "short", "clerk", None)


def test_the_documented_matrix_example_reads_as_documented() -> None:
    """QA: the docstring's TOML put `currency` after [reason_roles], where TOML files it
    under that table ("unknown role 'EUR'")."""
    import tomllib

    from models import approval_matrix

    doc = (approval_matrix.__doc__ or "").splitlines()
    example = tomllib.loads("\n".join(line[4:] for line in doc if line.startswith("    ")))
    matrix = ApprovalMatrix.from_dict(example)
    assert (matrix.currency, matrix.rates["USD"], matrix.bands[-1].role) == (
        "EUR", D("0.92"), "finance_lead")
