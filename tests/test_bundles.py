"""Files holding several invoices (a scanner's batch, merged PDFs): found page by page, flagged
MULTIPLE_INVOICES with every invoice's pages, and read as the first invoice, never as a mix.
A multi-page invoice stays whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arflow.cli import cli
from arflow.reasons import Reason
from extractors.api import extract_file
from extractors.bundles import segments
from extractors.digital import read_pdf
from generator import generate_documents, load_ground_truth, render_scanned
from generator.bundles import BundlePart, write_bundle
from models.domain import ExtractionResult

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


def test_a_bundle_goes_to_review_through_arflow_run(
    runner: CliRunner, documents: list[Path], tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    write_bundle(documents[:2], inbox / "scanner-batch.pdf")
    result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in
             runner.invoke(cli, ["report", "--json"]).output.splitlines()]
    assert row["status"] == "needs_review"
    assert "MULTIPLE_INVOICES" in row["reasons"]
