"""The database behind one small wrapper: engine, migrations, sessions, typed errors.

SQLite gets WAL, foreign keys, a busy timeout, BEGIN IMMEDIATE transactions (writers
queue instead of failing; two overlapping transactions in one thread therefore wait for
each other until the busy timeout) and `SQLITE_LOWER`, a lower() for every letter;
PostgreSQL goes through psycopg 3 with a connect timeout. Every driver failure leaves this
module as `StorageError`, with the URL's password masked; so does a text the driver cannot
send (a lone surrogate is no UTF-8: sqlite3 and psycopg raise UnicodeEncodeError, which
SQLAlchemy passes on as it is), a value refused like any other
(`arflow.pipeline.storage_refused`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from arflow.errors import StorageError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
# SQLite's own lower() changes ASCII letters only; this one is `unicode_lower`, registered on
# every connection (`models.search.lowered` uses it).
SQLITE_LOWER = "arflow_lower"


def normalize_url(url: str | URL) -> URL:
    """Parse a URL; `postgres://` and `postgresql://` are rewritten to use psycopg 3."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise StorageError(f"invalid database URL: {err}", code="DB_URL_INVALID") from err
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def masked(url: str | URL) -> str:
    """The URL as text with the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str | URL, *, echo: bool = False, probe: bool = True) -> Engine:
    """Create an engine; with `probe`, connect once so a bad URL fails here, typed."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, echo)
    elif backend == "postgresql":
        engine = create_engine(
            parsed, echo=echo, pool_pre_ping=True,
            connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
        )
    else:
        raise StorageError(f"unsupported database {backend!r} in {masked(parsed)}",
                           code="DB_URL_INVALID")
    if probe:
        with storage_errors(engine.url), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    return engine


def _sqlite_engine(url: URL, echo: bool) -> Engine:
    memory = url.database in (None, "", ":memory:")
    if not memory:
        folder = Path(url.database or "").expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(f"cannot create the folder of SQLite database {masked(url)}: "
                               f"{err}", code="DB_UNAVAILABLE") from err
    kwargs: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False}, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, emit BEGIN: SAVEPOINTs then work correctly.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
    dbapi_conn.create_function(SQLITE_LOWER, 1, unicode_lower, deterministic=True)


def unicode_lower(value: Any) -> Any:
    """`str.lower` as an SQL function for SQLite, as PostgreSQL's lower() does with a UTF-8
    database ("ÁLVAREZ" -> "álvarez"); NULL, numbers and blobs come back as they went in."""
    return value.lower() if isinstance(value, str) else value


def _sqlite_on_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so concurrent writers wait (busy timeout)
    # instead of failing with "database is locked" when a read turns into a write.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def storage_errors(url: str | URL | None = None) -> Iterator[None]:
    """Translate SQLAlchemy/driver errors raised inside the block into `StorageError`."""
    where = f" at {masked(url)}" if url is not None else ""
    try:
        yield
    except exc.IntegrityError as err:
        raise StorageError(f"constraint violated{where}: {err.orig}", code="DB_INTEGRITY") from err
    except (exc.OperationalError, exc.InterfaceError) as err:
        raise _operational(err, where) from err
    except exc.SQLAlchemyError as err:
        raise StorageError(f"database error{where}: {_first_line(err)}", code="DB_ERROR") from err
    except UnicodeEncodeError as err:  # text the driver cannot send (a lone surrogate)
        raise StorageError(f"database error{where}: text it cannot store: {err}",
                           code="DB_ERROR") from err


_BUSY = ("database is locked", "database is busy", "deadlock detected", "could not serialize",
         "lock timeout", "lock_timeout")
_NO_SCHEMA = ("no such table", "no such column")


def _operational(err: exc.SQLAlchemyError, where: str) -> StorageError:
    detail = _first_line(err)
    lowered = detail.lower()
    if any(marker in lowered for marker in _BUSY):
        return StorageError(f"database busy{where}, try again: {detail}", code="DB_BUSY")
    if any(marker in lowered for marker in _NO_SCHEMA):
        return StorageError(f"database{where} is not migrated to this version of arflow "
                            f"(run the migrations): {detail}", code="DB_SCHEMA")
    return StorageError(f"cannot connect to database{where}: {detail}", code="DB_UNAVAILABLE")


def _first_line(err: exc.SQLAlchemyError) -> str:
    orig = getattr(err, "orig", None) or err
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error; driver errors -> StorageError."""
    session = Session(engine, expire_on_commit=False)
    try:
        with storage_errors(engine.url):
            yield session
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | URL) -> Any:
    """An Alembic `Config` pointing at arflow's migrations, for `url`."""
    from alembic.config import Config  # noqa: PLC0415 (keeps alembic off the import path)

    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise StorageError(f"migrations not found at {MIGRATIONS_DIR}", code="DB_MIGRATIONS")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = normalize_url(url)
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the schema to `revision` (default head). Safe to call on every start."""
    from alembic import command  # noqa: PLC0415

    config = alembic_config(url)
    make_engine(url).dispose()  # cannot be reached: DB_UNAVAILABLE, as anywhere else
    try:
        with storage_errors(url):
            command.upgrade(config, revision)
    except StorageError as err:
        if err.code == "DB_BUSY":  # another program holds it: try again later
            raise
        detail = err.message.split(": ", 1)[-1]  # a database reached a moment ago: the
        raise _migration_failed(url, revision, detail) from err.__cause__  # migration's SQL
    except Exception as err:  # a migration's own check (`migrations/env.py`)
        raise _migration_failed(url, revision, str(err)) from err
    log.debug("database at %s upgraded to %s", masked(url), revision)


def _migration_failed(url: str | URL, revision: str, detail: str) -> StorageError:
    return StorageError(f"migrating the database at {masked(url)} to {revision} failed: "
                        f"{detail}", code="DB_MIGRATION")


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with storage_errors(engine.url), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
