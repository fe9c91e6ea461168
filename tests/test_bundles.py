"""Files holding several invoices (a scanner's batch, merged PDFs): found page by page and
flagged MULTIPLE_INVOICES with every invoice's pages, never read as a mix; in every channel
each invoice becomes a document of its own. A multi-page invoice stays whole."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from arflow.cli import cli
from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.reasons import Reason
from arflow.settings import load_settings
from extractors.api import extract_file
from extractors.bundles import segments
from extractors.digital import read_pdf
from extractors.ocr import pages
from generator import generate_documents, load_ground_truth, render_scanned
from generator.bundles import BundlePart, write_bundle
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, poll_once
from models import db
from models.domain import ExtractionResult, WordBox

DATA = Path(__file__).parent / "data"
SEED = 88  # six documents, the fourth of two pages


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_documents(tmp_path_factory.mktemp("generated"), 6, SEED)


def _found(parts: list[BundlePart]) -> str:
    return "; ".join(
        f"page {p.first + 1} ({p.number})" if p.first == p.last
        else f"pages {p.first + 1}-{p.last + 1} ({p.number})" for p in parts)


def _bundle_problem(result: ExtractionResult) -> str | None:
    return next((p.found for p in result.errors if p.code == Reason.MULTIPLE_INVOICES), None)


def test_a_digital_bundle_is_found_invoice_by_invoice(
    documents: list[Path], tmp_path: Path,
) -> None:
    parts = write_bundle(documents, tmp_path / "batch.pdf")
    assert [(p.first, p.last) for p in parts][3] == (3, 4)  # a two-page invoice inside
    words = read_pdf(tmp_path / "batch.pdf", 200)
    assert [(s.first, s.last, s.number) for s in segments(words.pages)] == [
        (p.first, p.last, p.number) for p in parts]
    result = extract_file(tmp_path / "batch.pdf")
    assert _bundle_problem(result) == _found(parts)
    first = load_ground_truth(documents[0])
    assert (result.invoice.invoice_number, result.invoice.total) == (first.invoice_number,
                                                                     first.total)
    assert len(result.invoice.lines) == len(first.lines)  # no line of another invoice
    assert result.pages == 7


def test_single_invoices_are_not_split(documents: list[Path]) -> None:
    """Generated invoices (one of two pages) and every multi-page real PDF in tests/data."""
    readings = {p: read_pdf(p, 200) for p in sorted(DATA.rglob("*.pdf"))}
    real = [p for p, words in readings.items() if len(words.pages) > 1 and words.char_count > 20]
    assert len(real) >= 6
    for path in [*documents, *real]:
        assert _bundle_problem(extract_file(path)) is None, path.name


def test_a_scanned_bundle_is_found_with_tesseract(documents: list[Path], tmp_path: Path) -> None:
    parts = write_bundle(documents[2:4], tmp_path / "two.pdf")  # 1 page + 2 pages
    scan = render_scanned(tmp_path / "two.pdf", tmp_path / "two.scan.pdf", seed=5)
    result = extract_file(scan)
    assert result.kind == "scanned"
    found = _bundle_problem(result)
    assert found is not None and found.startswith("page 1 (") and "; pages 2-3 (" in found
    assert parts[0].number is not None and parts[0].number in found
    assert result.invoice.total == load_ground_truth(documents[2]).total


def test_arflow_run_stores_each_invoice_of_a_bundle_as_a_document(
    runner: CliRunner, documents: list[Path], tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    parts = write_bundle(documents[2:4], inbox / "scanner-batch.pdf")  # 1 page + 2 pages
    original = (inbox / "scanner-batch.pdf").read_bytes()
    first, again = (runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
                    for _ in range(2))  # the second run finds nothing new
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert "UNKNOWN_PARTY" in first.output  # the parts' reasons are listed as needing review,
    assert "MULTIPLE_INVOICES" not in first.output  # the split file's is not
    rows = {row["source"]: row for row in map(
        json.loads, runner.invoke(cli, ["report", "--json"]).output.splitlines())}
    assert sorted(rows) == ["scanner-batch.pdf", "scanner-batch.pdf, page 1",
                            "scanner-batch.pdf, pages 2-3"]
    bundle = rows["scanner-batch.pdf"]
    assert (bundle["status"], bundle["reasons"]) == ("split", ["MULTIPLE_INVOICES"])
    for name, part in zip(["scanner-batch.pdf, page 1", "scanner-batch.pdf, pages 2-3"], parts,
                          strict=True):
        invoice = rows[name]["invoice"]
        assert isinstance(invoice, dict) and invoice["invoice_number"] == part.number
        assert rows[name]["status"] == "needs_review"  # no master data: unknown party
        assert "MULTIPLE_INVOICES" not in rows[name]["reasons"]
    assert (inbox / "scanner-batch.pdf").read_bytes() == original  # kept as it arrived
    settings = load_settings()
    assert len(list(settings.split_dir.glob("*.pdf"))) == 2
    with session_scope(engine_for(settings.database_url)) as session:
        documents_by_name = {d.source_name: d for d in session.scalars(select(db.Document))}
        parent = documents_by_name["scanner-batch.pdf"]
        assert parent.invoice is None
        assert {d.parent_id for n, d in documents_by_name.items() if n != parent.source_name} == {
            parent.id}


def _scanned_pair(
    documents: list[Path], tmp_path: Path, name: str, seed: int,
) -> tuple[list[BundlePart], Path]:
    """Two one-page invoices scanned into one file `name` in an inbox of its own."""
    parts = write_bundle([documents[0], documents[4]], tmp_path / "two.pdf")
    inbox = tmp_path / "inbox"
    render_scanned(tmp_path / "two.pdf", inbox / name, seed=seed)
    return parts, inbox


def test_a_scanned_tiff_bundle_is_split_into_tiffs(
    runner: CliRunner, documents: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts, inbox = _scanned_pair(documents, tmp_path, "scanner.tif", seed=7)
    read_by_tesseract = []
    real = pages.ocr_page

    def counted(page: pages.PageImage, **kwargs: Any) -> list[WordBox]:
        read_by_tesseract.append(page.index)
        return real(page, **kwargs)

    monkeypatch.setattr(pages, "ocr_page", counted)  # one worker: read in this process
    result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert result.exit_code == 0, result.output
    assert read_by_tesseract == [0, 1]  # the parts' pages came from the page cache
    assert not list((load_settings().home / "cache").iterdir())  # removed after the step
    rows = {row["source"]: row for row in map(
        json.loads, runner.invoke(cli, ["report", "--json"]).output.splitlines())}
    assert rows["scanner.tif"]["status"] == "split"
    for index, part in enumerate(parts, start=1):
        invoice = rows[f"scanner.tif, page {index}"]["invoice"]
        assert isinstance(invoice, dict) and invoice["invoice_number"] == part.number
    split = sorted(load_settings().split_dir.iterdir())
    assert [p.suffix for p in split] == [".tif", ".tif"]
    with Image.open(split[0]) as image:
        assert image.info.get("dpi") is not None  # the resolution the scan stated, kept


def test_a_bundle_dropped_in_the_drop_folder_is_split(
    documents: list[Path], tmp_path: Path, db_url: str,
) -> None:
    settings = replace(load_settings({"ARFLOW_HOME": str(tmp_path / "home")}),
                       database_url=db_url, workers=1)
    inbox = tmp_path / "drop"
    write_bundle(documents[:3], inbox / "batch.pdf")
    ctx = open_context(settings, "drop:test")
    assert poll_once(ctx, DropFolder.from_settings(settings, inbox, stable_delay=0.01)
                     ).outcomes == {"processed": 1}
    with session_scope(ctx.engine) as session:
        stored = {d.source_name: d.status for d in session.scalars(select(db.Document))}
        assert stored == {"batch.pdf": "split", "batch.pdf, page 1": "needs_review",
                          "batch.pdf, page 2": "needs_review",
                          "batch.pdf, page 3": "needs_review"}
        assert session.scalar(select(func.count()).select_from(db.Invoice)) == 3


def _pages_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF of plain text lines, one list of lines per page."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for lines in pages:
        for index, text in enumerate(lines):
            pdf.setFont("Helvetica", 10)
            pdf.drawString(60, A4[1] - 60 - 18 * index, text)
        pdf.showPage()
    pdf.save()
    return path


_HEAD = ["Ferretería del Norte SL - CIF B08181596", "FACTURA"]


@pytest.mark.parametrize(("pages", "expected"), [
    # the second invoice's number unread: a date and a total right after the first's total
    ([[*_HEAD, "Nº factura: A-1", "Fecha: 01/03/2026", "TOTAL 121,00 EUR"],
      [*_HEAD, "Fecha: 02/03/2026", "TOTAL 60,50 EUR"]], [(0, 0, "A-1"), (1, 1, None)]),
    # another number with a total but no date read
    ([[*_HEAD, "Nº factura: A-1", "Fecha: 01/03/2026", "TOTAL 121,00 EUR"],
      [*_HEAD, "Nº factura: A-2", "TOTAL 60,50 EUR"]], [(0, 0, "A-1"), (1, 1, "A-2")]),
    # one invoice: a summary page with the total, then its details stating it again
    ([[*_HEAD, "Nº factura: A-1", "Fecha: 01/03/2026", "TOTAL 121,00 EUR"],
      [*_HEAD, "Fecha: 01/03/2026", "TOTAL 121,00 EUR"]], [(0, 1, "A-1")]),
    # one invoice: its total only on the last page
    ([[*_HEAD, "Nº factura: A-1", "Fecha: 01/03/2026", "Suma y sigue"],
      [*_HEAD, "Fecha: 01/03/2026", "TOTAL 60,50 EUR"]], [(0, 1, "A-1")]),
    # one invoice printed twice (original and copy): the same number
    ([[*_HEAD, "Nº factura: A-1", "Fecha: 01/03/2026", "TOTAL 121,00 EUR"],
      [*_HEAD, "Nº factura: a-1", "Fecha: 01/03/2026", "TOTAL 121,00 EUR"]], [(0, 1, "A-1")]),
])
def test_where_an_invoice_starts(
    pages: list[list[str]], expected: list[tuple[int, int, str | None]], tmp_path: Path,
) -> None:
    words = read_pdf(_pages_pdf(tmp_path / "pages.pdf", pages), 10)
    assert [(s.first, s.last, s.number) for s in segments(words.pages)] == expected


def test_a_failed_scanned_bundle_is_split_when_retried(
    runner: CliRunner, documents: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts, inbox = _scanned_pair(documents, tmp_path, "batch.pdf", seed=3)
    monkeypatch.setenv("ARFLOW_OCR_TIMEOUT", "0.01")  # no page can be read that fast
    assert runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"]).exit_code == 0
    monkeypatch.setenv("ARFLOW_OCR_TIMEOUT", "120")  # the cause is fixed
    retried = runner.invoke(cli, ["retry", "--reason", "OCR_FAILED"])
    assert retried.exit_code == 0, retried.output
    rows = {row["source"]: row for row in map(
        json.loads, runner.invoke(cli, ["report", "--json"]).output.splitlines())}
    assert rows["batch.pdf"]["status"] == "split"
    numbers = [rows[f"batch.pdf, page {i}"]["invoice"]["invoice_number"] for i in (1, 2)]
    assert numbers == [part.number for part in parts]
