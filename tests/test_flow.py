"""The Prefect batch flow, run locally with no server configured (a temporary API)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.masterdata import import_csv
from models import repo

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ARFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARFLOW_WORKERS", "1")
    yield tmp_path / "home"


def _master(url: str) -> None:
    with session_scope(engine_for(url)) as session:
        for kind in ("parties", "orders", "receipts"):
            import_csv(session, kind, DATA / f"{kind}.csv")


def _sample_inbox(tmp_path: Path, count: int) -> tuple[str, Path]:
    """A SQLite URL with the sample master data, and an inbox of `count` sample PDFs."""
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    _master(url)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for pdf in sorted((DATA / "invoices").glob("*.pdf"))[:count]:
        shutil.copy(pdf, inbox)
    return url, inbox


def test_batch_flow_processes_inbox_once_and_publishes_artifacts(
    home: Path, tmp_path: Path
) -> None:
    from prefect.artifacts import Artifact

    from flows.batch import batch_run

    url, inbox = _sample_inbox(tmp_path, 4)
    state = batch_run(str(inbox), database_url=url, return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert summary.processed == 4 and sum(summary.by_status.values()) == 4
    with session_scope(engine_for(url)) as session:
        assert len(repo.report_rows(session)) == 4
    table = Artifact.get("arflow-exceptions")
    assert table is not None and table.type == "table"
    again = batch_run(str(inbox), database_url=url)
    assert again.processed == 0 and again.skipped == 4


def test_batch_flow_fails_visibly_on_a_missing_inbox(home: Path, tmp_path: Path) -> None:
    from flows.batch import batch_run

    state = batch_run(str(tmp_path / "nope"), database_url=f"sqlite:///{tmp_path / 'x.db'}",
                      return_state=True)
    assert state.is_failed()


def test_batch_flow_splits_a_file_of_several_invoices(home: Path, tmp_path: Path) -> None:
    from flows.batch import batch_run
    from generator.bundles import write_bundle

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    _master(url)
    inbox = tmp_path / "inbox"
    invoices = sorted((DATA / "invoices").glob("*.pdf"))[:2]
    parts = write_bundle(invoices, inbox / "scanner-batch.pdf", DATA / "truth")
    summary = batch_run(str(inbox), database_url=url)
    assert summary.processed == 3 and summary.by_status["split"] == 1
    with session_scope(engine_for(url)) as session:
        rows = {row["source"]: row for row in repo.report_rows(session)}
    assert rows["scanner-batch.pdf"]["status"] == "split"
    numbers = [rows[f"scanner-batch.pdf, page {i}"]["invoice"]["invoice_number"] for i in (1, 2)]
    assert numbers == [part.number for part in parts]


def test_export_flow_writes_the_accepted_invoices_once(home: Path, tmp_path: Path) -> None:
    from prefect.artifacts import Artifact

    from flows.batch import batch_run
    from flows.export import export_accepted

    url, inbox = _sample_inbox(tmp_path, 3)
    accepted = batch_run(str(inbox), database_url=url).by_status.get("auto_approved", 0)
    assert accepted >= 1
    (written,) = export_accepted(str(tmp_path / "out"), database_url=url)
    assert written.invoices == accepted
    assert written.path.read_text(encoding="utf-8").count("\n") == accepted + 1
    artifact = Artifact.get("arflow-export")
    assert artifact is not None and written.sha256[:12] in str(artifact.data)
    assert export_accepted(str(tmp_path / "out"), database_url=url) == []


def test_audit_verify_flow_records_its_check_and_fails_on_a_broken_chain(
    home: Path, tmp_path: Path,
) -> None:
    from test_webapp import _tamper

    from flows.audit import ACTOR, audit_verify
    from models.audit import append_audit
    from models.audit_log import last_check

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = engine_for(url)
    with session_scope(engine) as session:
        for n in range(3):
            append_audit(session, actor="t", action="review.approve", entity="review_item",
                         entity_id=n, after={"n": n})
    check = audit_verify(database_url=url)
    assert (check["events"], check["broken"]) == (3, None)
    with session_scope(engine) as session:
        last = last_check(session)
        assert last is not None and (last.actor, last.events, last.broken) == (ACTOR, 3, None)
    with session_scope(engine) as session:  # more events, verified again
        append_audit(session, actor="t", action="review.approve", entity="review_item",
                     entity_id=9, after={"n": 9})
    assert audit_verify(database_url=url)["broken"] is None
    assert (home / "audit" / "head").exists()  # kept outside the database
    _tamper(engine, "DELETE FROM audit_events WHERE id >= 5")  # the newest cut off
    with pytest.raises(Exception, match="audit chain cut off"):
        audit_verify(database_url=url)
    _tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
    with pytest.raises(Exception, match="audit chain broken at event 2"):
        audit_verify(database_url=url)
    with session_scope(engine) as session:
        last = last_check(session)
        assert last is not None and last.broken == 2


def test_batch_flow_leaves_files_being_written_and_hidden_folders_alone(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flow plans as `arflow run --engine plain` does (`pipeline.plan_batch`): a file
    modified within the settle window is the next run's, a hidden folder is never read, and
    the batch's private copies of the files are removed afterwards."""
    from flows.batch import batch_run

    monkeypatch.setenv("ARFLOW_SETTLE_SECONDS", "30")
    url, inbox = _sample_inbox(tmp_path, 1)
    (sample,) = inbox.glob("*.pdf")
    os.utime(sample, (time.time() - 60, time.time() - 60))  # written a minute ago
    (inbox / ".sync").mkdir()
    shutil.copy2(sample, inbox / ".sync" / "copy.pdf")
    (inbox / "new.pdf").write_bytes(b"%PDF-1.4 half")
    summary = batch_run(str(inbox), database_url=url)
    assert summary.processed == 1 and summary.repeats == 0  # .sync/ not read
    assert summary.waiting == [str(inbox / "new.pdf")]
    assert list((home / "staging").iterdir()) == []


def test_poll_flow_fails_when_the_drop_folder_cannot_be_written(
    home: Path, tmp_path: Path,
) -> None:
    """A pass that leaves files in place (here every removal fails as on a read-only share)
    fails the flow run with the folder named, as `arflow poll` exits 1; once the folder can
    be written, the next pass finishes the moves and completes with its counts."""
    from test_dropfolder import _fail_removals_under

    from flows.poll import poll_drop_folder

    url, inbox = _sample_inbox(tmp_path, 1)
    with pytest.MonkeyPatch.context() as read_only:
        _fail_removals_under(inbox, read_only)
        state = poll_drop_folder(str(inbox), stable_delay=0, database_url=url,
                                 return_state=True)
    assert state.is_failed()
    assert "cannot be written" in str(state.message) and str(inbox) in str(state.message)
    done = poll_drop_folder(str(inbox), stable_delay=0, database_url=url)
    assert done["errors"] == 0 and done["resumed"] == 1 and not list(inbox.iterdir())


def test_batch_flow_skips_what_another_run_stored_meanwhile(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Planned before another run over the same inbox stored its files, the flow stores
    none of them again: its summary and its artifacts count them as skipped, as the
    database has it (`tests/test_batch_race.py`)."""
    from prefect.artifacts import Artifact

    from arflow.runner import run_batch
    from arflow.settings import load_settings
    from flows.batch import batch_run
    from tests.test_batch_race import another_run_meanwhile

    url, inbox = _sample_inbox(tmp_path, 3)
    settings = replace(load_settings(), database_url=url)
    other = another_run_meanwhile(monkeypatch, engine_for(url),
                                  lambda: run_batch(settings, inbox))
    summary = batch_run(str(inbox), database_url=url)
    winner, _ = other
    assert (winner.processed, summary.processed) == (3, 0)
    assert (summary.skipped, summary.by_another_run, summary.by_status) == (3, 3, {})
    with session_scope(engine_for(url)) as session:
        assert repo.report_rows(session, batch_id=summary.batch_id) == []
        assert len(repo.report_rows(session)) == 3
    table = Artifact.get("arflow-exceptions")
    assert table is not None and json.loads(str(table.data)) == []
    markdown = Artifact.get("arflow-batch-summary")
    assert markdown is not None and "| skipped (already processed) | 3 |" in str(markdown.data)
    assert "| of them stored by another run meanwhile | 3 |" in str(markdown.data)
