"""`arflow retry`: failed documents are read again from their kept bytes once the cause is
fixed. The fault is real: Tesseract given a timeout it cannot meet, then a sane one."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from arflow import progress
from arflow.cli import cli
from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.intake import fingerprint
from arflow.retry import retry_failed
from arflow.settings import load_settings
from generator.scanned import render_scanned
from models import repo
from models.db import AuditEvent
from models.types import utcnow

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SAMPLE = "001_ferreteria_hermanos.pdf"


def _report(runner: CliRunner) -> dict[str, dict[str, object]]:
    rows = [json.loads(x) for x in runner.invoke(cli, ["report", "--json"]).output.splitlines()]
    return {str(r["source"]): r for r in rows}


def test_failed_documents_are_read_again_once_the_cause_is_fixed(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    render_scanned(DATA / "invoices" / SAMPLE, inbox / "scan.pdf", seed=5, dpi=200)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    for kind in ("parties", "orders", "receipts"):
        assert runner.invoke(cli, ["import", kind, str(DATA / f"{kind}.csv")]).exit_code == 0
    monkeypatch.setenv("ARFLOW_OCR_TIMEOUT", "0.01")  # no page can be read that fast
    assert runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"]).exit_code == 0
    before = _report(runner)
    assert before["scan.pdf"]["status"] == "failed"
    assert "OCR_FAILED" in str(before["scan.pdf"]["reasons"])

    monkeypatch.setenv("ARFLOW_OCR_TIMEOUT", "120")  # the cause is fixed
    shutil.rmtree(inbox)  # the bytes now live only in quarantine/
    fixed = runner.invoke(cli, ["retry", "--reason", "OCR_FAILED"])
    assert fixed.exit_code == 0, fixed.output
    assert "scan.pdf: was OCR_FAILED ->" in fixed.output and "1 retried: " in fixed.output
    after = _report(runner)
    assert after["scan.pdf"]["status"] in ("auto_approved", "needs_review")
    assert after["scan.pdf"]["invoice"]["invoice_number"] == before_digital_number()
    assert after["broken.pdf"]["status"] == "failed"  # not asked for: untouched

    again = runner.invoke(cli, ["retry"])  # everything failed: the broken file stays failed
    assert again.exit_code == 0 and "broken.pdf: was" in again.output
    assert _report(runner)["broken.pdf"]["status"] == "failed"

    for kept in (tmp_path / "home" / "quarantine").glob("*broken.pdf*"):
        kept.unlink()
    lost = runner.invoke(cli, ["retry"])
    assert lost.exit_code == 1 and "bytes not found" in lost.output

    engine = engine_for(load_settings().database_url)
    with session_scope(engine) as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert actions.count("document.retry") == 2
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0


def before_digital_number() -> str:
    """The invoice number the digital original carries (the scan must read the same)."""
    result = CliRunner().invoke(cli, ["extract", "--json", str(DATA / "invoices" / SAMPLE)])
    return str(json.loads(result.output)["invoice"]["invoice_number"])


def _claim_stuck(path: Path, minutes_ago: int) -> None:
    """A document row left `received` by a worker that crashed `minutes_ago`."""
    file = fingerprint(path)
    engine = engine_for(load_settings().database_url)
    with session_scope(engine) as session:
        document, _ = repo.claim_document(session, sha256=file.sha256, source_name=file.name,
                                          size_bytes=file.size, original_path=str(file.path))
        document.received_at = utcnow() - timedelta(minutes=minutes_ago)


def test_documents_stuck_in_received_are_taken_up_or_reported(
    runner: CliRunner, tmp_path: Path
) -> None:
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    kept, gone, fresh = (inbox / n for n in ("kept.pdf", "gone.pdf", "fresh.pdf"))
    for target, sample in zip((kept, gone, fresh), sorted((DATA / "invoices").glob("*.pdf")),
                              strict=False):
        shutil.copy(sample, target)
    _claim_stuck(kept, 60)
    _claim_stuck(gone, 60)
    _claim_stuck(fresh, 1)  # may still be in a live worker's hands: left alone
    gone.unlink()
    result = runner.invoke(cli, ["retry"])
    assert result.exit_code == 1, result.output  # one document's bytes are gone
    assert "kept.pdf: was received -> " in result.output
    assert "gone.pdf: was received -> bytes not found" in result.output
    assert "fresh.pdf" not in result.output
    statuses = {name: row["status"] for name, row in _report(runner).items()}
    assert statuses["kept.pdf"] in ("auto_approved", "needs_review")
    assert statuses["gone.pdf"] == statuses["fresh.pdf"] == "received"


def test_a_file_arflow_fails_on_unexpectedly_does_not_stop_the_batch(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: an extractor's bug (any exception it does not expect) stopped `arflow run`
    with exit 70, nothing stored, and every later run stopped on the same file. Now that
    file fails with INTERNAL_ERROR, the others are decided, and `arflow retry --reason
    INTERNAL_ERROR` reads it again once the bug is fixed."""
    from extractors.api import register_extractor, unregister_extractor

    def buggy(probe: object, settings: object) -> object:
        raise RuntimeError("an extractor bug")

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(DATA / "invoices" / SAMPLE, inbox / SAMPLE)
    shutil.copy(DATA / "invoices" / "002_transportes_alcazar.pdf", inbox / "poison.pdf")
    monkeypatch.setenv("ARFLOW_SETTLE_SECONDS", "0")
    register_extractor(lambda probe: probe.path.name == "poison.pdf", buggy,  # type: ignore[arg-type]
                       first=True)
    try:
        ran = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    finally:
        unregister_extractor(buggy)  # type: ignore[arg-type]
    assert ran.exit_code == 0, ran.output
    before = _report(runner)
    assert before[SAMPLE]["status"] in ("auto_approved", "needs_review")
    assert before["poison.pdf"]["status"] == "failed"
    assert "INTERNAL_ERROR" in str(before["poison.pdf"]["reasons"])
    fixed = runner.invoke(cli, ["retry", "--reason", "INTERNAL_ERROR"])
    assert fixed.exit_code == 0, fixed.output
    assert _report(runner)["poison.pdf"]["status"] in ("auto_approved", "needs_review")


def test_retry_reports_its_progress(runner: CliRunner, tmp_path: Path) -> None:
    """`arflow retry` may read many documents again (OCR: seconds each): it tells the
    progress listener (the CLI's progress bar) how many and each one done."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    assert runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"]).exit_code == 0
    events: list[tuple[str, object]] = []

    class Recorder:
        def started(self, total: int) -> None:
            events.append(("started", total))

        def advanced(self, item: str) -> None:
            events.append(("advanced", item))

    settings = load_settings()
    engine = engine_for(settings.database_url)
    with session_scope(engine) as session:
        master = repo.load_master_data(session)
    with progress.listening(Recorder()):
        retry_failed(engine, settings, master)
    assert events == [("started", 1), ("advanced", "broken.pdf")]
