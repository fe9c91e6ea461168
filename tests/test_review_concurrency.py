"""Simultaneous decisions on one review item, in real concurrent PostgreSQL sessions:
exactly one lands, every other one gets a clear REVIEW_CONFLICT, the audit log has one."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_approvals import make_item, make_user, sample_invoice

from arflow.db import session_scope
from arflow.errors import StorageError
from models import approvals
from models.approvals import ApprovalMatrix
from models.audit import verify_chain
from models.db import AuditEvent, ReviewApproval, ReviewItem, ReviewStatus, User

pytestmark = pytest.mark.postgres
Loader = Callable[[Session], None]
N = 8
MATRIX = ApprovalMatrix()


def _race(engine: Engine, item_id: int, version: int,
          decide: Callable[[Session, User, int], object]) -> list[str]:
    """Run one decision per approver at the same moment; 'ok' or the error code each."""
    barrier, outcomes = threading.Barrier(N), [""] * N

    def worker(index: int) -> None:
        try:
            with session_scope(engine) as session:
                user = session.scalars(select(User).where(User.name == f"lead{index}")).one()
                session.get_one(ReviewItem, item_id)  # read what the reviewer saw
                barrier.wait(timeout=30)
                decide(session, user, index)
            outcomes[index] = "ok"
        except StorageError as err:
            outcomes[index] = err.code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    _ = version
    return outcomes


def _prepare(engine: Engine, load_master: Loader) -> tuple[int, int]:
    with Session(engine, expire_on_commit=False) as session:
        load_master(session)
        item = make_item(session, sample_invoice("999.00"))
        for index in range(N):
            make_user(session, f"lead{index}", "finance_lead", None)
        return item.id, item.version


def _count(engine: Engine, query: object) -> int:
    with Session(engine) as session:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def test_parallel_approvals_exactly_one_lands(pg_engine: Engine, load_master: Loader) -> None:
    item_id, version = _prepare(pg_engine, load_master)
    outcomes = _race(pg_engine, item_id, version, lambda s, u, _i: approvals.approve(
        s, item_id, user=u, expected_version=version, matrix=MATRIX))
    assert sorted(outcomes) == ["REVIEW_CONFLICT"] * (N - 1) + ["ok"]
    decisions = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "review.approve")
    assert _count(pg_engine, decisions) == 1
    assert _count(pg_engine, select(func.count()).select_from(ReviewApproval)) == 1
    with Session(pg_engine) as session:
        item = session.get_one(ReviewItem, item_id)
        assert (item.status, item.version) == (ReviewStatus.APPROVED, version + 1)
        assert verify_chain(session) is None


def test_approve_against_reject_one_wins(pg_engine: Engine, load_master: Loader) -> None:
    item_id, version = _prepare(pg_engine, load_master)

    def decide(session: Session, user: User, index: int) -> object:
        if index % 2:
            return approvals.reject(session, item_id, user=user, expected_version=version,
                                    reason="race", matrix=MATRIX)
        return approvals.approve(session, item_id, user=user, expected_version=version,
                                 matrix=MATRIX)

    outcomes = _race(pg_engine, item_id, version, decide)
    assert outcomes.count("ok") == 1 and outcomes.count("REVIEW_CONFLICT") == N - 1
    decisions = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.in_(["review.approve", "review.reject"]))
    assert _count(pg_engine, decisions) == 1
