"""`arflow export`: accepted invoices handed on for posting and payment, each exactly once,
through interruptions and concurrent runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arflow.cli import cli
from arflow.db import session_scope
from arflow.export import ExportError, payable, run_export, write_again
from matching.engine import evaluate_batch
from matching.types import Candidate
from models import approvals, exports, repo
from models.audit import verify_chain
from models.db import AuditEvent, Document, ReviewItem
from models.domain import (
    DocumentKind,
    DocumentStatus,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    InvoiceType,
)
from models.domain import Party as PartyInfo
from tests.test_approvals import MATRIX, make_item, make_user, sample_invoice

D = Decimal
Loader = Callable[[Session], None]
CLEAN_TOTAL = "166.18"


def _sessions(engine: Engine) -> Callable[[], AbstractContextManager[Session]]:
    return lambda: session_scope(engine)


@contextmanager
def _session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def _accepted_and_open(engine: Engine, load_master: Loader) -> dict[str, int]:
    """A-1 auto-approved; A-2 (wrong total) approved by a clerk; A-3 rejected; A-4 open."""
    with _session(engine) as session:
        load_master(session)
        session.commit()
        auto = make_item_or_document(session, sample_invoice(CLEAN_TOTAL, "A-1"), "a1.pdf")
        items = {n: make_item(session, sample_invoice("999.00", n), f"{n}.pdf")
                 for n in ("A-2", "A-3", "A-4")}
        clerk = make_user(session, "ana", "clerk", "1000")
        approvals.approve(session, items["A-2"].id, user=clerk,
                          expected_version=items["A-2"].version, matrix=MATRIX)
        approvals.reject(session, items["A-3"].id, user=clerk,
                         expected_version=items["A-3"].version, reason="not ours", matrix=MATRIX)
        session.commit()
        return {"A-1": auto, **{n: item.document_id for n, item in items.items()}}


def make_item_or_document(session: Session, invoice: Invoice, source: str) -> int:
    """Store a clean invoice like a batch does (auto-approved: no review item); its id."""
    result = ExtractionResult(source=source, status=ExtractionStatus.OK,
                              kind=DocumentKind.DIGITAL, invoice=invoice, pages=1)
    decision = evaluate_batch([Candidate(source, invoice)], repo.load_master_data(session))[0]
    assert decision.status == DocumentStatus.AUTO_APPROVED, decision.reason_codes
    document = repo.create_document(session, sha256=source.ljust(64, "0"), source_name=source,
                                    size_bytes=1)
    repo.save_extraction(session, document, result, decision)
    session.commit()
    return document.id


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_accepted_invoices_are_exported_once_with_who_accepted_them(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    ids = _accepted_and_open(engine, load_master)
    first = run_export(_sessions(engine), tmp_path / "out", "csv", "cli:test")
    assert [(w.export_id, w.invoices) for w in first] == [(1, 2)]
    rows = _rows(first[0].path)
    assert [r["document_id"] for r in rows] == [str(ids["A-1"]), str(ids["A-2"])]
    auto, approved = rows
    assert (auto["status"], auto["approved_by"], auto["reasons"]) == (
        "auto_approved", "arflow (auto)", "")
    assert (approved["status"], approved["approved_by"]) == ("approved", "ana")
    assert approved["reasons"] == "ARITHMETIC_MISMATCH;QUANTITY_VARIANCE"  # A-1 billed it
    assert (auto["order_number"], auto["iban"], auto["iban_on_file"]) == (
        "PO-1001", "ES9121000418450200051332", "ES9121000418450200051332")
    assert (auto["total"], auto["payable"], approved["payable"]) == (
        "166.18", "166.18", "999.00")
    assert first[0].payable == {"EUR": D("1165.18")}
    assert run_export(_sessions(engine), tmp_path / "out", "csv", "cli:test") == []
    with _session(engine) as session:
        item = session.scalars(select(ReviewItem)
                               .where(ReviewItem.document_id == ids["A-4"])).one()
        approvals.approve(session, item.id, user=make_user(session, "bo", "clerk", "1000"),
                          expected_version=item.version, matrix=MATRIX)
        session.commit()
    later = run_export(_sessions(engine), tmp_path / "out", "csv", "cli:test")
    assert [r["document_id"] for r in _rows(later[0].path)] == [str(ids["A-4"])]
    with _session(engine) as session:
        assert verify_chain(session) is None
        actions = session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.entity == "export")).all()
        assert actions == ["export.create", "export.write"] * 2


def test_an_interrupted_export_is_written_by_the_next_run_and_no_invoice_is_taken_twice(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    _accepted_and_open(engine, load_master)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the export folder should be")
    with pytest.raises(ExportError) as failed:
        run_export(_sessions(engine), blocked, "csv", "cli:test")
    assert failed.value.code == "EXPORT_WRITE_FAILED"
    with _session(engine) as session:
        (pending,) = exports.pending(session)
        assert pending.documents == 2 and exports.exportable(session) == 0
    resumed = run_export(_sessions(engine), tmp_path / "out", "csv", "cli:test")
    assert [(w.export_id, w.resumed, w.invoices) for w in resumed] == [(1, True, 2)]
    assert resumed[0].path == (tmp_path / "out" / "arflow-export-000001.csv").resolve()
    assert len(_rows(resumed[0].path)) == 2
    assert run_export(_sessions(engine), tmp_path / "out", "csv", "cli:test") == []


def test_writing_an_export_again_gives_the_same_bytes(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    _accepted_and_open(engine, load_master)
    (written,) = run_export(_sessions(engine), tmp_path / "out", "jsonl", "cli:test")
    original = written.path.read_bytes()
    written.path.unlink()
    again = write_again(_sessions(engine), 1, "cli:test", tmp_path / "elsewhere")
    assert again.identical is True and again.sha256 == written.sha256
    assert again.path.read_bytes() == original
    with pytest.raises(ExportError) as missing:
        write_again(_sessions(engine), 9, "cli:test")
    assert missing.value.code == "EXPORT_NOT_FOUND"


def test_jsonl_holds_the_lines_and_the_order_lines_they_billed(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    _accepted_and_open(engine, load_master)
    (written,) = run_export(_sessions(engine), tmp_path, "jsonl", "cli:test")
    auto = json.loads(written.path.read_text(encoding="utf-8").splitlines()[0])
    assert [ln["description"] for ln in auto["invoice"]["lines"]] == ["Widgets", "Bolts, M8"]
    assert auto["matches"] == [
        {"invoice_line": 0, "order_number": "PO-1001", "order_line": 1, "quantity": "10"},
        {"invoice_line": 1, "order_number": "PO-1001", "order_line": 2, "quantity": "100"}]
    assert auto["party"]["tax_id"] == "ESB58378431"


@pytest.mark.parametrize("runs", [4])
def test_concurrent_exports_take_disjoint_invoices(
    engine: Engine, load_master: Loader, tmp_path: Path, runs: int,
) -> None:
    with _session(engine) as session:
        load_master(session)
        session.commit()
        for n in range(40):
            invoice = replace(sample_invoice("999.00", f"C-{n}"), order_number=None)
            make_item(session, invoice, f"c{n}.pdf")
    with _session(engine) as session:
        user = make_user(session, "mo", "finance_lead", None)
        for item in session.scalars(select(ReviewItem)).all():
            approvals.approve(session, item.id, user=user, expected_version=item.version,
                              matrix=MATRIX)
        session.commit()
    found: list[list[str]] = []
    errors: list[BaseException] = []

    def export() -> None:
        try:
            for written in run_export(_sessions(engine), tmp_path, "csv", "cli:test"):
                found.append([r["document_id"] for r in _rows(written.path)])
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=export) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    exported = [doc for file in found for doc in file]
    assert len(exported) == len(set(exported)) == 40
    with _session(engine) as session:
        assert session.scalar(select(Document.id).where(Document.export_id.is_(None),
                                                        Document.status == "approved")) is None


def test_a_credit_note_is_payable_negative_and_hostile_text_cannot_run_in_a_spreadsheet(
    engine: Engine, load_master: Loader, tmp_path: Path,
) -> None:
    with _session(engine) as session:
        load_master(session)
        session.commit()
        hostile = PartyInfo(name='=HYPERLINK("http://evil.example","x")', tax_id="ESB58378431")
        credit = replace(sample_invoice("166.18", "AB-1"), invoice_type=InvoiceType.CREDIT_NOTE,
                         preceding_invoice="A-0", seller=hostile)
        item = make_item(session, credit, "ab1.pdf")
        approvals.approve(session, item.id, user=make_user(session, "ana", "clerk", "1000"),
                          expected_version=item.version, matrix=MATRIX)
        session.commit()
    (written,) = run_export(_sessions(engine), tmp_path, "csv", "cli:test")
    (row,) = _rows(written.path)
    assert (row["invoice_type"], row["total"], row["payable"]) == (
        "credit_note", "166.18", "-166.18")
    assert row["seller_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert written.payable == {"EUR": D("-166.18")}


def test_payable_is_the_amount_due_after_withholding() -> None:
    invoice = {"total": "121.00", "withholding": "15.00", "invoice_type": "invoice"}
    assert payable(invoice) == D("106.00")
    assert payable({**invoice, "invoice_type": "credit_note", "total": "-121.00"}) == D("-136.00")
    assert payable({"total": None}) is None


def test_the_command_exports_lists_and_rewrites(
    runner: CliRunner, tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    data = Path(__file__).resolve().parent.parent / "data"
    for kind in ("parties", "orders", "receipts"):
        assert runner.invoke(cli, ["import", kind, str(data / f"{kind}.csv")]).exit_code == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for pdf in sorted((data / "invoices").glob("00[1-4]_*.pdf")):
        (inbox / pdf.name).write_bytes(pdf.read_bytes())
    assert runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"]).exit_code == 0
    report = runner.invoke(cli, ["report", "--json"]).output.splitlines()
    accepted = sum(json.loads(r)["status"] == "auto_approved" for r in report)
    assert accepted >= 1
    done = runner.invoke(cli, ["export"])
    assert done.exit_code == 0, done.output
    assert f"export 1: {accepted} invoice(s), payable" in done.output
    path = home / "exports" / "arflow-export-000001.csv"
    assert len(_rows(path)) == accepted
    assert "nothing to export" in runner.invoke(cli, ["export"]).output
    records = [json.loads(r) for r in runner.invoke(cli, ["report", "--json"]).output.splitlines()]
    assert {r["export_id"] for r in records if r["status"] == "auto_approved"} == {1}
    assert {r["export_id"] for r in records if r["status"] != "auto_approved"} == {None}
    listing = runner.invoke(cli, ["export", "--list"]).output
    assert listing.startswith("1\t") and "\twritten\t" in listing
    again = runner.invoke(cli, ["export", "--again", "1"])
    assert "identical to the file first written" in again.output
    missing = runner.invoke(cli, ["export", "--again", "7"])
    assert missing.exit_code != 0
