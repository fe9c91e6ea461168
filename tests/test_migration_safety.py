"""Migrations that fail say so, and SQLite's table rebuilds do not cascade.

* A migration that fails on a database arflow reached a moment ago is DB_MIGRATION with the
  failing SQL's message; before, `arflow db upgrade` said "cannot connect to database"
  (DB_UNAVAILABLE) for it.
* SQLite alters a table by copying it and dropping the old one (Alembic's batch mode); with
  foreign keys enforced, that DROP deleted the rows referring to it through ON DELETE
  CASCADE: downgrading 0013 and upgrading again emptied review_approvals. Migrations now run
  with SQLite's foreign keys off and check them once done (`migrations/env.py`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_approvals import MATRIX, make_item, make_user, sample_invoice

from arflow.db import alembic_config, make_engine, upgrade
from arflow.errors import StorageError
from models import approvals
from models.db import ReviewApproval

Loader = Callable[[Session], None]


def test_a_migration_that_fails_is_named_as_such(tmp_path: Path) -> None:
    """A database file that already has a `documents` table of someone else's."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT)")
    with pytest.raises(StorageError) as raised:
        upgrade(f"sqlite:///{path}")
    assert raised.value.code == "DB_MIGRATION"
    assert "already exists" in raised.value.message and "cannot connect" not in (
        raised.value.message)


def test_an_unreachable_database_is_still_unavailable() -> None:
    with pytest.raises(StorageError) as raised:
        upgrade("postgresql://arflow@127.0.0.1:1/arflow")  # nothing listens on port 1
    assert raised.value.code == "DB_UNAVAILABLE"


def test_sqlite_rebuilds_keep_the_rows_that_refer_to_the_table(
    tmp_path: Path, load_master: Loader,
) -> None:
    url = f"sqlite:///{tmp_path / 'arflow.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_master(session)
        item = make_item(session, sample_invoice("20000.00"))
        fay = make_user(session, "fay", "finance_lead", None)
        approvals.approve(session, item.id, user=fay, expected_version=item.version,
                          matrix=MATRIX)
        session.commit()
    engine.dispose()

    command.downgrade(alembic_config(url), "0012_audit_filters")  # rebuilds review_items
    upgrade(url)

    engine = make_engine(url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ReviewApproval)) == 1
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again
    engine.dispose()
