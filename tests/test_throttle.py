"""Login throttling in the database: the window, the count, the wait, and the reset."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from models.throttle import (
    MAX_FAILURES,
    WINDOW,
    clear_failures,
    record_failure,
    wait_before_login,
)
from models.types import utcnow
from models.users import add_user, attempt_login


def test_the_wait_starts_at_the_limit_and_ends_with_the_window(db_session: Session) -> None:
    start = utcnow()
    for minute in range(MAX_FAILURES - 1):
        record_failure(db_session, "ann", "10.0.0.1", now=start + timedelta(minutes=minute))
    assert wait_before_login(db_session, "ann", now=start + timedelta(minutes=5)) is None
    record_failure(db_session, "ann", "10.0.0.2", now=start + timedelta(minutes=5))
    # the oldest failure (minute 0) leaves the window at minute 15
    five, ten = start + timedelta(minutes=5), start + timedelta(minutes=10)
    assert wait_before_login(db_session, "ann", now=five) == timedelta(minutes=10)
    assert wait_before_login(db_session, "ann", now=ten) == timedelta(minutes=5)
    assert wait_before_login(db_session, "ann", now=start + WINDOW) is None
    assert wait_before_login(db_session, "bob", now=start + timedelta(minutes=5)) is None
    clear_failures(db_session, "ann")
    assert wait_before_login(db_session, "ann", now=start + timedelta(minutes=5)) is None


def test_a_throttled_name_is_refused_even_with_the_right_password(db_session: Session) -> None:
    add_user(db_session, "cid", "password-cid", "clerk", None)
    for _ in range(MAX_FAILURES):
        assert attempt_login(db_session, "cid", "wrong", "10.0.0.9").token is None
    refused = attempt_login(db_session, "cid", "password-cid", "10.0.0.9")
    assert refused.token is None and refused.wait is not None
    assert timedelta(minutes=14) < refused.wait <= WINDOW


def test_a_successful_login_clears_the_count(db_session: Session) -> None:
    add_user(db_session, "dee", "password-dee", "clerk", None)
    for _ in range(MAX_FAILURES - 1):
        attempt_login(db_session, "dee", "wrong", None)
    assert attempt_login(db_session, "dee", "password-dee", None).token is not None
    for _ in range(MAX_FAILURES - 1):
        attempt_login(db_session, "dee", "wrong", None)
    assert attempt_login(db_session, "dee", "password-dee", None).token is not None
