"""The item page's "Next item" link: an approver works through the queue without going back to
it. The next item is the oldest open one (the queue's default order) other than the one shown,
that the viewer's role may take; held items wait for their release and are skipped."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_webapp import login, seed_demo

from arflow.db import make_engine, session_scope
from arflow.settings import Settings
from models import approvals
from models.db import ReviewItem, User
from webapp.app import create_app


@pytest.fixture
def demo(tmp_path: Path) -> Settings:
    return seed_demo(tmp_path / "home")


@pytest.fixture
def login_as(demo: Settings) -> Iterator[Callable[[str], TestClient]]:
    """Log a user in on a client of their own; all closed after the test."""
    with ExitStack() as stack:
        def client_of(user: str) -> TestClient:
            client = stack.enter_context(TestClient(create_app(demo), follow_redirects=False))
            login(client, user)
            return client
        yield client_of


def _open_items(settings: Settings) -> list[tuple[int, str]]:
    """(id, role the queue shows) of the open items, oldest first, as the queue lists them."""
    with TestClient(create_app(settings), follow_redirects=False) as client:
        login(client, "fiona")
        page = client.get("/queue?status=open&sort=age").text
    rows = re.findall(r'<td><a href="/items/(\d+)">\1</a></td>.*?<td>(clerk|manager|'
                      r'finance_lead)</td>\s*<td>(open|on_hold)</td>', page, re.S)
    return [(int(i), role) for i, role, status in rows if status == "open"]


def _next(client: TestClient, item_id: int) -> int | None:
    page = client.get(f"/items/{item_id}").text
    found = re.search(r'id="next-item" href="/items/(\d+)"', page)
    return int(found.group(1)) if found else None


def test_next_goes_through_the_open_items_oldest_first(
    demo: Settings, login_as: Callable[[str], TestClient],
) -> None:
    items = _open_items(demo)
    assert len(items) >= 3
    client = login_as("fiona")  # a finance lead may take every item
    ids = [i for i, _ in items]
    for current in ids:
        expected = next(i for i in ids if i != current)
        assert _next(client, current) == expected


def test_next_skips_items_above_the_viewers_role_and_held_ones(
    demo: Settings, login_as: Callable[[str], TestClient],
) -> None:
    """The demo's three items need a clerk, a manager and a finance lead, oldest first."""
    items = _open_items(demo)
    assert [role for _, role in items] == ["clerk", "manager", "finance_lead"]
    clerk_item, manager_item, lead_item = (i for i, _ in items)
    cleo, max_, fiona = (login_as(name) for name in ("cleo", "max", "fiona"))
    assert _next(cleo, lead_item) == clerk_item
    assert _next(cleo, clerk_item) is None  # nothing else a clerk may take: no link
    assert _next(max_, clerk_item) == manager_item
    engine = make_engine(demo.database_url)
    with session_scope(engine) as session:
        held = session.get_one(ReviewItem, manager_item)
        user = session.scalars(select(User).where(User.name == "max")).one()
        approvals.hold(session, held.id, user=user, expected_version=held.version,
                       note="asking the supplier")
    engine.dispose()
    assert _next(max_, clerk_item) is None
    assert _next(fiona, clerk_item) == lead_item
    page = fiona.get(f"/items/{manager_item}").text  # the held item itself still links on
    assert f'id="next-item" href="/items/{clerk_item}"' in page
