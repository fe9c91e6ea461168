"""Four eyes count the signatures of people who may still sign: the first of two signatures
lapses when its signer is deactivated, demoted or given a lower limit before the second
comes (someone who left, or whose authority was withdrawn). Before, the second approver
alone then approved the item on a signature nobody could give any more."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session
from test_approvals import MATRIX, make_item, make_user, sample_invoice

from models import approvals
from models.db import AuditEvent, ReviewStatus
from models.digest import Waiting, digests
from models.users import add_user, deactivate_user
from webapp.item import _signers

Loader = Callable[[Session], None]
AMOUNT = "20000.00"  # above the default matrix's two-approver threshold


def _last_approval(session: Session) -> dict[str, object]:
    event = session.query(AuditEvent).filter(AuditEvent.action == "review.approve").order_by(
        AuditEvent.id.desc()).first()
    assert event is not None and event.after is not None
    return event.after


@pytest.mark.parametrize("withdraw", ["deactivated", "demoted", "limit lowered"])
def test_a_first_signature_lapses_with_its_signers_authority(
    db_session: Session, load_master: Loader, withdraw: str,
) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice(AMOUNT))
    fay, fin, fred = (make_user(db_session, n, "finance_lead", None)
                      for n in ("fay", "fin", "fred"))
    approvals.approve(db_session, item.id, user=fay, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    if withdraw == "deactivated":
        deactivate_user(db_session, "fay")
    else:
        role = "clerk" if withdraw == "demoted" else "finance_lead"
        limit = None if withdraw == "demoted" else Decimal("5000")
        add_user(db_session, "fay", "password-fay", role, limit)
    db_session.commit()

    approvals.approve(db_session, item.id, user=fin, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.OPEN  # fay's signature no longer counts
    after = _last_approval(db_session)
    assert after["approvers"] == ["fin"] and "fay" in after["lapsed"]  # type: ignore[operator]
    shown = _signers(db_session, item, MATRIX)  # the item page's "Approved by"
    assert shown[0] == "fin" and shown[1].startswith("fay (no longer counts: ")

    approvals.approve(db_session, item.id, user=fred, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.APPROVED
    assert _last_approval(db_session)["approvers"] == ["fin", "fred"]
    assert approvals.approvers(db_session, item.id) == ["fay", "fin", "fred"]  # history kept


def test_a_signer_given_back_their_authority_counts_again(
    db_session: Session, load_master: Loader,
) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice(AMOUNT))
    fay, fin = (make_user(db_session, n, "finance_lead", None) for n in ("fay", "fin"))
    approvals.approve(db_session, item.id, user=fay, expected_version=item.version,
                      matrix=MATRIX)
    deactivate_user(db_session, "fay")
    add_user(db_session, "fay", "password-fay", "finance_lead", None)  # back, as before
    db_session.commit()
    approvals.approve(db_session, item.id, user=fin, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert item.status == ReviewStatus.APPROVED
    assert "lapsed" not in _last_approval(db_session)


def test_the_digest_lists_only_signatures_that_count(
    db_session: Session, load_master: Loader,
) -> None:
    load_master(db_session)
    item = make_item(db_session, sample_invoice(AMOUNT))
    fay = make_user(db_session, "fay", "finance_lead", None)
    make_user(db_session, "fin", "finance_lead", None)
    approvals.approve(db_session, item.id, user=fay, expected_version=item.version,
                      matrix=MATRIX)
    db_session.commit()
    assert _waiting_for(db_session, "fin").signed == ("fay",)
    deactivate_user(db_session, "fay")
    db_session.commit()
    assert _waiting_for(db_session, "fin").signed == ()  # two signatures still needed


def _waiting_for(session: Session, name: str) -> Waiting:
    found = [d for d in digests(session, MATRIX).per_user if d.user.name == name]
    assert len(found) == 1 and len(found[0].items) == 1
    return found[0].items[0]
