"""A document the database refuses fails alone in the per-document channels too.

`arflow run` isolates such a document (`pipeline.store_batch`, tests/test_store_isolation.py).
The drop folder, the mailbox and `arflow retry` store one file per transaction, which also
holds the file's document row; there a refused value (an e-invoice total of
99999999999999.99995, rounded to 10**14 on its way into NUMERIC(18, 4); on PostgreSQL, a path
longer than documents.original_path) raised StorageError: the drop folder stopped its pass
on every pass, both files left in place forever; the mailbox pass stopped, the message never
recorded nor flagged, fetched and refused again on every pass; `arflow retry` stopped on the
first such document, and `--reason STORAGE_ERROR` was refused as a usage error. Now the
document alone is stored as failed with STORAGE_ERROR, saying what the database refused
(never its URL), its bytes quarantined with a reason file; the others go on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text

from arflow import pipeline
from arflow.cli import cli
from arflow.db import session_scope, upgrade
from arflow.engines import engine_for
from arflow.errors import StorageError
from arflow.runner import run_batch
from arflow.settings import Settings, load_settings
from ingest import dropfolder, ledger
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, poll_once
from ingest.imap import DONE_KEYWORD
from ingest.ledger import DropOutcome
from ingest.mailbox import fetch_mailbox
from models import db, repo
from tests.test_mailbox import Dovecot, _mail, dovecot, user  # noqa: F401 (fixtures)
from tests.test_store_isolation import BIG, CII, PDF, REFUSED_TOTAL, UBL, _outcome, _ubl

STORAGE_ERROR = StorageError.code
DEEP = "/".join(f"{i}" + "d" * 240 for i in range(9))  # 2,178 characters of folders


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    upgrade(db_url)
    base = load_settings({"ARFLOW_HOME": str(tmp_path / "home")})
    yield replace(base, database_url=db_url, workers=1)


def _fill(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


@dataclass(frozen=True)
class Row:
    """What is stored of a document."""

    id: int
    sha256: str
    status: str
    codes: list[str]
    error_code: str | None
    error_message: str | None
    invoice: bool
    original_path: str | None


def _rows(engine: Engine) -> dict[str, Row]:
    """source name -> what is stored of that document."""
    with session_scope(engine) as session:
        return {d.source_name: Row(d.id, d.sha256, d.status, [r["code"] for r in d.reasons or []],
                                   d.error_code, d.error_message, d.invoice is not None,
                                   d.original_path)
                for d in session.scalars(select(db.Document))}


def _documents(settings: Settings) -> dict[str, Row]:
    return _rows(engine_for(settings.database_url))


def _no_url(message: str, url: str) -> None:
    lowered = message.lower()
    assert "sqlite" not in lowered and "postgres" not in lowered and "127.0.0.1" not in message
    assert url not in message


def _refused(row: Row, said: str, url: str) -> None:
    assert (row.status, row.error_code, row.invoice) == ("failed", STORAGE_ERROR, False)
    assert row.codes == [STORAGE_ERROR]
    assert said in (row.error_message or ""), row.error_message
    _no_url(row.error_message or "", url)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --- the drop folder -----------------------------------------------------------------------

def test_the_drop_folder_fails_a_refused_file_alone_and_takes_the_others(
    settings: Settings, tmp_path: Path,
) -> None:
    good = {"ubl.xml": UBL, "cii.xml": CII, "ferreteria.pdf": PDF}
    drop = tmp_path / "drop"
    _fill(drop, {"big.xml": BIG, **good})  # big.xml first: the pass goes on after it
    ctx = open_context(settings, "drop:test")
    folder = DropFolder.from_settings(settings, drop, stable_delay=0.05)

    first = poll_once(ctx, folder)

    assert first.errors == []
    assert first.outcomes == {"quarantined": 1, "processed": 3}
    assert _files(drop) == []
    stored = _documents(settings)
    _refused(stored["big.xml"], f"{REFUSED_TOTAL} exceeds NUMERIC(18, 4)",
             settings.database_url)
    for name in good:
        assert stored[name].status in {"auto_approved", "needs_review"}, name
        assert stored[name].invoice, name
    assert (folder.quarantine / "big.xml").read_bytes() == BIG
    reason = json.loads((folder.quarantine / "big.xml.reason.json").read_text())
    assert [r["code"] for r in reason["reasons"]] == [STORAGE_ERROR]
    assert reason["source"] == str(drop / "big.xml")
    assert sorted(p.name for p in _files(folder.archive)) == sorted(good)

    second = poll_once(ctx, folder)

    assert (second.taken, second.errors) == (0, [])
    assert _documents(settings).keys() == stored.keys()
    with session_scope(engine_for(settings.database_url)) as session:
        assert ledger.outcomes(session) == {"quarantined": 1, "processed": 3}


def test_a_path_longer_than_its_column_fails_that_file_in_the_drop_folder(
    settings: Settings, tmp_path: Path,
) -> None:
    """SQLite keeps any length: both processed. PostgreSQL refuses the path (of the document,
    and of the ledger's row): the file fails alone, stored and recorded under its path cut
    to the columns, its bytes quarantined, the good file beside it archived."""
    drop = tmp_path / "drop"
    deep_ubl = _ubl("Snippet-DEEP")
    _fill(drop, {f"{DEEP}/deep.xml": deep_ubl, "ubl.xml": UBL})
    ctx = open_context(settings, "drop:test")
    folder = DropFolder.from_settings(settings, drop, stable_delay=0.05)

    summary = poll_once(ctx, folder)

    assert summary.errors == []
    assert _files(drop) == []
    stored = _documents(settings)
    assert stored["ubl.xml"].status in {"auto_approved", "needs_review"}
    assert poll_once(ctx, folder).taken == 0
    if settings.database_url.startswith("sqlite"):
        assert summary.outcomes == {"processed": 2}
        assert stored["deep.xml"].original_path == str(drop / DEEP / "deep.xml")
        return
    assert summary.outcomes == {"quarantined": 1, "processed": 1}
    deep = stored["deep.xml"]
    _refused(deep, "value too long for type character varying(2048)", settings.database_url)
    assert len(deep.original_path or "") == 2048
    assert (folder.quarantine / "deep.xml").read_bytes() == deep_ubl
    reason = json.loads((folder.quarantine / "deep.xml.reason.json").read_text())
    assert reason["source"] == str(drop / DEEP / "deep.xml"), "the whole path"
    with session_scope(engine_for(settings.database_url)) as session:
        row = session.scalars(select(db.DropFile).where(db.DropFile.name == "deep.xml")).one()
        assert (row.outcome, row.moved_at is not None) == ("quarantined", True)
        assert len(row.original_path) == 2048 and row.original_path.endswith("…/deep.xml")


def test_a_ledger_row_of_a_path_cut_to_its_column_is_found_again(
    settings: Settings, tmp_path: Path,
) -> None:
    """After a crash between the commit and the move, the next pass finds the row by the
    same cut path (`as_recorded`), and only moves the file."""
    from arflow.intake import fingerprint

    path = tmp_path / DEEP / ("n" * 200 + ".xml")
    path.parent.mkdir(parents=True)
    path.write_bytes(UBL)
    file = fingerprint(path)
    recorded = dropfolder.as_recorded(file)
    assert len(recorded.where) == 2048 and recorded.where.endswith(f"…/{file.name}")
    assert recorded.name == file.name and dropfolder.as_recorded(recorded) is recorded
    with session_scope(engine_for(settings.database_url)) as session:
        row = ledger.record(session, recorded, DropOutcome.PROCESSED, document_id=None,
                            target=tmp_path / "archive" / file.name)
        row_id = row.id
    with session_scope(engine_for(settings.database_url)) as session:
        found = ledger.pending_move(session, dropfolder.as_recorded(file))
        assert found is not None and found.id == row_id


# --- the mailbox -----------------------------------------------------------------------------

def _ledger(settings: Settings) -> list[tuple[int, str, list[str], bool]]:
    with session_scope(engine_for(settings.database_url)) as session:
        rows = session.scalars(select(db.MailMessage).order_by(db.MailMessage.uid))
        return [(r.uid, r.outcome, list(r.documents or []), r.acknowledged_at is not None)
                for r in rows]


def test_a_refused_attachment_fails_alone_and_its_message_is_recorded(
    dovecot: Dovecot, settings: Settings, user: str,  # noqa: F811 (fixtures)
) -> None:
    """A message with a refused attachment and a good one, then another message: the
    refused one is stored failed and quarantined; the message is recorded `ingested` with
    both attachments, as with one that cannot be read, and flagged; the pass goes on."""
    dovecot.append(user, _mail("two", ("big.xml", BIG), ("ferreteria.pdf", PDF)).as_bytes(),
                   _mail("one", ("ubl.xml", UBL)).as_bytes())
    ctx = open_context(settings, "mail:test")

    summary = fetch_mailbox(ctx, dovecot.config(user, "tls"))

    assert summary.outcomes == {"ingested": 2}
    shas = [hashlib.sha256(data).hexdigest() for data in (BIG, PDF, UBL)]
    assert _ledger(settings) == [(1, "ingested", shas[:2], True), (2, "ingested", shas[2:], True)]
    assert all(DONE_KEYWORD.encode() in flags for flags in dovecot.flags(user))
    by_sha = {d.sha256: d for d in _documents(settings).values()}
    _refused(by_sha[shas[0]], f"{REFUSED_TOTAL} exceeds NUMERIC(18, 4)", settings.database_url)
    for sha in shas[1:]:
        assert by_sha[sha].status in {"auto_approved", "needs_review"}
    copy = settings.quarantine_dir / f"{shas[0][:12]}-big.xml"
    assert copy.read_bytes() == BIG
    reason = json.loads(copy.with_name(copy.name + ".reason.json").read_text())
    assert [r["code"] for r in reason["reasons"]] == [STORAGE_ERROR]

    again = fetch_mailbox(ctx, dovecot.config(user, "tls"))
    assert (again.outcomes, again.acknowledged) == ({}, 0)


# --- arflow retry --------------------------------------------------------------------------

def test_retry_takes_storage_error_and_a_document_still_refused_fails_alone(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """big.xml fails with STORAGE_ERROR in one batch; ferreteria.pdf with FILE_TOO_LARGE in
    a later batch run with a small size limit. `arflow retry --reason STORAGE_ERROR` is
    accepted and reads big.xml again: still refused, it stays failed with its reason.
    `arflow retry` then reads both: big.xml fails again and ferreteria.pdf, read after it,
    is decided (before: the retry stopped on big.xml with exit 5)."""
    run_batch(settings, _inbox(tmp_path / "one", {"big.xml": BIG, "ubl.xml": UBL}))
    run_batch(replace(settings, max_file_bytes=len(PDF) - 1),
              _inbox(tmp_path / "two", {"ferreteria.pdf": PDF}))
    before = _documents(settings)
    assert before["big.xml"].error_code == STORAGE_ERROR
    assert before["ferreteria.pdf"].error_code == "FILE_TOO_LARGE"
    assert before["big.xml"].id < before["ferreteria.pdf"].id, "big.xml is retried first"
    monkeypatch.setenv("ARFLOW_HOME", str(settings.home))
    monkeypatch.setenv("ARFLOW_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARFLOW_WORKERS", "1")
    runner = CliRunner()

    only = runner.invoke(cli, ["retry", "--reason", "storage_error"])

    assert only.exit_code == 0, only.output
    assert "big.xml: was STORAGE_ERROR -> failed (STORAGE_ERROR)" in only.output
    assert "1 retried: 1 failed" in only.output
    _refused(_documents(settings)["big.xml"], f"{REFUSED_TOTAL} exceeds NUMERIC(18, 4)",
             settings.database_url)
    assert _documents(settings)["ferreteria.pdf"].status == "failed", "not asked for"

    every = runner.invoke(cli, ["retry"])

    assert every.exit_code == 0, every.output
    assert "big.xml: was STORAGE_ERROR -> failed (STORAGE_ERROR)" in every.output
    assert "ferreteria.pdf: was FILE_TOO_LARGE -> " in every.output
    after = _documents(settings)
    _refused(after["big.xml"], f"{REFUSED_TOTAL} exceeds NUMERIC(18, 4)", settings.database_url)
    assert (after["big.xml"].error_message or "").startswith("big.xml: "), "not its copy's name"
    assert after["ferreteria.pdf"].status in {"auto_approved", "needs_review"}
    assert after["ubl.xml"].status == before["ubl.xml"].status
    with session_scope(engine_for(settings.database_url)) as session:
        retries = session.execute(text(
            "SELECT entity_id FROM audit_events WHERE action = 'document.retry'")).all()
    assert sorted(int(r[0]) for r in retries) == sorted(
        [before["big.xml"].id] * 2 + [before["ferreteria.pdf"].id])
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0


def _inbox(folder: Path, files: dict[str, bytes]) -> Path:
    _fill(folder, files)
    return folder


# --- a text the driver cannot send -----------------------------------------------------------

def test_a_text_the_driver_cannot_send_leaves_the_database_as_a_storage_error(
    engine: Engine,
) -> None:
    """sqlite3 and psycopg raise UnicodeEncodeError for a lone surrogate, which SQLAlchemy
    passes on as it is: `session_scope` now says StorageError, a refusal like any other."""
    with pytest.raises(StorageError) as raised, session_scope(engine) as session:
        session.add(db.Party(name="Calle \udce9", tax_id="ESB58378431"))
        session.flush()
    assert isinstance(raised.value.__cause__, UnicodeEncodeError)
    assert raised.value.code == "DB_ERROR"
    assert "surrogates not allowed" in raised.value.message
    assert pipeline.storage_refused(raised.value)


def test_a_channel_fails_a_document_with_such_a_text_alone(engine: Engine) -> None:
    """`persist_isolated`, as the drop folder, the mailbox and `arflow retry` store: the
    document with the text fails with STORAGE_ERROR in the same transaction, the other is
    stored."""
    odd = _outcome("odd.pdf")
    odd.extraction.invoice.seller.address = "Calle \udce9"
    with session_scope(engine) as session:
        batch = repo.start_batch(session, "test")
        stored = pipeline.persist_isolated(session, batch, [_outcome("a.pdf"), odd])
    assert [str(o.decision.status) for o in stored] == ["needs_review", "failed"]
    rows = _rows(engine)
    assert rows["a.pdf"].status == "needs_review" and rows["a.pdf"].invoice
    said = {"sqlite": "surrogates not allowed", "postgresql": "invalid input syntax for type json"}
    assert said[engine.dialect.name] in (rows["odd.pdf"].error_message or "")
    assert rows["odd.pdf"].codes == [STORAGE_ERROR]
