"""Login throttling: after `MAX_FAILURES` failed logins for one user name within `WINDOW`,
further attempts for that name are refused, without testing the password, until the oldest of
those failures leaves the window. Kept in the database, so every web process counts the same
failures; a successful login clears the name's count.

Throttling by user name (not by client address) stops password guessing from many addresses;
the price is that someone can hold a user out for `WINDOW` by failing on purpose, which the
page says plainly (an administrator can also clear it with `arflow users add`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models.db import LoginFailure
from models.types import utcnow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
_NAME_LENGTH = 128


def wait_before_login(session: Session, name: str,
                      now: datetime | None = None) -> timedelta | None:
    """How long `name` must wait before the next attempt, or None when it may try now."""
    now = now or utcnow()
    recent = session.scalars(
        select(LoginFailure.at)
        .where(LoginFailure.user_name == name[:_NAME_LENGTH], LoginFailure.at > now - WINDOW)
        .order_by(LoginFailure.at.desc()).limit(MAX_FAILURES)
    ).all()
    if len(recent) < MAX_FAILURES:
        return None
    return recent[-1] + WINDOW - now


def record_failure(session: Session, name: str, client: str | None,
                   now: datetime | None = None) -> None:
    """Count one failed attempt (and forget failures that left the window)."""
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))
    session.add(LoginFailure(user_name=name[:_NAME_LENGTH], client=(client or "")[:64] or None,
                             at=now))
    session.flush()


def clear_failures(session: Session, name: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.user_name == name[:_NAME_LENGTH]))
