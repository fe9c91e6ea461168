"""File names that are not UTF-8 (Latin-1 bytes from an old scanner's share): before, such a
name reached the database with lone surrogates and the whole `arflow run` stopped with
"UnicodeEncodeError … surrogates not allowed", on every later run too; the drop folder left
the file in place and failed on every pass."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from arflow.db import session_scope, upgrade
from arflow.engines import engine_for
from arflow.runner import run_batch
from arflow.settings import Settings, load_settings
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, poll_once
from models import db

REPO = Path(__file__).resolve().parent.parent
GOOD = REPO / "data" / "invoices" / "001_ferreteria_hermanos.pdf"
GOOD_NAME = b"factura_\xe9\xff.pdf"  # Latin-1 "é" and a byte no encoding reads
BAD_NAME = b"da\xf1ada.pdf"  # Latin-1 "dañada": damaged
BAD_BYTES = b"%PDF-1.4\nthis is not a pdf body"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    upgrade(db_url)
    base = load_settings({"ARFLOW_HOME": str(tmp_path / "home")})
    yield replace(base, database_url=db_url, workers=1)


def _fill(folder: Path) -> None:
    folder.mkdir()
    shutil.copy(GOOD, os.fsdecode(os.fsencode(folder) + b"/" + GOOD_NAME))
    Path(os.fsdecode(os.fsencode(folder) + b"/" + BAD_NAME)).write_bytes(BAD_BYTES)


def _stored(settings: Settings) -> dict[str, str]:
    with session_scope(engine_for(settings.database_url)) as session:
        rows = session.execute(select(db.Document.source_name, db.Document.status)).all()
        return {name: status for name, status in rows}


def test_a_batch_takes_files_whose_names_are_not_utf8(settings: Settings,
                                                      tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _fill(inbox)
    summary = run_batch(settings, inbox)
    assert summary.processed == 2
    stored = _stored(settings)
    assert stored["da\\xf1ada.pdf"] == "failed"
    assert stored["factura_\\xe9\\xff.pdf"] in {"needs_review", "auto_approved"}
    digest = hashlib.sha256(BAD_BYTES).hexdigest()
    copies = [p for p in settings.quarantine_dir.iterdir() if p.name.startswith(digest[:12])
              and not p.name.endswith(".reason.json")]
    assert [p.read_bytes() for p in copies] == [BAD_BYTES], "the bytes are kept"
    again = run_batch(settings, inbox)
    assert (again.processed, again.skipped) == (0, 2)


def test_the_drop_folder_takes_them_too(settings: Settings, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    _fill(drop)
    folder = DropFolder.from_settings(settings, drop, stable_delay=0.05)
    summary = poll_once(open_context(settings, "drop:test"), folder)
    assert not summary.errors
    assert summary.outcomes == {"processed": 1, "quarantined": 1}
    assert list(drop.iterdir()) == [], "both files leave the drop folder"
    stored = _stored(settings)
    assert stored["da\\xf1ada.pdf"] == "failed"
    assert stored["factura_\\xe9\\xff.pdf"] in {"needs_review", "auto_approved"}
    kept = [p for p in folder.quarantine.iterdir() if not p.name.endswith(".reason.json")]
    assert [p.read_bytes() for p in kept] == [BAD_BYTES], "the bytes are kept"
