"""Two worker processes on one drop folder against PostgreSQL: no document processed twice.

Each worker is a real `arflow poll` process. Documents are claimed in the database (unique
content hash, then `SELECT … FOR UPDATE SKIP LOCKED`); a worker skips what the other holds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from arflow.db import session_scope
from arflow.intake import fingerprint, sha256_of
from arflow.settings import load_settings
from generator.invoices import generate_documents
from ingest import documents
from models import db

REPO = Path(__file__).resolve().parent.parent
ARFLOW = Path(sys.executable).with_name("arflow")
FILES, COPIES = 40, 3

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _worker(inbox: Path, home: Path, url: str) -> subprocess.Popen[str]:
    env = dict(os.environ, ARFLOW_HOME=str(home), ARFLOW_DATABASE_URL=url,
               ARFLOW_WORKERS="1", PYTHONPATH=str(REPO))
    return subprocess.Popen([str(ARFLOW), "poll", str(inbox), "--stable-delay", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _processed(output: str) -> int:
    found = re.search(r"(\d+) processed", output)  # "24 taken: 23 processed, 1 duplicate"
    return int(found.group(1)) if found else 0


def test_two_workers_on_one_inbox_process_each_document_once(
    pg_engine: Engine, tmp_path: Path
) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pdfs = generate_documents(tmp_path / "gen", FILES, seed=21)
    for pdf in pdfs:
        shutil.copy(pdf, inbox / pdf.name)
    for pdf in pdfs[:COPIES]:
        shutil.copy(pdf, inbox / f"again_{pdf.name}")
    dropped = Counter(sha256_of(p) for p in inbox.iterdir())
    home = tmp_path / "home"  # shared archive, as on a shared volume
    workers = [_worker(inbox, home, url) for _ in range(2)]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert list(inbox.iterdir()) == []
    archived = Counter(sha256_of(p) for p in (home / "archive").rglob("*.pdf"))
    assert archived == dropped, "every file archived exactly once"
    assert sum(_processed(o) for o in outputs) == FILES, outputs
    with session_scope(pg_engine) as session:
        outcomes = Counter(session.scalars(select(db.DropFile.outcome)))
        assert outcomes == {"processed": FILES, "duplicate": COPIES}
        assert session.scalar(select(func.count()).select_from(db.Document)) == FILES
        assert session.scalar(select(func.count()).select_from(db.Invoice)) == FILES
        per_batch = Counter(session.scalars(select(db.Document.batch_id)))
    print("documents per worker batch:", dict(per_batch), [o.strip() for o in outputs])


def test_a_document_held_by_one_worker_is_skipped_by_another(
    pg_engine: Engine, tmp_path: Path
) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    settings = replace(load_settings({"ARFLOW_HOME": str(tmp_path)}), database_url=url)
    pdf = generate_documents(tmp_path / "gen", 1, seed=4)[0]
    file = fingerprint(pdf)
    first = documents.open_context(settings, "worker-1")
    second = documents.open_context(settings, "worker-2")
    with documents.locked(first, file) as (_, held):
        assert held is not None
        with documents.locked(second, file) as (_, other):
            assert other is None  # SKIP LOCKED: no wait, no second processing
    with documents.locked(second, file) as (session, free):
        assert free is not None  # released by the first worker's commit
        assert documents.process_locked(second, session, free, file).processed
    with documents.locked(first, file) as (session, again):
        assert again is not None
        assert not documents.process_locked(first, session, again, file).processed
