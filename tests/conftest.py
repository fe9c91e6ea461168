"""Shared test set-up.

The environment lines at the top run before anything imports prefect (its settings are read
at import time): every session gets a fresh PREFECT_HOME and ARFLOW_HOME, so no cache or
database leaks between sessions (shared/PREFECT-NOTES.md, section 5).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

for _var, _prefix in (("PREFECT_HOME", "prefect-home-"), ("ARFLOW_HOME", "arflow-home-")):
    os.environ[_var] = tempfile.mkdtemp(prefix=_prefix)
    atexit.register(shutil.rmtree, os.environ[_var], ignore_errors=True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
os.environ.pop("ARFLOW_DATABASE_URL", None)  # tests never touch a configured database
# tests run batches over files written a moment before; the tests of the settle window
# (tests/test_run_intake.py) set it themselves
os.environ["ARFLOW_SETTLE_SECONDS"] = "0"
# ...and take files that look unfinished at once (tests/test_completeness.py sets its own)
os.environ["ARFLOW_INCOMPLETE_WAIT_SECONDS"] = "0"

import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, uninstalled

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from arflow.db import make_engine, masked, normalize_url, upgrade  # noqa: E402
from arflow.masterdata import import_csv  # noqa: E402

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_pg_problem: list[str] = []  # filled once per session when PostgreSQL is unreachable


def postgres_admin_url() -> str:
    return os.environ.get("ARFLOW_TEST_POSTGRES_URL") or PG_DEFAULT_URL


def _postgres_unavailable(reason: str) -> None:
    """In CI a missing PostgreSQL fails the test loudly; locally it is a visible skip."""
    message = f"PostgreSQL unreachable at {masked(postgres_admin_url())}: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must test PostgreSQL; set ARFLOW_TEST_POSTGRES_URL)",
                    pytrace=False)
    pytest.skip(message)


def _admin_engine() -> Engine:
    if _pg_problem:
        _postgres_unavailable(_pg_problem[0])
    engine = create_engine(normalize_url(postgres_admin_url()), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means "not usable here"
        engine.dispose()
        _pg_problem.append(str(err).strip().splitlines()[0] if str(err).strip() else repr(err))
        _postgres_unavailable(_pg_problem[0])
    return engine


def _postgres_schema_url() -> Iterator[str]:
    """A fresh schema per test, selected through search_path; dropped afterwards."""
    admin = _admin_engine()
    schema = f"arflow_test_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(postgres_admin_url()).update_query_dict(
        {"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: SQLite in a temp file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'arflow.db'}"
    else:
        yield from _postgres_schema_url()


def _migrated_engine(url: str) -> Iterator[Engine]:
    upgrade(url)
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head (SQLite and PostgreSQL)."""
    yield from _migrated_engine(db_url)


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """PostgreSQL only, migrated to head: for behaviour SQLite cannot show (overlapping
    transactions). Same unreachable-server policy as `db_url`."""
    for url in _postgres_schema_url():
        yield from _migrated_engine(url)


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session on the migrated database; whatever the test leaves uncommitted is rolled back."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


# A small, valid master-data set (tax IDs and IBANs pass their checksums).
MASTER_CSV = {
    "parties": """name,tax_id,iban,email
Acme Iberia SL,ES B-58378431,ES91 2100 0418 4502 0005 1332,ap@acme.example
Globex GmbH,DE136695976,DE89 3704 0044 0532 0130 00,
Juan Pérez,12345678-Z,,juan@example.org
""",
    "orders": """order_number,counterparty_tax_id,counterparty_name,order_date,currency,\
line_no,description,quantity,unit_price,tax_rate
PO-1001,ESB58378431,Acme Iberia SL,2026-10-01,EUR,1,Widgets,10,12.50,21
PO-1001,ESB58378431,Acme Iberia SL,2026-10-01,EUR,2,"Bolts, M8",100,0.1234,21
PO-2002,DE136695976,Globex GmbH,2026-10-03,EUR,1,Consulting,5,800.00,
""",
    "receipts": """order_number,line_no,quantity_received,received_date
PO-1001,1,4,2026-10-05
PO-1001,1,6,2026-10-09
PO-1001,2,100,2026-10-05
""",
}


@pytest.fixture
def master_csv() -> dict[str, str]:
    """The sample master-data files' contents, by kind."""
    return dict(MASTER_CSV)


@pytest.fixture
def load_master(tmp_path: Path) -> Callable[[Session], None]:
    """Import the sample parties, orders and receipts through `import_csv` and commit."""

    def load(session: Session) -> None:
        for kind in ("parties", "orders", "receipts"):
            path = tmp_path / f"sample-{kind}.csv"
            path.write_text(MASTER_CSV[kind], encoding="utf-8")
            import_csv(session, kind, path)
        session.commit()

    return load


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for the whole session (6-10 s once), heartbeats off."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90), \
            temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `arflow` command in-process, on a fresh home with SQLite and one worker."""
    monkeypatch.setenv("ARFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ARFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("ARFLOW_WORKERS", "1")
    return CliRunner()
