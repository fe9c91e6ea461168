"""A document the database refuses does not take its batch with it.

`arflow run` stores a batch in one transaction (`pipeline.store_batch`). Before, one value the
checks before storage let through and the database refused stopped the whole batch: nothing
of it stored, and the next run stopped on the same file again, and so on for every later
batch. Two such values, found by trying (2026-12): an e-invoice total of
99999999999999.99995, under the 14 integer digits `extractors.api.unstorable` checks but
rounded to 10**14 on its way into NUMERIC(18, 4) (SQLite and PostgreSQL); and, on
PostgreSQL, a file in folders nested so deep that its path is longer than
`documents.original_path` (VARCHAR(2048)). Now such a document alone fails, with
STORAGE_ERROR saying what the database refused (never its URL), and is quarantined with its
bytes; the others are stored and decided as in any batch. A failure of the database itself
still fails the batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, exc, select
from sqlalchemy.orm import Session

from arflow import pipeline
from arflow.cli import cli
from arflow.db import session_scope, upgrade
from arflow.engines import engine_for
from arflow.errors import StorageError
from arflow.intake import InboxFile
from arflow.pipeline import DocumentOutcome
from arflow.reasons import Reason
from arflow.runner import run_batch
from arflow.settings import Settings, load_settings
from extractors.api import extract_file
from generator import generate_documents
from generator.bundles import write_bundle
from matching.engine import evaluate_batch
from matching.types import Candidate, Decision
from models import db, repo
from models.domain import DocumentKind, DocumentStatus, ExtractionResult, ExtractionStatus
from models.repo import Part
from tests.test_approvals import sample_invoice

DATA = Path(__file__).parent / "data" / "einvoice"
UBL = (DATA / "peppol-base-example.xml").read_bytes()
CII = (DATA / "en16931-CII_example9.xml").read_bytes()
PDF = (Path(__file__).resolve().parent.parent / "data" / "invoices"
       / "001_ferreteria_hermanos.pdf").read_bytes()
TOTAL = b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25</cbc:TaxInclusiveAmount>'
ID = b"<cbc:ID>Snippet1</cbc:ID>"
REFUSED_TOTAL = "99999999999999.99995"  # under 10**14, and 10**14 once rounded to 4 places
STORAGE_ERROR = StorageError.code


def _ubl(number: str, total: str | None = None) -> bytes:
    data = UBL.replace(ID, f"<cbc:ID>{number}</cbc:ID>".encode(), 1)
    if total is not None:
        data = data.replace(TOTAL, b'<cbc:TaxInclusiveAmount currencyID="EUR">'
                            + total.encode() + b"</cbc:TaxInclusiveAmount>", 1)
    return data


GOOD = {"ubl.xml": UBL, "second.xml": _ubl("Snippet2"), "cii.xml": CII, "ferreteria.pdf": PDF}
BIG = _ubl("Snippet-BIG", REFUSED_TOTAL)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Iterator[Settings]:
    upgrade(db_url)
    base = load_settings({"ARFLOW_HOME": str(tmp_path / "home")})
    yield replace(base, database_url=db_url, workers=1)


def _inbox(tmp_path: Path, files: dict[str, bytes]) -> Path:
    inbox = tmp_path / "inbox"
    for name, data in files.items():
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(data)
    return inbox


def _documents(where: str | Engine) -> dict[str, dict[str, Any]]:
    """source name -> what is stored of that document."""
    engine = engine_for(where) if isinstance(where, str) else where
    with session_scope(engine) as session:
        return {d.source_name: {
            "status": d.status, "codes": [r["code"] for r in d.reasons or []],
            "error_code": d.error_code, "error_message": d.error_message,
            "invoice": d.invoice is not None, "path": d.original_path, "parent": d.parent_id,
            "id": d.id, "sha256": d.sha256,
        } for d in session.scalars(select(db.Document))}


def _quarantined(settings: Settings, name: str, data: bytes) -> dict[str, Any]:
    """The reason file of `data`'s quarantine copy, once the copy holds exactly `data`."""
    digest = hashlib.sha256(data).hexdigest()
    copy = settings.quarantine_dir / f"{digest[:12]}-{name}"
    assert copy.read_bytes() == data
    reason: dict[str, Any] = json.loads(copy.with_name(copy.name + ".reason.json").read_text())
    assert reason["sha256"] == digest
    return reason


def _no_url(message: str, url: str) -> None:
    lowered = message.lower()
    assert "sqlite" not in lowered and "postgres" not in lowered and "127.0.0.1" not in message
    assert url not in message


def test_arflow_run_stores_the_others_and_quarantines_the_refused_file(
    settings: Settings, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four good files and one the database refuses, through `arflow run` on SQLite and
    PostgreSQL; a second run takes nothing again and fails on nothing."""
    read = extract_file(_inbox(tmp_path / "alone", {"big.xml": BIG}) / "big.xml")
    assert read.status == ExtractionStatus.OK, (
        "the checks before storage catch this value now: the test needs another value the "
        f"database refuses and they let through ({read.errors})")
    monkeypatch.setenv("ARFLOW_HOME", str(settings.home))
    monkeypatch.setenv("ARFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("ARFLOW_WORKERS", "1")
    inbox = _inbox(tmp_path, {**GOOD, "big.xml": BIG})
    runner = CliRunner()

    first = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])

    assert first.exit_code == 0, first.output
    stored = _documents(db_url)
    assert set(stored) == {*GOOD, "big.xml"}
    for name in GOOD:
        assert stored[name]["status"] in {"auto_approved", "needs_review"}, (name, stored[name])
        assert stored[name]["invoice"], name
    big = stored["big.xml"]
    assert (big["status"], big["codes"], big["error_code"], big["invoice"]) == (
        "failed", [STORAGE_ERROR], STORAGE_ERROR, False)
    assert f"{REFUSED_TOTAL} exceeds NUMERIC(18, 4)" in big["error_message"]
    _no_url(big["error_message"], db_url)
    reason = _quarantined(settings, "big.xml", BIG)
    assert [r["code"] for r in reason["reasons"]] == [STORAGE_ERROR]
    with session_scope(engine_for(db_url)) as session:
        batch = session.scalars(select(db.Batch)).one()
    assert (batch.total, batch.failed, batch.finished_at is not None) == (5, 1, True)
    assert batch.auto_approved + batch.needs_review == 4

    again = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])

    assert again.exit_code == 0, again.output
    assert _documents(db_url) == stored
    assert run_batch(settings, inbox).skipped == 5


def test_a_path_longer_than_its_column_fails_that_file_on_postgresql(
    settings: Settings, db_url: str, tmp_path: Path,
) -> None:
    """A good invoice and a bundle of two in folders nested 2,200 characters deep, beside
    good files. SQLite keeps any length: all stored. PostgreSQL refuses the path: each file
    fails alone (the bundle as a whole: none of its invoices is stored, `arflow retry` reads
    and splits it again), stored under its path cut to the column, with its bytes kept."""
    deep = "/".join(f"{i}" + "d" * 240 for i in range(9))
    documents = generate_documents(tmp_path / "generated", 2, 88)
    write_bundle(documents, tmp_path / "bundle.pdf")
    bundle = (tmp_path / "bundle.pdf").read_bytes()
    deep_ubl = _ubl("Snippet-DEEP")
    inbox = _inbox(tmp_path, {**GOOD, f"{deep}/deep.xml": deep_ubl,
                              f"{deep}/bundle.pdf": bundle})

    summary = run_batch(settings, inbox)

    stored = _documents(settings.database_url)
    for name in GOOD:
        assert stored[name]["status"] in {"auto_approved", "needs_review"}, name
    if settings.database_url.startswith("sqlite"):
        assert stored["deep.xml"]["status"] in {"auto_approved", "needs_review"}
        assert stored["bundle.pdf"]["status"] == "split"
        assert summary.processed == len(GOOD) + 4
        return
    for name, data in (("deep.xml", deep_ubl), ("bundle.pdf", bundle)):
        row = stored[name]
        assert (row["status"], row["codes"], row["invoice"]) == ("failed", [STORAGE_ERROR],
                                                                 False), name
        assert "value too long for type character varying(2048)" in row["error_message"]
        _no_url(row["error_message"], settings.database_url)
        assert len(row["path"]) == 2048 and row["path"].startswith(str(inbox / "0d"))
        _quarantined(settings, name, data)
    assert set(stored) == {*GOOD, "deep.xml", "bundle.pdf"}, "no invoice of the bundle"
    assert summary.processed == len(GOOD) + 2
    assert summary.by_status["failed"] == 2
    assert summary.by_reason[STORAGE_ERROR] == 2
    assert len(summary.quarantined) == 2
    assert run_batch(settings, inbox).skipped == len(GOOD) + 2


def test_a_batch_of_refused_documents_alone_fails_them_not_the_batch(
    settings: Settings, tmp_path: Path,
) -> None:
    """Every document of the batch refused on its own: each is stored as failed and
    quarantined, the run completes, and later runs skip them (before 2026-12-07 such a batch
    failed as a whole, on every run, until a good file came beside them)."""
    bad = {"big.xml": BIG, "big2.xml": _ubl("Snippet-BIG2", REFUSED_TOTAL)}
    inbox = _inbox(tmp_path, bad)
    summary = run_batch(settings, inbox)
    stored = _documents(settings.database_url)
    assert [stored[name]["codes"] for name in bad] == [[STORAGE_ERROR]] * 2
    assert (summary.processed, summary.by_status["failed"]) == (2, 2)
    assert len(summary.quarantined) == 2
    assert run_batch(settings, inbox).skipped == 2


# --- `pipeline.store_batch` on outcomes built here ---------------------------------------

@pytest.fixture
def master(engine: Engine, load_master: Callable[[Session], None]) -> Engine:
    with Session(engine) as session:
        load_master(session)
    return engine


def _outcome(name: str, total: str = "166.18", number: str | None = None,
             part: Part | None = None, engine: Engine | None = None) -> DocumentOutcome:
    """One file's invoice, decided alone (as by a worker that sees no other document)."""
    invoice = sample_invoice(total, number or name)
    master = None
    if engine is not None:
        with session_scope(engine) as session:
            master = repo.load_master_data(session)
    decision = (evaluate_batch([Candidate(name, invoice)], master)[0] if master is not None
                else Decision(status=DocumentStatus.NEEDS_REVIEW))
    return DocumentOutcome(
        file=InboxFile(Path(f"/inbox/{name}"), hashlib.sha256(name.encode()).hexdigest(), 1),
        extraction=ExtractionResult(source=name, status=ExtractionStatus.OK,
                                    kind=DocumentKind.DIGITAL, invoice=invoice, pages=1),
        decision=decision, part=part)


def _bundle(name: str, *totals: str) -> list[DocumentOutcome]:
    """A file of several invoices (stored as split) and its invoices, one per page."""
    file = _outcome(name)
    split = replace(file, extraction=replace(file.extraction, status=ExtractionStatus.SPLIT,
                                             invoice=sample_invoice()),
                    decision=Decision(status=DocumentStatus.SPLIT))
    parts = [_outcome(f"{name}#{i}", total, part=Part(file.file.sha256, name, i, i))
             for i, total in enumerate(totals)]
    return [split, *parts]


def _batch(engine: Engine) -> int:
    with session_scope(engine) as session:
        return repo.start_batch(session, "test")


def test_an_invoice_of_a_bundle_fails_alone_and_its_siblings_are_stored(
    engine: Engine,
) -> None:
    outcomes = [*_bundle("bundle.pdf", "10.00", REFUSED_TOTAL, "30.00"), _outcome("other.pdf")]

    stored = pipeline.store_batch(engine, _batch(engine), outcomes)

    rows = _documents(engine)
    parent = rows["bundle.pdf"]
    assert parent["status"] == "split"
    assert [rows[f"bundle.pdf, page {i}"]["parent"] for i in (1, 2, 3)] == [parent["id"]] * 3
    assert rows["bundle.pdf, page 2"]["codes"] == [STORAGE_ERROR]
    assert rows["bundle.pdf, page 2"]["status"] == "failed"
    for name in ("bundle.pdf, page 1", "bundle.pdf, page 3", "other.pdf"):
        assert rows[name]["status"] == "needs_review" and rows[name]["invoice"], name
    assert stored.found == []
    assert [o.decision.status for o in stored.stored] == [
        "split", "needs_review", "failed", "needs_review", "needs_review"]
    refused = stored.stored[2]
    assert refused.file is outcomes[2].file and refused.part == outcomes[2].part
    assert refused.decision.reason_codes == [STORAGE_ERROR]
    assert refused.extraction.status == ExtractionStatus.FAILED


def test_files_another_run_stored_meanwhile_are_left_with_their_invoices(
    engine: Engine,
) -> None:
    """`found` as in a batch stored whole: a file whose bytes another run stored since the
    plan keeps that run's result, and so do its invoices, never stored over."""
    theirs = _bundle("bundle.pdf", "10.00", "20.00")
    with session_scope(engine) as session:
        repo.save_outcomes(session, batch_id=None, outcomes=theirs[:1])
    outcomes = [*_bundle("bundle.pdf", "10.00", "20.00"), _outcome("good.pdf"),
                _outcome("big.pdf", REFUSED_TOTAL)]

    stored = pipeline.store_batch(engine, _batch(engine), outcomes)

    assert stored.found == outcomes[:3] and stored.files_found == 1
    assert [o.file.name for o in stored.stored] == ["good.pdf", "big.pdf"]
    rows = _documents(engine)
    assert rows["bundle.pdf"]["status"] == "split" and "bundle.pdf, page 1" not in rows
    assert rows["big.pdf"]["codes"] == [STORAGE_ERROR]


def test_decisions_changed_by_the_refused_transaction_are_put_back(master: Engine) -> None:
    """Two copies of one invoice decided apart (both accepted): in the batch's transaction
    the second is sent to review as a duplicate of the first's document there, which the
    refusal rolls back. Stored apart, it names the first's document as stored, once."""
    first, copy = _outcome("a.pdf", number="A-1", engine=master), _outcome(
        "copy.pdf", number="A-1", engine=master)
    assert first.decision.status == copy.decision.status == DocumentStatus.AUTO_APPROVED
    outcomes = [_outcome("x.pdf", number="X-1", engine=master), first, copy,
                _outcome("big.pdf", REFUSED_TOTAL, "B-1", engine=master)]

    pipeline.store_batch(master, _batch(master), outcomes)

    rows = _documents(master)
    assert rows["a.pdf"]["status"] == "auto_approved"
    assert rows["copy.pdf"]["status"] == "needs_review"
    duplicates = [p for p in copy.decision.reasons if p.code == Reason.DUPLICATE_INVOICE]
    assert len(duplicates) == 1
    assert f"as document {rows['a.pdf']['id']}," in (duplicates[0].found or "")
    assert rows["copy.pdf"]["codes"] == [str(p.code) for p in copy.decision.reasons]


def _failing(monkeypatch: pytest.MonkeyPatch, calls: set[int]) -> list[int]:
    """`repo.save_outcomes` losing its connection on the calls numbered in `calls`."""
    real, seen = repo.save_outcomes, [0]

    def save(*args: Any, **kwargs: Any) -> Any:
        seen[0] += 1
        if seen[0] in calls:
            raise exc.OperationalError("INSERT", {}, Exception(
                "server closed the connection unexpectedly"))
        return real(*args, **kwargs)

    monkeypatch.setattr(repo, "save_outcomes", save)
    return seen


@pytest.mark.parametrize("call", [1, 2], ids=["whole batch", "stored apart"])
def test_a_failure_of_the_database_itself_still_fails_the_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, call: int,
) -> None:
    """A lost connection is not a document's fault: whether it ends the batch's transaction
    or one of the transactions storing the documents apart after a refusal, the batch fails
    (the documents stored apart before stay stored; the next run takes the others)."""
    outcomes = [_outcome("a.pdf"), _outcome("big.pdf", REFUSED_TOTAL), _outcome("b.pdf")]
    if call == 1:
        del outcomes[1]
    failing = {1} if call == 1 else {3}  # 2: a.pdf stored apart, 3: big.pdf stored apart
    _failing(monkeypatch, failing)
    with pytest.raises(StorageError) as raised:
        pipeline.store_batch(engine, _batch(engine), outcomes)
    assert raised.value.code == "DB_UNAVAILABLE"
    rows = _documents(engine)
    assert set(rows) == (set() if call == 1 else {"a.pdf"})
    assert all(row["status"] == "needs_review" for row in rows.values())


def test_a_text_the_driver_cannot_send_is_refused_like_a_value(engine: Engine) -> None:
    """A lone surrogate (an undecodable byte that reached a text) is not UTF-8: neither
    sqlite3 nor psycopg sends it, and SQLAlchemy passes their UnicodeEncodeError on as it
    is, not as a database error."""
    odd = _outcome("odd.pdf")
    odd.extraction.invoice.seller.address = "Calle \udce9"

    stored = pipeline.store_batch(engine, _batch(engine), [_outcome("a.pdf"), odd])

    rows = _documents(engine)
    assert rows["a.pdf"]["status"] == "needs_review"
    assert rows["odd.pdf"]["codes"] == [STORAGE_ERROR]
    said = {"sqlite": "surrogates not allowed", "postgresql": "invalid input syntax for type json"}
    assert said[engine.dialect.name] in rows["odd.pdf"]["error_message"]
    assert [o.decision.status for o in stored.stored] == ["needs_review", "failed"]

