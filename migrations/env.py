"""Alembic environment for arflow.

The URL comes from `config.attributes["url"]` (set by `arflow.db.upgrade`), else from arflow
settings (`ARFLOW_DATABASE_URL`, or SQLite under `ARFLOW_HOME`). A caller may also pass an open
connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from arflow.db import make_engine
from arflow.settings import load_settings
from models.db import Base

config = context.config
if config.config_file_name is not None and not config.attributes.get("url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata
PG_MIGRATION_LOCK = 0x617266  # advisory lock key: one migrator at a time on PostgreSQL


def _url() -> object:
    return config.attributes.get("url") or load_settings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # before any transaction: SQLite ignores this pragma inside one
        _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"))
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """SQLite alters a table by copying it to a new one and dropping the old (Alembic's batch
    mode); with foreign keys enforced, that DROP deletes every row referring to the old
    table through ON DELETE CASCADE (downgrading 0013 emptied review_approvals). So they are
    off while migrations run, and checked once they are done (`_check_foreign_keys`)."""
    if connection.in_transaction():
        connection.commit()
    # on the driver's connection: through SQLAlchemy the statement would first BEGIN
    # (`arflow.db` begins every transaction explicitly), and the pragma would do nothing
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left {len(broken)} row(s) referring to rows that "
                           f"do not exist, first: {tuple(broken[0])}")


def run_migrations_offline() -> None:
    context.configure(url=str(_url()), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), probe=False)  # type: ignore[arg-type]
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
