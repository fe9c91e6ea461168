"""Reading the audit log: what each event changed, filters (who, action or its prefix,
entity, day), newest first and paged in the database (SQLite and PostgreSQL), the Audit page
of the web UI and `arflow audit list`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_webapp import _tamper, login, seed_demo

from arflow.cli import cli
from arflow.db import make_engine
from arflow.settings import Settings
from models.audit import append_audit
from models.audit_log import (
    AuditQuery,
    Change,
    changes,
    count_events,
    last_check,
    load_events,
    verify_and_record,
)
from models.types import utcnow
from webapp.app import create_app


def test_an_event_shows_only_what_it_changed() -> None:
    assert changes({"iban": "ES91", "role": "clerk"}, {"iban": "GB82", "role": "clerk",
                                                       "source": "erp.csv"}) == (
        Change("iban", "ES91", "GB82"), Change("source", None, "erp.csv"))
    assert changes(None, {"documents": 3}) == (Change("documents", None, "3"),)
    # which field a correction set is shown, though it is the same before and after
    assert changes({"field": "currency", "value": "USD", "reasons": []},
                   {"field": "currency", "value": "EUR", "reasons": []}) == (
        Change("field", None, "currency"), Change("value", "USD", "EUR"))
    assert changes({"field": "total"}, {"field": "currency"}) == (
        Change("field", "total", "currency"),)
    assert changes({"status": "open"}, None) == (Change("status", "open", None),)
    long = changes(None, {"note": "x" * 500})[0].after
    assert long is not None and len(long) == 160 and long.endswith("…")


def _seed(session: Session) -> None:
    for i in range(7):
        append_audit(session, actor="ana" if i % 2 else "fi", action="review.approve",
                     entity="review_item", entity_id=i, before={"status": "open"},
                     after={"status": "approved"})
    append_audit(session, actor="fi", action="party.bank_details", entity="party",
                 entity_id=5, before={"iban": "ES91"}, after={"iban": "GB82"})
    append_audit(session, actor="import", action="party.bank_details", entity="party",
                 entity_id=5, before={"iban": "GB82"}, after={"iban": "ES91", "source": "a.csv"})
    session.commit()


def test_filters_order_and_paging(engine: Engine) -> None:
    with Session(engine) as session:
        _seed(session)
        everything = load_events(session, AuditQuery())
        assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
        assert count_events(session, AuditQuery()) == 9
        party = AuditQuery(entity="party", entity_id="5")
        assert [e.actor for e in load_events(session, party)] == ["import", "fi"]
        assert count_events(session, AuditQuery(action="review.")) == 7
        assert count_events(session, AuditQuery(action="review")) == 0  # exact unless "."
        assert count_events(session, AuditQuery(actor="ana")) == 3
        assert count_events(session, AuditQuery(action="party.bank_details", actor="fi")) == 1
        today = utcnow().date()
        assert count_events(session, AuditQuery(day_from=today, day_to=today)) == 9
        assert count_events(session, AuditQuery(day_to=today - timedelta(days=1))) == 0
        second = load_events(session, AuditQuery(action="review."), offset=5, limit=5)
        assert [e.entity_id for e in second] == ["1", "0"]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The web tests' demo database (a real batch, four users) with the events above."""
    settings = seed_demo(tmp_path_factory.mktemp("audit-web"))
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        _seed(session)
    engine.dispose()
    return settings


def test_the_audit_page_lists_and_filters_events(web: Settings) -> None:
    with TestClient(create_app(web), follow_redirects=False) as client:
        login(client, "fiona")
        page = client.get("/audit").text
        assert "never been verified on record" in page
        assert "was not verified on this view" in page and page.count('<tr id="event-') >= 9
        checked = client.get("/audit", params={"verify": "1"}).text
        assert "The audit chain verifies" in checked and "event(s) checked in" in checked
        party = client.get("/audit", params={"entity": "party", "entity_id": "5"}).text
        assert party.count('<tr id="event-') == 2 and "2 event(s)" in party
        assert "<del>GB82</del> → ES91" in party and "a.csv" in party
        review = client.get("/audit", params={"action": "review.approve", "actor": "ana"}).text
        assert review.count('<tr id="event-') == 3 and 'href="/items/5"' in review
        for odd in ({"day_to": "9999-12-31"}, {"page": "\u00b2"}, {"day_from": "31/12"}):
            assert client.get("/audit", params=odd).status_code == 200, odd
        none = client.get("/audit", params={"actor": "nobody-at-all"}).text
        assert "No event matches." in none and "0 event(s)" in none
        engine = make_engine(web.database_url)
        with Session(engine) as session:
            verify_and_record(session, "nightly")
            session.commit()
        assert "UTC by nightly: intact" in client.get("/audit").text
        _tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE id = 3")
        engine.dispose()
        broken = client.get("/audit", params={"verify": "1"}).text
        assert "The audit chain is broken at event 3" in broken
        login(client, "cleo")
        assert client.get("/audit", params={"actor": "fiona"}).status_code == 403


def test_audit_list_on_the_command_line(engine: Engine, db_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARFLOW_DATABASE_URL", db_url)
    with Session(engine) as session:
        _seed(session)
    runner = CliRunner()
    text = runner.invoke(cli, ["audit", "list", "--entity", "party"])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert len(lines) == 2 and "import" in lines[0] and "iban: GB82 -> ES91" in lines[0]
    out = runner.invoke(cli, ["audit", "list", "--action", "review.", "--limit", "2", "--json"])
    events = [json.loads(line) for line in out.output.splitlines()]
    assert [e["action"] for e in events] == ["review.approve"] * 2
    assert events[0]["changes"] == [{"key": "status", "before": "open", "after": "approved"}]
    recorded = runner.invoke(cli, ["audit", "verify", "--record"])
    assert recorded.exit_code == 0 and "intact: 9 event(s)" in recorded.output
    with Session(engine) as session:
        last = last_check(session)
        assert last is not None and (last.actor, last.events, last.broken) == ("cli", 9, None)
