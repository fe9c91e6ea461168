"""QA of the approver workflow: who may hold, release and escalate an item, duplicates'
approvers, user-name and password rules on every path, the amount as received beside a
corrected one, and attacks on the web UI (stale forms, odd filters, untrusted text)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import test_web_browser
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_approvals import make_item, make_user, sample_invoice
from test_web_browser import login as browser_login
from test_web_browser import logout as browser_logout
from test_webapp import csrf_of, login, seed_demo

from arflow.db import make_engine, session_scope
from arflow.errors import ConfigError, StorageError
from arflow.reports_html import to_html
from arflow.settings import Settings, load_settings
from matching.engine import evaluate_batch
from matching.types import Candidate
from models import approvals, repo, users
from models.approvals import ApprovalMatrix, ApprovalRefused
from models.corrections import correct_field
from models.db import AuditEvent, ReviewItem, ReviewStatus, User
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, WordBox
from webapp.app import create_app
from webapp.queue import page_at

Loader = Callable[[Session], None]
D = Decimal
MATRIX = ApprovalMatrix()
ROOT = Path(__file__).resolve().parent.parent
# the browser tests' fixtures (chromium, a uvicorn server on a seeded demo, a page), by name
browser = test_web_browser.browser
browser_page = test_web_browser.page
browser_server = test_web_browser.server


# 1. holding, releasing and escalating need the role the item needs ------------------------

def test_a_clerk_may_not_hold_or_escalate_an_item_routed_above_them(
    db_session: Session, load_master: Loader,
) -> None:
    """QA: a clerk put an item routed to a finance lead on hold, and escalated a manager's
    item (which also reopens one a manager had put on hold)."""
    load_master(db_session)
    lead_item = make_item(db_session, sample_invoice("20000.00"), "lead.pdf")
    manager_item = make_item(db_session, sample_invoice("5000.00", "A-2"), "manager.pdf")
    cleo = make_user(db_session, "cleo", "clerk", "1000")
    for item in (lead_item, manager_item):
        with pytest.raises(ApprovalRefused, match=r"cleo \(clerk\) may not hold"):
            approvals.hold(db_session, item.id, user=cleo, expected_version=item.version,
                           matrix=MATRIX)
        db_session.rollback()
        with pytest.raises(ApprovalRefused, match=r"cleo \(clerk\) may not escalate"):
            approvals.escalate(db_session, item.id, user=cleo, expected_version=item.version,
                               matrix=MATRIX)
        db_session.rollback()
    assert {lead_item.status, manager_item.status} == {ReviewStatus.OPEN}
    assert manager_item.assigned_role is None
    assert db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity == "review_item")).all() == []


def test_holding_releasing_and_escalating_need_the_role_not_the_limit(
    db_session: Session, load_master: Loader,
) -> None:
    """A manager whose limit is below the amount cannot sign, and is exactly who passes the
    item up or holds it to ask the supplier; a hold is released by someone of the role the
    item needs, not by a clerk escalating it."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("5000.00"))
    low = make_user(db_session, "lou", "manager", "2000")
    cleo = make_user(db_session, "cleo", "clerk", None)
    approvals.hold(db_session, item.id, user=low, expected_version=item.version,
                   matrix=MATRIX, note="asking the supplier")
    db_session.commit()
    assert item.status == ReviewStatus.ON_HOLD
    with pytest.raises(ApprovalRefused, match="may not release"):
        approvals.release(db_session, item.id, user=cleo, expected_version=item.version,
                          matrix=MATRIX)
    db_session.rollback()
    with pytest.raises(ApprovalRefused, match="may not escalate"):  # would reopen it
        approvals.escalate(db_session, item.id, user=cleo, expected_version=item.version,
                           matrix=MATRIX)
    db_session.rollback()
    approvals.release(db_session, item.id, user=low, expected_version=item.version,
                      matrix=MATRIX, note="supplier confirmed")
    db_session.commit()
    assert item.status == ReviewStatus.OPEN
    with pytest.raises(ApprovalRefused, match="is open, not on hold"):
        approvals.release(db_session, item.id, user=low, expected_version=item.version,
                          matrix=MATRIX)
    db_session.rollback()
    seen = item.version
    approvals.escalate(db_session, item.id, user=low, expected_version=seen, matrix=MATRIX)
    db_session.commit()
    assert item.assigned_role == "finance_lead"
    assert item.version == seen + 1  # QA: two UPDATEs, two version steps, for one escalation
    actions = [e.action for e in approvals.history(db_session, item.id)]
    assert actions == ["review.hold", "review.release", "review.escalate"]


def test_a_decided_item_takes_no_further_action(db_session: Session,
                                                load_master: Loader) -> None:
    """Approved: nobody approves, rejects, holds, releases, escalates or corrects it again,
    whatever their role, with the item's current version (not a stale form's)."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00", "DONE-1"))
    fay = make_user(db_session, "fay", "finance_lead", None)
    approvals.approve(db_session, item.id, user=fay, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    attempts: list[Callable[[], object]] = [
        lambda: approvals.approve(db_session, item.id, user=fay,
                                  expected_version=item.version, matrix=MATRIX),
        lambda: approvals.reject(db_session, item.id, user=fay, expected_version=item.version,
                                 reason="late", matrix=MATRIX),
        lambda: approvals.hold(db_session, item.id, user=fay, expected_version=item.version,
                               matrix=MATRIX),
        lambda: approvals.release(db_session, item.id, user=fay,
                                  expected_version=item.version, matrix=MATRIX),
        lambda: approvals.escalate(db_session, item.id, user=fay,
                                   expected_version=item.version, matrix=MATRIX),
        lambda: correct_field(db_session, item.id, user=fay, expected_version=item.version,
                              name="total", text="1"),
    ]
    for attempt in attempts:
        with pytest.raises(ApprovalRefused, match="approved"):
            attempt()
        db_session.rollback()
    assert [e.action for e in approvals.history(db_session, item.id)] == ["review.approve"]


def _demo_item(settings: Settings, invoice_total: str, number: str) -> tuple[int, int]:
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        item = make_item(session, sample_invoice(invoice_total, number), f"{number}.pdf")
    engine.dispose()
    return item.id, item.version


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return seed_demo(tmp_path_factory.mktemp("qa"))


@pytest.fixture
def client(demo: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(demo), follow_redirects=False) as test_client:
        yield test_client


def test_the_web_ui_says_why_a_clerk_may_not_hold_a_managers_item(
    client: TestClient, demo: Settings,
) -> None:
    item_id, version = _demo_item(demo, "5000.00", "QA-HOLD-1")
    login(client, "cleo")
    page = client.get(f"/items/{item_id}").text
    for action in ("hold", "escalate"):
        refused = client.post(f"/items/{item_id}/decide", data={
            "action": action, "version": str(version), "csrf": csrf_of(page)})
        assert refused.status_code == 403, refused.text[:500]
        assert f"cleo (clerk) may not {action} this item: it needs a manager" in refused.text
        assert '<dd id="status">open</dd>' in refused.text
    login(client, "max")
    page = client.get(f"/items/{item_id}").text
    held = client.post(f"/items/{item_id}/decide", data={
        "action": "hold", "version": str(version), "csrf": csrf_of(page)})
    assert held.status_code == 303
    page = client.get(held.headers["location"]).text
    assert '<dd id="status">on_hold</dd>' in page and 'value="release"' in page
    released = client.post(f"/items/{item_id}/decide", data={
        "action": "release", "version": str(version + 1), "csrf": csrf_of(page)})
    assert released.status_code == 303 and released.headers["location"].endswith("=release")
    assert "The hold is released." in client.get(released.headers["location"]).text


# 2. duplicates keep their approvers after a correction ------------------------------------

def test_the_default_matrix_names_a_manager_for_duplicates() -> None:
    code = "DUPLICATE_INVOICE"
    assert approvals.required_role(MATRIX, D(5), [code]) == "manager"
    assert approvals.required_role(MATRIX, D(5), ["BANK_DETAILS_CHANGED", code]) == \
        "finance_lead"
    # a suspected duplicate is left to the band by default (same-day identical deliveries)
    assert approvals.required_role(MATRIX, D(5), ["SUSPECTED_DUPLICATE"]) == "clerk"


def _duplicate(session: Session) -> ReviewItem:
    make_item(session, sample_invoice("999.00", "DUP-1"), "original.pdf")
    copy = make_item(session, sample_invoice("999.00", "DUP-1"), "copy.pdf")
    assert "DUPLICATE_INVOICE" in approvals.reason_codes(copy)
    return copy


def test_a_duplicate_corrected_to_another_number_still_needs_its_role(
    db_session: Session, load_master: Loader,
) -> None:
    """QA: a clerk changed the copy's number, DUPLICATE_INVOICE went, and another clerk
    approved the copy: the invoice would have been paid twice."""
    load_master(db_session)
    copy = _duplicate(db_session)
    cleo, carl = (make_user(db_session, n, "clerk", "1000") for n in ("cleo", "carl"))
    correct_field(db_session, copy.id, user=cleo, expected_version=copy.version,
                  name="invoice_number", text="DUP-1-B")
    db_session.commit()
    assert "DUPLICATE_INVOICE" not in approvals.reason_codes(copy)
    assert approvals.effective_role(db_session, copy, MATRIX) == "manager"
    with pytest.raises(ApprovalRefused, match="it needs a manager"):
        approvals.approve(db_session, copy.id, user=carl, expected_version=copy.version,
                          matrix=MATRIX)
    db_session.rollback()
    max_ = make_user(db_session, "max", "manager", "10000")
    approvals.approve(db_session, copy.id, user=max_, expected_version=copy.version,
                      matrix=MATRIX)
    db_session.commit()
    assert copy.status == ReviewStatus.APPROVED


def test_a_matrix_may_ask_two_approvers_for_a_reason_even_after_a_correction(
    db_session: Session, load_master: Loader, tmp_path: Path,
) -> None:
    path = tmp_path / "matrix.toml"
    path.write_text('two_approvers_for = ["DUPLICATE_INVOICE"]\n'
                    '[[bands]]\nrole = "clerk"\n'
                    '[reason_roles]\nDUPLICATE_INVOICE = "manager"\n')
    matrix = approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(path)})
    assert matrix.two_approvers_for == frozenset({"DUPLICATE_INVOICE"})
    load_master(db_session)
    copy = _duplicate(db_session)
    cleo = make_user(db_session, "cleo", "clerk", None)
    mia, max_ = (make_user(db_session, n, "manager", None) for n in ("mia", "max"))
    correct_field(db_session, copy.id, user=cleo, expected_version=copy.version,
                  name="invoice_number", text="DUP-1-B")
    db_session.commit()
    approvals.approve(db_session, copy.id, user=mia, expected_version=copy.version,
                      matrix=matrix)
    db_session.commit()
    assert copy.status == ReviewStatus.OPEN  # one more, different approver
    approvals.approve(db_session, copy.id, user=max_, expected_version=copy.version,
                      matrix=matrix)
    db_session.commit()
    assert copy.status == ReviewStatus.APPROVED
    path.write_text('two_approvers_for = ["DUPLICATE_INVOCE"]\n[[bands]]\nrole = "clerk"\n')
    with pytest.raises(ConfigError, match="unknown reason code 'DUPLICATE_INVOCE'"):
        approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(path)})
    path.write_text('[[bands]]\nrole = "clerk"\n[reason_roles]\nDUPLICATE = "manager"\n')
    with pytest.raises(ConfigError, match="unknown reason code 'DUPLICATE'"):
        approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(path)})


def test_a_suspected_duplicate_keeps_the_role_a_matrix_names_for_it_after_a_correction(
    db_session: Session, load_master: Loader,
) -> None:
    """Same seller, amount and day, another number: corrected to another day, the finding
    goes, and the role the matrix names for it still decides who approves."""
    matrix = replace(MATRIX, reason_roles={**MATRIX.reason_roles,
                                           "SUSPECTED_DUPLICATE": "manager"})
    load_master(db_session)
    make_item(db_session, sample_invoice("999.00", "S-1"), "first.pdf")
    second = make_item(db_session, sample_invoice("999.00", "S-2"), "second.pdf")
    assert "SUSPECTED_DUPLICATE" in approvals.reason_codes(second)
    cleo, carl = (make_user(db_session, n, "clerk", "1000") for n in ("cleo", "carl"))
    correct_field(db_session, second.id, user=cleo, expected_version=second.version,
                  name="issue_date", text="2026-10-21")
    db_session.commit()
    assert "SUSPECTED_DUPLICATE" not in approvals.reason_codes(second)
    with pytest.raises(ApprovalRefused, match="it needs a manager"):
        approvals.approve(db_session, second.id, user=carl, expected_version=second.version,
                          matrix=matrix)


def test_the_shipped_matrix_file_is_the_default() -> None:
    """data/approval-matrix.toml writes the defaults out (a starting point to edit)."""
    shipped = ROOT / "data" / "approval-matrix.toml"
    assert approvals.load_matrix({"ARFLOW_APPROVAL_MATRIX": str(shipped)}) == MATRIX


# 3. user-name and password rules on every path --------------------------------------------

@pytest.mark.parametrize("name", ["bad name/<script>", "x" * 65, "", "_lead", "a\nb"])
def test_user_names_are_checked_in_the_model(db_session: Session, name: str) -> None:
    with pytest.raises(users.UserError, match="letters, digits"):
        users.add_user(db_session, name, "long-enough-password", "clerk", None)


def test_passwords_are_capped_in_the_model(db_session: Session) -> None:
    with pytest.raises(users.UserError, match="at most 1024 characters"):
        users.add_user(db_session, "ana", "a" * 1025, "clerk", None)
    user = users.add_user(db_session, "ana", "a" * 1024, "clerk", None)
    with pytest.raises(users.UserError, match="at most 1024 characters"):
        users.change_password(db_session, user, "a" * 1024, "b" * 1025, keep=None)


def test_the_web_password_change_refuses_a_huge_password(client: TestClient,
                                                           demo: Settings) -> None:
    engine = make_engine(demo.database_url)
    with session_scope(engine) as session:
        users.add_user(session, "pat", "password-pat", "clerk", None)
    login(client, "pat")
    token = csrf_of(client.get("/account").text)
    huge = "p" * 1_000_000
    started = time.monotonic()
    response = client.post("/account/password", data={
        "csrf": token, "current": "password-pat", "new": huge, "again": huge})
    assert response.status_code == 400, response.text[:300]
    assert "too long" in response.text and "at most 1024 characters" in response.text
    assert huge[:2000] not in response.text
    assert time.monotonic() - started < 5
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(User.name == "pat")).one()
        assert users.verify_password("password-pat", user.password_hash)
    engine.dispose()


# 4. the amount as received beside a corrected one -----------------------------------------

def test_the_item_page_shows_the_received_and_the_corrected_amount(
    client: TestClient, demo: Settings,
) -> None:
    item_id, version = _demo_item(demo, "4392.72", "QA-AMOUNT-1")
    login(client, "cleo")
    page = client.get(f"/items/{item_id}").text
    assert 'id="received"' not in page  # nothing corrected yet
    done = client.post(f"/items/{item_id}/correct", data={
        "field": "total", "value": "166,18", "version": str(version), "csrf": csrf_of(page)})
    assert done.status_code == 303, done.text[:500]
    page = client.get(done.headers["location"]).text
    amount = re.search(r"<dt>Amount</dt><dd>(.*?)</dd>", page, re.S)
    assert amount is not None
    assert amount.group(1).startswith("166.18 EUR")
    received = re.search(r'<small id="received">(.*?)</small>', amount.group(1), re.S)
    assert received is not None
    assert received.group(1).startswith("(as received: 4,392.72 EUR;")
    assert "<dt>Needs</dt><dd>manager</dd>" in page  # the higher amount decides



# 5. attacks: odd values in addresses, filters and forms -----------------------------------

@pytest.fixture
def app_on(engine: Engine, load_master: Loader, db_url: str,
           tmp_path: Path) -> Iterator[tuple[TestClient, ReviewItem]]:
    """The web app on SQLite or PostgreSQL with one open item of a manager's (4,392.72) and
    the demo's users; logged in as the finance lead."""
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        item = make_item(session, sample_invoice("4392.72", "ODD-1"), "odd.pdf")
        for name, role in (("fiona", "finance_lead"), ("cleo", "clerk")):
            users.add_user(session, name, f"password-{name}", role, None)
        session.commit()
    settings = replace(load_settings({"ARFLOW_HOME": str(tmp_path / "home")}),
                       database_url=db_url)
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        login(test_client, "fiona")
        yield test_client, item


HUGE = "9" * 5000  # more digits than int() reads (Python's limit is 4,300)


def test_odd_values_in_addresses_and_filters_are_pages_not_server_errors(
    app_on: tuple[TestClient, ReviewItem],
) -> None:
    """QA: a page number of 5,000 digits was a 500 on every paged list (int() refuses more
    than 4,300 digits); a NUL character in a filter was a 500 on PostgreSQL (its text cannot
    hold one), as was a NUL in the user name at login."""
    client, _ = app_on
    for path in (f"/queue?page={HUGE}", f"/documents?page={HUGE}", f"/audit?page={HUGE}",
                 f"/suppliers?page={HUGE}", "/queue?counterparty=%00", "/queue?reason=a%00",
                 "/documents?seller=%00&file=%00&number=%00", "/suppliers?text=%00",
                 "/audit?actor=%00&action=%00&entity=%00&entity_id=%00"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
    assert page_at(120, HUGE, 50) == (3, 3, 100)  # past the last page: the last page
    assert page_at(120, "x", 50) == page_at(120, "٣", 50) == (1, 3, 0)
    assert 'name="counterparty" value=""' in client.get("/queue?counterparty=%00").text
    token = csrf_of(client.get("/login").text)
    refused = client.post("/login", data={"username": "fiona\x00", "password": "x" * 9,
                                          "csrf": token})
    assert refused.status_code == 303 and refused.headers["location"] == "/login?error=1"


def test_text_the_database_cannot_hold_is_refused_plainly(
    app_on: tuple[TestClient, ReviewItem],
) -> None:
    """QA: on PostgreSQL a note or a corrected field holding a NUL character, or a corrected
    seller name longer than its column, came back as "database error at postgresql+psycopg://
    …" (the server's address, to an approver); a note had no length cap on the server (the
    page's maxlength is the browser's); a line number of 5,000 digits was a 500."""
    client, item = app_on
    token = csrf_of(client.get(f"/items/{item.id}").text)
    version = str(item.version)
    posts = [
        ("decide", {"action": "hold", "note": "call\x00them"}, "control character"),
        ("decide", {"action": "reject", "note": "n" * 501}, "at most 500 characters"),
        ("correct", {"field": "seller.name", "value": "Acme\x00"}, "control character"),
        ("correct", {"field": "seller.name", "value": "A" * 513},
         "at most 512 characters"),
        ("correct", {"field": "invoice_number", "value": "1" * 65}, "at most 64 characters"),
        ("correct", {"field": f"lines[{HUGE}].amount", "value": "1"}, "cannot be corrected"),
        ("bank-details", {"confirmation": "called\x00"}, "control character"),
    ]
    for action, data, said in posts:
        response = client.post(f"/items/{item.id}/{action}",
                               data={**data, "version": version, "csrf": token})
        assert response.status_code == 403, (data, response.status_code, response.text[:300])
        message = re.search(r'id="message">(.*?)</p>', response.text, re.S)
        assert message is not None and said in message.group(1), (data, message)
        assert "postgresql" not in response.text and "sqlite" not in response.text
    page = client.get(f"/items/{item.id}").text
    assert '<dd id="status">open</dd>' in page and "No actions yet." in page


def test_a_database_failure_is_shown_without_the_database_address(
    app_on: tuple[TestClient, ReviewItem], monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, item = app_on

    def fail(*_args: object, **_kwargs: object) -> None:
        raise StorageError("database error at postgresql+psycopg://arflow@db.internal/ar: "
                           "boom", code="DB_ERROR")

    monkeypatch.setattr(approvals, "hold", fail)
    token = csrf_of(client.get(f"/items/{item.id}").text)
    response = client.post(f"/items/{item.id}/decide", data={
        "action": "hold", "version": str(item.version), "csrf": token})
    assert response.status_code == 503
    assert "db.internal" not in response.text and "DB_ERROR" in response.text
    assert "nothing was changed" in response.text


# 6. attacks: untrusted invoice text on every page that shows it ---------------------------

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(2)>'


def _hostile_item(session: Session) -> ReviewItem:
    """An invoice whose every text field is hostile, with a hostile evidence word, stored
    like a batch stores it, from a real PDF (so the item page draws its evidence boxes)."""
    invoice = sample_invoice("999.00", ATTRIBUTE[:60])
    invoice.seller.name, invoice.buyer.name = SCRIPT, ATTRIBUTE
    invoice.payment_terms, invoice.lines[0].description = ATTRIBUTE, SCRIPT
    pdf = ROOT / "data" / "invoices" / "001_ferreteria_hermanos.pdf"
    source = f"{SCRIPT}.pdf"
    result = ExtractionResult(source=source, status=ExtractionStatus.OK,
                              kind=DocumentKind.DIGITAL, invoice=invoice, pages=1,
                              evidence={"total": [WordBox(ATTRIBUTE, 400, 700, 450, 712)],
                                        "seller.name": [WordBox(SCRIPT, 40, 60, 200, 72)]})
    decision = evaluate_batch([Candidate(source, invoice)], repo.load_master_data(session))[0]
    document = repo.create_document(session, sha256="e" * 64, source_name=source,
                                    size_bytes=1, original_path=str(pdf))
    repo.save_extraction(session, document, result, decision)
    session.commit()
    return session.scalars(select(ReviewItem).where(
        ReviewItem.document_id == document.id)).one()


def test_hostile_invoice_text_is_escaped_on_every_page(client: TestClient,
                                                       demo: Settings) -> None:
    engine = make_engine(demo.database_url)
    with Session(engine, expire_on_commit=False) as session:
        item = _hostile_item(session)
        rows = repo.report_rows(session)
        report = to_html(session, rows)
    engine.dispose()
    login(client, "fiona")
    page = client.get(f"/items/{item.id}").text
    assert 'class="box' in page  # the evidence boxes (with the hostile words) are drawn
    token = csrf_of(page)
    corrected = client.post(f"/items/{item.id}/correct", data={  # the audit log shows it
        "field": "buyer.name", "value": SCRIPT, "version": str(item.version), "csrf": token})
    assert corrected.status_code == 303
    pages = {
        "item": client.get(f"/items/{item.id}").text,
        "queue": client.get("/queue", params={"counterparty": ATTRIBUTE}).text,
        "queue, all": client.get("/queue", params={"status": "all"}).text,
        "documents": client.get("/documents", params={"seller": SCRIPT[:20]}).text,
        "documents, by number": client.get("/documents", params={"number": ATTRIBUTE}).text,
        "audit": client.get("/audit").text,
        "dashboard": client.get("/dashboard").text,
        "report": report,
    }
    for name, html in pages.items():
        assert SCRIPT not in html and "<img src=x" not in html, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["item"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["audit"]
    assert "&#34;&gt;&lt;img src=x" in pages["queue"]  # the filter box shows what was typed
    assert "&lt;script&gt;" in pages["documents"] and "&lt;script&gt;" in pages["report"]


def test_a_request_body_larger_than_any_form_is_refused_before_it_is_read(
    client: TestClient,
) -> None:
    """QA: the login form (no session needed) read a body of any size into memory: Starlette
    caps one field at 1 MB, but not the number of fields times that (1,000 x 1 MB)."""
    fields = {f"f{i}": "x" * 900_000 for i in range(6)}  # 5.4 MB, each field under 1 MB
    declared = client.post("/login", data=fields)
    assert declared.status_code == 413, declared.text[:300]
    assert "too large" in declared.text
    chunks = (b"f=" + b"x" * 1_000_000 + b"&" for _ in range(6))  # no Content-Length
    streamed = client.post("/login", content=chunks,
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413, streamed.text[:300]
    assert client.get("/login").status_code == 200  # the server goes on


# 7. attacks: every kind of decision on one item at the same moment (PostgreSQL) ------------

@pytest.mark.postgres
def test_approve_reject_hold_and_escalate_at_once_one_lands(
    pg_engine: Engine, load_master: Loader,
) -> None:
    """Eight finance leads, each deciding the same item differently at the same moment:
    exactly one decision lands and is audited; the others are told the item changed."""
    with Session(pg_engine, expire_on_commit=False) as session:
        load_master(session)
        item = make_item(session, sample_invoice("999.00", "RACE-1"))
        leads = [make_user(session, f"lead{i}", "finance_lead", None).name for i in range(8)]
    decisions: list[Callable[[Session, User], object]] = [
        lambda s, u: approvals.approve(s, item.id, user=u, expected_version=item.version,
                                       matrix=MATRIX),
        lambda s, u: approvals.reject(s, item.id, user=u, expected_version=item.version,
                                      reason="race", matrix=MATRIX),
        lambda s, u: approvals.hold(s, item.id, user=u, expected_version=item.version,
                                    matrix=MATRIX),
        lambda s, u: approvals.escalate(s, item.id, user=u, expected_version=item.version,
                                        matrix=MATRIX),
    ] * 2
    barrier, outcomes = threading.Barrier(len(leads)), [""] * len(leads)

    def worker(index: int) -> None:
        try:
            with session_scope(pg_engine) as session:
                user = session.scalars(select(User).where(User.name == leads[index])).one()
                session.get_one(ReviewItem, item.id)
                barrier.wait(timeout=30)
                decisions[index](session, user)
            outcomes[index] = "ok"
        except StorageError as err:
            outcomes[index] = err.code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(leads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["REVIEW_CONFLICT"] * 7 + ["ok"]
    with Session(pg_engine) as session:
        events = session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity == "review_item")).all()
        assert len(events) == 1
        assert session.get_one(ReviewItem, item.id).version == item.version + 1, events


# 8. in a real browser: hostile text runs nowhere; holding and releasing by the buttons ----

def test_in_a_browser_hostile_text_runs_nowhere_and_a_hold_is_released(
    browser_page: Page, browser_server: tuple[str, Settings],
) -> None:
    base, settings = browser_server
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        hostile = _hostile_item(session)
        manager_item = make_item(session, sample_invoice("5000.00", "QA-B-1"), "qa-b-1.pdf")
    engine.dispose()
    dialogs: list[str] = []
    browser_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    browser_login(browser_page, base, "cleo")
    for path in (f"/items/{hostile.id}", "/queue?status=all", f"/documents?seller={SCRIPT}",
                 f"/queue?counterparty={ATTRIBUTE}"):
        browser_page.goto(base + path)
        expect(browser_page.locator("main")).to_be_visible()
    browser_page.goto(f"{base}/items/{manager_item.id}")  # a manager's: no hold for a clerk
    expect(browser_page.locator("#refusal")).to_contain_text("it needs a manager")
    expect(browser_page.locator("form.decide button[value=hold]")).to_have_count(0)
    expect(browser_page.locator("form.decide button[value=escalate]")).to_have_count(0)
    browser_logout(browser_page)
    browser_login(browser_page, base, "max")
    browser_page.goto(f"{base}/items/{manager_item.id}")
    browser_page.fill("form.decide [name=note]", "asking the supplier")
    browser_page.click("form.decide button[value=hold]")
    expect(browser_page.locator("#status")).to_have_text("on_hold")
    browser_page.click("form.decide button[value=release]")
    expect(browser_page.locator("#message")).to_have_text("The hold is released.")
    expect(browser_page.locator("#status")).to_have_text("open")
    expect(browser_page.locator("table.history")).to_contain_text("review.release")
    assert dialogs == []
