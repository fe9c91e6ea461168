"""A user changes their own password from the web UI: the current one is checked (a wrong
one counts as a failed login), the new one must be long enough and typed twice, the user's
other browser sessions end, the change is audited (HTTP, the demo data)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_webapp import csrf_of, login, seed_demo

from arflow.db import make_engine, session_scope
from arflow.settings import Settings
from models.db import AuditEvent, LoginFailure
from webapp.app import create_app


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return seed_demo(tmp_path_factory.mktemp("account"))


def _change(client: TestClient, current: str, new: str, again: str | None = None) -> str:
    token = csrf_of(client.get("/account").text)
    response = client.post("/account/password", data={
        "csrf": token, "current": current, "new": new, "again": again or new})
    return f"{response.status_code} {response.text}"


def test_a_user_changes_their_password_and_other_sessions_end(web: Settings) -> None:
    app = create_app(web)
    with TestClient(app, follow_redirects=False) as here, \
            TestClient(app, follow_redirects=False) as elsewhere:
        login(here, "carl")
        login(elsewhere, "carl")
        assert "Change your password" in here.get("/account").text
        assert _change(here, "wrong-password", "new-password-1").startswith("400")
        assert "the current password is wrong" in _change(here, "wrong", "new-password-1")
        assert "too short" in _change(here, "password-carl", "short")
        assert "differ" in _change(here, "password-carl", "new-password-1", "new-password-2")
        done = _change(here, "password-carl", "new-password-1")
        assert done.startswith("200") and "Your password is changed" in done
        assert here.get("/queue").status_code == 200  # this session stays
        assert elsewhere.get("/queue").status_code == 303  # the other one ended
    engine = make_engine(web.database_url)
    with session_scope(engine) as session:
        failures = session.scalars(select(LoginFailure)
                                   .where(LoginFailure.user_name == "carl")).all()
        assert len(failures) == 2  # the two wrong current passwords, though refused
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.password")).all()
        assert [(e.actor, e.after) for e in events] == [
            ("carl", {"password": "changed", "other_sessions": "ended"})]
    engine.dispose()
    with TestClient(create_app(web), follow_redirects=False) as client:
        login_form = csrf_of(client.get("/login").text)
        old = client.post("/login", data={"username": "carl", "password": "password-carl",
                                          "csrf": login_form, "next": "/queue"})
        assert old.headers["location"].startswith("/login?error")
        client.cookies.clear()
        token = csrf_of(client.get("/login").text)
        new = client.post("/login", data={"username": "carl", "password": "new-password-1",
                                          "csrf": token, "next": "/queue"})
        assert new.headers["location"] == "/queue"


def test_the_form_needs_login_and_its_csrf_token(web: Settings) -> None:
    with TestClient(create_app(web), follow_redirects=False) as client:
        assert client.get("/account").status_code == 303
        login(client, "max")
        refused = client.post("/account/password", data={
            "csrf": "forged", "current": "password-max", "new": "x" * 12, "again": "x" * 12})
        assert refused.status_code == 403
