"""The content lock that keeps two workers from reading one `.eml` of the drop folder at once:
an advisory lock on PostgreSQL, an flock beside the SQLite database; and two real `arflow poll`
workers on a folder of `.eml` files record each message exactly once."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from arflow.db import make_engine, session_scope
from arflow.intake import sha256_of
from generator.invoices import generate_documents
from ingest.locks import advisory_key, content_lock
from models import db

REPO = Path(__file__).resolve().parent.parent
ARFLOW = Path(sys.executable).with_name("arflow")
SHA = hashlib.sha256(b"a message").hexdigest()


def test_the_sqlite_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with content_lock(engine, tmp_path / "locks", SHA) as first:
        assert first
        with content_lock(engine, tmp_path / "locks", SHA) as second:
            assert not second  # held: the second worker skips the file
        with content_lock(engine, tmp_path / "locks", "0" * 64) as other:
            assert other  # another file's lock is independent
    with content_lock(engine, tmp_path / "locks", SHA) as again:
        assert again


@pytest.mark.postgres
def test_the_postgres_advisory_lock_is_exclusive_and_released(pg_engine: Engine) -> None:
    with content_lock(pg_engine, Path("/nonexistent"), SHA) as first:
        assert first
        with content_lock(pg_engine, Path("/nonexistent"), SHA) as second:
            assert not second
    with content_lock(pg_engine, Path("/nonexistent"), SHA) as again:
        assert again
    key = advisory_key(SHA)
    with pg_engine.connect() as conn:  # nothing left behind on the pooled connections
        locks = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid::bigint = %s AND objid::bigint = %s",
            (key >> 32, key & 0xFFFFFFFF)).scalar()
        assert locks == 0


def _eml(pdf: Path) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = "supplier@example.com", "ap@example.com"
    message["Subject"], message["Message-ID"] = pdf.stem, f"<{pdf.stem}@example.com>"
    message.set_content("Invoice attached.")
    message.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf",
                           filename=pdf.name)
    return message.as_bytes()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_record_each_eml_once(pg_engine: Engine, tmp_path: Path) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pdfs = generate_documents(tmp_path / "gen", 8, seed=33)
    for pdf in (p for p in pdfs if p.suffix == ".pdf"):
        (inbox / f"{pdf.stem}.eml").write_bytes(_eml(pdf))
    dropped = Counter(sha256_of(p) for p in inbox.iterdir())
    env = dict(os.environ, ARFLOW_HOME=str(tmp_path / "home"), ARFLOW_DATABASE_URL=url,
               ARFLOW_WORKERS="1", PYTHONPATH=str(REPO))
    workers = [subprocess.Popen([str(ARFLOW), "poll", str(inbox), "--stable-delay", "0"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert list(inbox.iterdir()) == []
    assert Counter(sha256_of(p) for p in (tmp_path / "home").rglob("*.eml")) == dropped
    with session_scope(pg_engine) as session:
        rows = Counter(session.scalars(select(db.DropFile.sha256)))
        assert rows == Counter(dict.fromkeys(dropped, 1)), "one ledger row per message"
        assert session.scalar(select(func.count()).select_from(db.Document)) == len(dropped)
    shutil.rmtree(tmp_path / "gen")
