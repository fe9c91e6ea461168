"""A hold is a payment block: while an item is on hold nobody approves or rejects it.

In accounts-payable practice a hold means "waiting for something (a credit note, the
supplier's answer); do not decide yet". Before, the hold was only a label: anyone with the
role and the limit could still approve or reject a held item. Now both are refused with the
holder and the hold's note, whoever asks (the holder too, a finance lead too), in the model,
on the web (403, the item page saying why) and in a browser (the buttons disabled, the hold
shown); releasing the hold, by the role the item needs, lets the decision through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import test_web_browser
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_approvals import make_item, make_user, sample_invoice
from test_web_browser import login as browser_login
from test_webapp import csrf_of, items_by_source, login

from arflow.settings import Settings, load_settings
from models import approvals
from models.approvals import ApprovalMatrix, ApprovalRefused
from models.db import Document, ReviewApproval, ReviewItem, ReviewStatus
from models.review import decide_review
from webapp.app import create_app

Loader = Callable[[Session], None]
MATRIX = ApprovalMatrix()
browser = test_web_browser.browser
browser_page = test_web_browser.page
browser_server = test_web_browser.server


def _actions(session: Session, item_id: int) -> list[str]:
    return [e.action for e in approvals.history(session, item_id)]


def _signatures(session: Session, item_id: int) -> int:
    return session.scalar(select(func.count()).select_from(ReviewApproval).where(
        ReviewApproval.review_item_id == item_id)) or 0


def test_a_held_item_is_neither_approved_nor_rejected_until_released(
    db_session: Session, load_master: Loader,
) -> None:
    """Max (manager, limit 10,000) holds a 999.00 item to ask the supplier. Nobody who could
    otherwise decide it may approve or reject it meanwhile: not Max himself, not Cleo (a
    clerk within her limit), not Fay (a finance lead without a limit). Each refusal names
    the holder and the note, changes nothing and leaves no audit event; released, it is
    approved as before."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00", "HOLD-1"))
    cleo = make_user(db_session, "cleo", "clerk", "1000")
    max_ = make_user(db_session, "max", "manager", "10000")
    fay = make_user(db_session, "fay", "finance_lead", None)
    approvals.hold(db_session, item.id, user=max_, expected_version=item.version,
                   matrix=MATRIX, note="waiting for the credit note")
    db_session.commit()
    held_version = item.version
    hold = approvals.current_hold(db_session, item)
    assert hold is not None and (hold.actor, hold.note) == ("max", "waiting for the credit note")
    for user in (cleo, max_, fay):
        with pytest.raises(ApprovalRefused, match=r"is on hold \(held by max: waiting for "
                                                  r"the credit note\); release the hold"):
            approvals.approve(db_session, item.id, user=user, expected_version=held_version,
                              matrix=MATRIX)
        db_session.rollback()
        with pytest.raises(ApprovalRefused, match=r"is on hold .*release the hold"):
            approvals.reject(db_session, item.id, user=user, expected_version=held_version,
                             reason="not ours", matrix=MATRIX)
        db_session.rollback()
        with pytest.raises(ApprovalRefused, match="is on hold"):
            approvals.check_can_approve(db_session, item, user, MATRIX)
    db_session.expire_all()
    item = db_session.get_one(ReviewItem, item.id)
    assert (item.status, item.version) == (ReviewStatus.ON_HOLD, held_version)
    assert db_session.get_one(Document, item.document_id).status == "needs_review"
    assert _signatures(db_session, item.id) == 0
    assert _actions(db_session, item.id) == ["review.hold"]

    approvals.release(db_session, item.id, user=cleo, expected_version=held_version,
                      matrix=MATRIX, note="credit note received")
    db_session.commit()
    assert approvals.current_hold(db_session, item) is None
    approvals.approve(db_session, item.id, user=cleo, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.APPROVED
    assert _actions(db_session, item.id) == ["review.hold", "review.release", "review.approve"]


def test_a_hold_between_two_signatures_stops_the_second_and_a_rejection(
    db_session: Session, load_master: Loader,
) -> None:
    """Above 10,000 two finance leads sign. After the first signature Fay holds the item:
    Gil may neither add the second signature nor reject it; a hold put on again after a
    release stops them again; once released, Gil's signature approves it."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("20000.00", "HOLD-2"))
    fay = make_user(db_session, "fay", "finance_lead", None)
    gil = make_user(db_session, "gil", "finance_lead", None)
    approvals.approve(db_session, item.id, user=fay, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.OPEN and _signatures(db_session, item.id) == 1
    approvals.hold(db_session, item.id, user=fay, expected_version=item.version,
                   matrix=MATRIX)  # no note: the refusal still names the holder
    db_session.commit()
    with pytest.raises(ApprovalRefused, match=r"is on hold \(held by fay\)"):
        approvals.approve(db_session, item.id, user=gil, expected_version=item.version,
                          matrix=MATRIX)
    db_session.rollback()
    approvals.release(db_session, item.id, user=gil, expected_version=item.version,
                      matrix=MATRIX)
    approvals.hold(db_session, item.id, user=gil, expected_version=item.version,
                   matrix=MATRIX, note="second look")
    db_session.commit()
    with pytest.raises(ApprovalRefused, match=r"held by gil: second look"):
        approvals.reject(db_session, item.id, user=fay, expected_version=item.version,
                         reason="wrong", matrix=MATRIX)
    db_session.rollback()
    assert _signatures(db_session, item.id) == 1
    approvals.release(db_session, item.id, user=fay, expected_version=item.version,
                      matrix=MATRIX)
    approvals.approve(db_session, item.id, user=gil, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.APPROVED and _signatures(db_session, item.id) == 2


def test_the_low_level_decision_does_not_approve_or_reject_a_held_item(
    db_session: Session, load_master: Loader,
) -> None:
    """`models.review.decide_review` (no roles, only the version) refuses too."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00", "HOLD-3"))
    max_ = make_user(db_session, "max", "manager", "10000")
    approvals.hold(db_session, item.id, user=max_, expected_version=item.version,
                   matrix=MATRIX)
    db_session.commit()
    for status in (ReviewStatus.APPROVED, ReviewStatus.REJECTED):
        with pytest.raises(ApprovalRefused, match="is on hold"):
            decide_review(db_session, item.id, status=status, expected_version=item.version,
                          actor="ana")
        db_session.rollback()
    decide_review(db_session, item.id, status=ReviewStatus.OPEN,
                  expected_version=item.version, actor="ana")
    decide_review(db_session, item.id, status=ReviewStatus.APPROVED,
                  expected_version=item.version, actor="ana")
    db_session.commit()
    assert db_session.get_one(Document, item.document_id).status == "approved"


# on the web, SQLite and PostgreSQL ---------------------------------------------------------

@pytest.fixture
def web(engine: Engine, db_url: str, tmp_path: Path,
        load_master: Loader) -> Iterator[tuple[TestClient, int]]:
    """The web app on the test's database, with a 999.00 item and its users."""
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        item = make_item(session, sample_invoice("999.00", "WEB-HOLD"))
        for name, role, limit in (("cleo", "clerk", "1000"), ("max", "manager", "10000"),
                                  ("bea", "clerk", "200")):
            make_user(session, name, role, limit)
    settings = replace(load_settings({"ARFLOW_HOME": str(tmp_path / "home")}),
                       database_url=db_url)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client, item.id


def _post(client: TestClient, item_id: int, action: str, note: str = "") -> tuple[int, str]:
    page = client.get(f"/items/{item_id}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    response = client.post(f"/items/{item_id}/decide", data={
        "action": action, "version": version.group(1), "csrf": csrf_of(page), "note": note})
    if response.status_code == 303:
        return 303, client.get(response.headers["location"]).text
    return response.status_code, response.text


def test_the_web_refuses_to_decide_a_held_item_and_says_why(
    web: tuple[TestClient, int],
) -> None:
    client, item_id = web
    login(client, "max")
    status, page = _post(client, item_id, "hold", "asking <b>the supplier</b>")
    assert status == 303 and '<dd id="status">on_hold</dd>' in page
    notice = re.search(r'<p class="flash warn" id="hold">(.*?)</p>', page, re.S)
    assert notice is not None, page[:2000]
    assert "max" in notice.group(1) and "asking &lt;b&gt;the supplier&lt;/b&gt;" in notice.group(1)
    assert re.search(r'<button name="action" value="approve" class="approve" disabled', page)
    assert re.search(r'<button name="action" value="reject" class="reject" disabled', page)
    assert 'value="release"' in page
    login(client, "cleo")  # a clerk within her limit: would sign an open item
    for action in ("approve", "reject"):
        status, page = _post(client, item_id, action, "not ours")
        assert status == 403, page[:500]
        assert "is on hold (held by max: asking &lt;b&gt;the supplier&lt;/b&gt;); release " \
               "the hold" in page
        assert '<dd id="status">on_hold</dd>' in page
    login(client, "bea")  # her limit is too low to sign, not to see why it waits
    page = client.get(f"/items/{item_id}").text
    assert 'id="hold"' in page and 'value="release"' in page
    login(client, "cleo")
    status, page = _post(client, item_id, "release", "supplier answered")
    assert status == 303 and "The hold is released." in page and 'id="hold"' not in page
    assert not re.search(r'value="approve"[^>]*disabled', page)
    status, page = _post(client, item_id, "approve")
    assert status == 303 and '<dd id="status">approved</dd>' in page
    history = page.split("<h2>History</h2>")[1]
    assert [a for a in re.findall(r"<td>(review\.\w+)</td>", history)] == [
        "review.hold", "review.release", "review.approve"]


# in a browser -------------------------------------------------------------------------------

def test_in_a_browser_a_held_item_shows_its_hold_and_cannot_be_approved(
    browser_page: Page, browser_server: tuple[str, Settings],
) -> None:
    base, settings = browser_server
    item_id = items_by_source(settings)["010_ferreteria_hermanos.pdf"][0]
    browser_login(browser_page, base, "fiona")
    browser_page.goto(f"{base}/items/{item_id}")
    browser_page.fill("form.decide [name=note]", "waiting for the delivery note")
    browser_page.click("form.decide button[value=hold]")
    expect(browser_page.locator("#status")).to_have_text("on_hold")
    expect(browser_page.locator("#hold")).to_contain_text("fiona")
    expect(browser_page.locator("#hold")).to_contain_text("waiting for the delivery note")
    expect(browser_page.locator("form.decide button[value=approve]")).to_be_disabled()
    expect(browser_page.locator("form.decide button[value=reject]")).to_be_disabled()
    browser_page.click("form.decide button[value=release]")
    expect(browser_page.locator("#message")).to_have_text("The hold is released.")
    expect(browser_page.locator("#hold")).to_have_count(0)
    expect(browser_page.locator("form.decide button[value=approve]")).to_be_enabled()


def test_escalating_a_held_item_keeps_the_hold(db_session: Session, load_master: Loader) -> None:
    """Before: escalating reopened a held item, lifting the block and dropping its note as a
    side effect. Now the item goes up still held; the higher role sees who holds it and why,
    and releases it to decide."""
    load_master(db_session)
    item = make_item(db_session, sample_invoice("999.00", "HOLD-ESC"))
    cleo = make_user(db_session, "cleo", "clerk", "1000")
    max_ = make_user(db_session, "max", "manager", "10000")
    approvals.hold(db_session, item.id, user=cleo, expected_version=item.version,
                   matrix=MATRIX, note="asking for the delivery note")
    approvals.escalate(db_session, item.id, user=cleo, expected_version=item.version,
                       matrix=MATRIX, note="over my head")
    db_session.commit()
    assert (item.status, item.assigned_role) == (ReviewStatus.ON_HOLD, "manager")
    hold = approvals.current_hold(db_session, item)
    assert hold is not None and (hold.actor, hold.note) == ("cleo", "asking for the delivery note")
    with pytest.raises(ApprovalRefused, match=r"on hold \(held by cleo"):
        approvals.approve(db_session, item.id, user=max_, expected_version=item.version,
                          matrix=MATRIX)
    db_session.rollback()
    approvals.release(db_session, item.id, user=max_, expected_version=item.version,
                      matrix=MATRIX, note="delivery note received")
    approvals.approve(db_session, item.id, user=max_, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert _actions(db_session, item.id) == [
        "review.hold", "review.escalate", "review.release", "review.approve"]
