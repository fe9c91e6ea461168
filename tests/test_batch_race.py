"""Two `arflow run` over the same inbox at once. Each plans its batch from the database as
it is then: both find the same files new. The one that stores first keeps them; the later
one finds their bytes stored (`repo.claim_document`), must leave what the other stored as it
is (its result, and whatever a reviewer did since), and must say so: skipped (already
processed, by another run), not processed, in its summary, its report and its Prefect
artifact, as the database has it.

The race is made deterministic: the later batch is planned, then a whole other run over the
same inbox plans, extracts and stores, then the later batch extracts and stores. No thread,
no overlapping transactions: the same on SQLite and PostgreSQL. (Overlapping storage
transactions, PostgreSQL's unique-violation path: `tests/test_batch_claim_order.py`.)"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from arflow import pipeline
from arflow.cli import cli
from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.masterdata import import_csv
from arflow.runner import BatchSummary, run_batch
from arflow.settings import Settings, load_settings
from generator.bundles import write_bundle
from models import db, repo

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = 4  # three invoices, and one file of two (split into them)
DOCUMENTS = 6  # the three, the file of two, its two invoices


def _master(engine: Engine) -> None:
    with session_scope(engine) as session:
        for kind in ("parties", "orders", "receipts"):
            import_csv(session, kind, DATA / f"{kind}.csv")


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    invoices = sorted((DATA / "invoices").glob("*.pdf"))
    for pdf in invoices[:3]:
        (inbox / pdf.name).write_bytes(pdf.read_bytes())
    write_bundle(invoices[3:5], inbox / "scanner-batch.pdf", DATA / "truth")
    return inbox


def another_run_meanwhile(monkeypatch: pytest.MonkeyPatch, engine: Engine,
                          run: Callable[[], BatchSummary]) -> list[Any]:
    """Once the next batch is planned (at its extraction step), `run` a whole other batch
    over the same inbox first, and let a reviewer work on what it stored; then the planned
    batch goes on. The list gets the other run's summary, then the documents as the other
    run and the reviewer left them (`_snapshot`)."""
    real = pipeline.extract_all
    other: list[Any] = []

    def extract(*args: Any, **kwargs: Any) -> Any:
        if not other:
            other.append("running")  # the other run's own extraction is the real one
            other[0] = run()
            with session_scope(engine) as session:  # a decision, say: any change would do
                session.execute(update(db.Document).where(db.Document.status != "split")
                                .values(status="approved"))
            with Session(engine) as session:
                other.append(_snapshot(session))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_all", extract)
    return other


def _snapshot(session: Session) -> dict[str, tuple[Any, ...]]:
    """Every document as stored, by content hash: its id, batch, status, reasons,
    extraction, invoice row and review item (its id, status and reasons)."""
    out = {}
    for d in session.scalars(select(db.Document).order_by(db.Document.id)):
        review = session.execute(select(db.ReviewItem.id, db.ReviewItem.status,
                                        db.ReviewItem.reasons)
                                 .where(db.ReviewItem.document_id == d.id)).one_or_none()
        out[d.sha256] = (d.id, d.batch_id, d.status, d.reasons, d.extraction,
                         None if d.invoice is None else d.invoice.id,
                         None if review is None else tuple(review))
    return out


@pytest.fixture
def settings(engine: Engine, db_url: str, tmp_path: Path) -> Settings:
    _master(engine)
    return replace(load_settings({"ARFLOW_HOME": str(tmp_path / "home")}),
                   database_url=db_url, workers=1)


def test_a_batch_finding_its_files_stored_by_another_run_leaves_them_and_skips_them(
    settings: Settings, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = _inbox(tmp_path)
    other = another_run_meanwhile(monkeypatch, engine, lambda: run_batch(settings, inbox))

    later = run_batch(settings, inbox)

    winner, left_by_other = other
    with Session(engine) as session:
        stored = _snapshot(session)
        later_rows = repo.report_rows(session, batch_id=later.batch_id)
    assert len(stored) == DOCUMENTS  # once each (no repeated content hash)
    assert {batch for _, batch, *_ in stored.values()} == {winner.batch_id}
    # nothing stored over: no invoice row replaced, no status, reason, review item changed
    assert stored == left_by_other
    assert later_rows == []  # its report lists what it stored: nothing
    assert (winner.processed, winner.skipped, winner.by_another_run) == (DOCUMENTS, 0, 0)
    assert sum(winner.by_status.values()) == DOCUMENTS
    assert (later.processed, later.skipped, later.by_another_run) == (0, FILES, FILES)
    assert later.by_status == {} and later.by_reason == {} and later.quarantined == []


def test_the_later_run_says_so_in_its_summary_and_report(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`arflow run` as QA ran it: the summary table and reports/batch-N.csv agree with the
    database."""
    inbox = _inbox(tmp_path)
    settings = load_settings()  # the runner's home, with its SQLite database
    home_engine = engine_for(settings.database_url)
    _master(home_engine)
    other = another_run_meanwhile(monkeypatch, home_engine, lambda: run_batch(settings, inbox))
    result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert result.exit_code == 0, result.output
    winner, _ = other
    out = result.output

    def row(label: str) -> list[str]:
        """The numbers in the summary table's row `label`."""
        for line in out.splitlines():
            cells = [c.strip() for c in re.split(r"[│┃|]", line)]
            if label in cells:
                return [c for c in cells if c.isdigit()]
        raise AssertionError(f"no row {label!r} in:\n{out}")

    assert row("documents") == ["0", str(DOCUMENTS)]
    assert row("skipped (already processed)") == [str(FILES)]
    assert row("by another run, meanwhile") == [str(FILES)]
    match = re.search(r"report: (\S+batch-(\d+)\.csv)", out)
    assert match is not None
    assert int(match.group(2)) != winner.batch_id
    with open(match.group(1), encoding="utf-8", newline="") as report:
        assert len(list(csv.reader(report))) == 1  # the header: this batch stored nothing
    with Session(home_engine) as session:
        shas = list(session.scalars(select(db.Document.sha256)))
    assert len(shas) == len(set(shas)) == DOCUMENTS


def test_a_single_document_channel_still_stores_onto_its_document(
    engine: Engine, tmp_path: Path,
) -> None:
    """Without `leave_stored` (drop folder, mailbox, retry: the document row is theirs,
    claimed before it was processed), the outcome is stored onto the document found."""
    from arflow.intake import InboxFile
    from arflow.pipeline import DocumentOutcome
    from matching.types import Decision
    from models.domain import DocumentKind, DocumentStatus, ExtractionResult, ExtractionStatus
    from tests.test_approvals import sample_invoice

    file = InboxFile(tmp_path / "a.pdf", "ab" * 32, 1)
    outcome = DocumentOutcome(
        file=file, extraction=ExtractionResult(source="a.pdf", status=ExtractionStatus.OK,
                                               kind=DocumentKind.DIGITAL,
                                               invoice=sample_invoice("10.00", "A-1"),
                                               pages=1),
        decision=Decision(status=DocumentStatus.AUTO_APPROVED))
    with session_scope(engine) as session:
        batch_id = repo.start_batch(session, "drop:test")
        repo.claim_document(session, sha256=file.sha256, source_name="a.pdf", size_bytes=1,
                            batch_id=batch_id)
    with session_scope(engine) as session:
        kept = pipeline.persist_all(session, batch_id, [outcome], leave_stored=True)
        assert (kept.stored, kept.found) == ([], [outcome])
        assert repo.get_document_by_sha256(session, file.sha256).status == "received"  # type: ignore[union-attr]
        done = pipeline.persist_all(session, batch_id, [outcome])
        assert (done.stored, done.found) == ([outcome], [])
        assert repo.get_document_by_sha256(session, file.sha256).status == "auto_approved"  # type: ignore[union-attr]
