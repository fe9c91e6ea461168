"""Managing who may log in: users added, changed, listed and deactivated, each change
audited (never the password); a deactivated user's browser sessions end at once, a reset
password ends the old ones (SQLite and PostgreSQL, and through the CLI)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arflow.cli import cli
from models.audit import verify_chain
from models.db import AuditEvent
from models.users import (
    UserError,
    add_user,
    attempt_login,
    deactivate_user,
    list_users,
    session_user,
)


def _events(session: Session) -> list[tuple[str, dict[str, object] | None]]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.entity == "user")
                           .order_by(AuditEvent.id))
    return [(e.action, e.after) for e in rows]


def test_changes_are_audited_and_sessions_end(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        add_user(session, "ana", "password-ana", "clerk", Decimal(1000), email="ana@x.example")
        session.commit()
        token = attempt_login(session, "ana", "password-ana", None).token
        assert token is not None and session_user(session, token) is not None
        add_user(session, "ana", "password-new", "finance_lead", None)  # promoted, reset
        session.commit()
        assert session_user(session, token) is None  # the old session ended with the reset
        token = attempt_login(session, "ana", "password-new", None).token
        deactivate_user(session, "ana", actor="root")
        session.commit()
        assert session_user(session, token) is None
        assert attempt_login(session, "ana", "password-new", None).token is None
        events = _events(session)
        assert [action for action, _ in events] == ["user.add", "user.update", "user.deactivate"]
        assert events[1][1] == {"name": "ana", "role": "finance_lead", "active": True,
                                "email": "ana@x.example", "limit": None, "password": "set"}
        assert all("hash" not in str(after) for _, after in events)
        assert [u.active for u in list_users(session)] == [False]
        with pytest.raises(UserError, match="no user named 'bob'"):
            deactivate_user(session, "bob")
        assert verify_chain(session) is None


def test_users_list_and_deactivate_on_the_command_line(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("ARFLOW_PASSWORD", "password-long-enough")
    runner = CliRunner()
    for name, role in (("max", "manager"), ("cleo", "clerk")):
        assert runner.invoke(cli, ["users", "add", name, "--role", role]).exit_code == 0
    done = runner.invoke(cli, ["users", "deactivate", "cleo"])
    assert done.exit_code == 0 and "cleo: deactivated" in done.output
    listed = runner.invoke(cli, ["users", "list"]).output.splitlines()
    assert [line.split()[0] for line in listed] == ["cleo", "max"]
    assert listed[0].endswith("DEACTIVATED") and listed[1].endswith("active")
    missing = runner.invoke(cli, ["users", "deactivate", "nobody"])
    assert isinstance(missing.exception, UserError) and missing.exception.exit_code == 2
