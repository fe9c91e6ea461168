"""Income-tax withholding (IRPF retención, ritenuta d'acconto) in printed documents: the
withholding read from its label and tied to the total by the arithmetic
(``extractors.totals.withheld``), so that the total is the invoice total with tax and before
the withholding (EN 16931 BT-112), on generated digital PDFs of every layout, their scans
read by Tesseract, hand-made invoices with and without a "Total factura" row, and through
``arflow run``; OCR readings combined without splitting a total from its withholding; the
generator's opt-in withholding."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fieldreadings import reading
from handmade import invoice_pdf

from arflow.cli import cli
from extractors.api import extract_file
from extractors.ocr import tesseract
from extractors.ocr.consensus import vote
from extractors.ocr.engines import combine
from generator import LAYOUTS, generate_documents, load_ground_truth, render_scanned
from generator.invoices import document_seeds, load_record, write_document
from generator.model import Document, random_document, side_stream
from generator.withholding import eligible, make_withholding
from models.domain import DocumentKind

AMOUNTS = ("subtotal", "tax_total", "total", "withholding")
DATA = Path(__file__).resolve().parents[1] / "data"

needs_tesseract = pytest.mark.skipif(not tesseract.available(), reason="tesseract not installed")


def _withheld(out: Path, per_layout: int) -> list[tuple[Path, Document]]:
    """`per_layout` documents of each layout with a withholding: the Spanish ones that may
    have one, and English classic ones (no classic document is Spanish) given one anyway."""
    found: list[tuple[Path, Document]] = []
    for index, seed in enumerate(document_seeds(4242, 400)):
        layout = LAYOUTS[index % len(LAYOUTS)]
        doc = random_document(seed, layout)
        if sum(d.layout == layout for _, d in found) >= per_layout or not (
                eligible(doc) or layout == "classic"):
            continue
        make_withholding(doc, side_stream("withholding", seed))
        found.append((write_document(doc, out, f"w_{index:03d}_{layout}"), doc))
    return found


def _amounts(path: Path) -> dict[str, Decimal | None]:
    inv = extract_file(path).invoice
    return {name: inv.get(name) for name in AMOUNTS}


def _truth(pdf: Path) -> dict[str, Decimal | None]:
    truth = load_ground_truth(pdf)
    return {name: truth.get(name) for name in AMOUNTS}


def test_generated_withholding_read_from_the_text_layer_of_every_layout(tmp_path: Path) -> None:
    docs = _withheld(tmp_path, 4)
    assert {d.layout for _, d in docs} == set(LAYOUTS)
    styles = [d.withholding for _, d in docs]
    assert all(s is not None for s in styles)
    assert {s.negative for s in styles if s} == {True, False}
    assert {s.gross_label is None for s in styles if s} == {True, False}
    for pdf, doc in docs:
        truth = _truth(pdf)
        sub, tax = doc.invoice.subtotal, doc.invoice.tax_total
        assert sub is not None and tax is not None and truth["total"] == sub + tax
        assert truth["withholding"] == doc.invoice.withholding and truth["withholding"]
        assert _amounts(pdf) == truth, pdf.name


@needs_tesseract
@pytest.mark.parametrize("layout", ["boxes", "modern"])
def test_scanned_withholding_read_by_tesseract(tmp_path: Path, layout: str) -> None:
    pdf = generate_documents(tmp_path, 1, 31, layouts=[layout], withholding=1.0)[0]
    truth = _truth(pdf)
    assert truth["withholding"] is not None
    scan = render_scanned(pdf, tmp_path / f"{pdf.stem}.scan.png", seed=31)
    result = extract_file(scan)
    assert result.kind == DocumentKind.SCANNED
    assert {name: result.invoice.get(name) for name in AMOUNTS} == truth
    assert result.evidence["withholding"][0].conf < 1.0  # an OCR word, not the text layer


ROWS_ES = [("Base imponible", "1.000,00 €"), ("IVA 21%", "210,00 €"),
           ("Retención IRPF 15%", "-150,00 €"), ("Total a pagar", "1.060,00 €")]


EXPECTED = {"subtotal": Decimal("1000.00"), "tax_total": Decimal("210.00"),
            "total": Decimal("1210.00"), "withholding": Decimal("150.00")}


@pytest.mark.parametrize("rows", [
    ROWS_ES,  # the lead's example: the amount due is the only total printed
    [*ROWS_ES[:2], ("Total factura", "1.210,00 €"), *ROWS_ES[2:]],
    [*ROWS_ES[:2], ("Retención 15%", "150,00 €"), ROWS_ES[3]],  # no minus sign
    [*ROWS_ES[:2], ("IRPF 15%", "-150,00 €"), ("Líquido a percibir", "1.060,00 €")],
    [("Subtotal", "1.000,00 €"), ("VAT 21%", "210,00 €"),
     ("Withholding tax (IRPF) 15%", "-150,00 €"), ("Total due", "1.060,00 €")],
], ids=["due-only", "total-factura", "unsigned", "bare-irpf", "english"])
def test_hand_made_invoice_total_is_before_the_withholding(
    tmp_path: Path, rows: list[tuple[str, str]]
) -> None:
    result = extract_file(invoice_pdf(tmp_path / "irpf.pdf", rows))
    assert {name: result.invoice.get(name) for name in AMOUNTS} == EXPECTED
    assert result.invoice.amount_due == Decimal("1060.00")
    assert result.confidence["total"] >= 0.9 and result.confidence["withholding"] >= 0.9
    held = [w.text for w in result.evidence["withholding"]]
    assert held[0] in ("-150,00", "150,00")
    if not any(name.startswith("Total factura") for name, _ in rows):
        # no printed 1.210,00: the total's evidence is the subtotal's and the tax's words
        texts = [w.text for w in result.evidence["total"]]
        assert texts == ["1.000,00", "€", "210,00", "€"]


def test_invoice_without_withholding_reads_as_before(tmp_path: Path) -> None:
    rows = [*ROWS_ES[:2], ("Total factura", "1.210,00 €")]
    result = extract_file(invoice_pdf(tmp_path / "plain.pdf", rows))
    inv = result.invoice
    assert (inv.subtotal, inv.tax_total, inv.total) == (
        Decimal("1000.00"), Decimal("210.00"), Decimal("1210.00"))
    assert inv.withholding is None and "withholding" not in result.confidence
    assert [w.text for w in result.evidence["total"]] == ["1.210,00", "€"]


def test_unexplained_amount_due_sets_no_withholding(tmp_path: Path) -> None:
    """The amount due printed does not equal total - withholding: nothing is guessed."""
    rows = [*ROWS_ES[:2], ("Total factura", "1.210,00 €"), ("Retención IRPF 15%", "-150,00 €"),
            ("Total a pagar", "1.050,00 €")]
    inv = extract_file(invoice_pdf(tmp_path / "odd.pdf", rows)).invoice
    assert inv.total == Decimal("1210.00") and inv.withholding is None


def test_opt_in_withholding_leaves_the_other_documents_unchanged(tmp_path: Path) -> None:
    plain = generate_documents(tmp_path / "plain", 12, 21)
    mixed = generate_documents(tmp_path / "mixed", 12, 21, withholding=0.6)
    held = []
    for before, after in zip(plain, mixed, strict=True):
        record = load_record(after)["invoice"]
        held.append(record["withholding"] is not None)
        if record["withholding"] is None:
            assert after.read_bytes() == before.read_bytes()
            assert load_record(after) == load_record(before)
        else:
            assert load_record(after)["language"] == "es"
            assert record["total"] == load_record(before)["invoice"]["total"]
            assert _amounts(after) == _truth(after)
    assert any(held) and not all(held)
    assert extract_file(plain[0]).invoice.withholding is None


def test_combined_ocr_readings_keep_the_total_with_its_withholding() -> None:
    due = {"subtotal": Decimal(1000), "tax_total": Decimal(210), "total": Decimal(1060)}
    right = {**due, "total": Decimal(1210), "withholding": Decimal(150)}
    both = combine(reading(**due), reading(**right))  # the one whose sums add up wins
    assert (both.invoice.total, both.invoice.withholding) == (Decimal(1210), Decimal(150))
    assert both.confidence["withholding"] == pytest.approx(0.72)
    voted = vote(reading(**due), [reading(**right), reading(**right)])
    assert (voted.invoice.total, voted.invoice.withholding) == (Decimal(1210), Decimal(150))
    kept = vote(reading(**right), [reading(**due), reading()])  # the first reading stands
    assert (kept.invoice.total, kept.invoice.withholding) == (Decimal(1210), Decimal(150))


def test_a_printed_irpf_invoice_passes_arflow_run_without_arithmetic_mismatch(
    runner: CliRunner, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for kind in ("parties", "orders", "receipts"):
        assert runner.invoke(cli, ["import", kind, str(DATA / f"{kind}.csv")]).exit_code == 0
    invoice_pdf(inbox / "irpf.pdf", ROWS_ES)
    shutil.copy(DATA / "invoices" / "002_transportes_alcazar.pdf", inbox / "plain.pdf")
    result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert result.exit_code == 0, result.output
    out = runner.invoke(cli, ["report", "--json"]).output
    rows = {row["source"]: row for row in map(json.loads, out.splitlines())}
    row = rows["irpf.pdf"]
    assert "ARITHMETIC_MISMATCH" not in row["reasons"], row["reasons"]
    assert (row["invoice"]["total"], row["invoice"]["withholding"]) == ("1210.00", "150.00")
    assert rows["plain.pdf"]["invoice"]["withholding"] is None


def test_italian_ritenuta_d_acconto(tmp_path: Path) -> None:
    rows = [("Imponibile", "1.000,00 €"), ("IVA 22%", "220,00 €"),
            ("Totale documento", "1.220,00 €"), ("Ritenuta d'acconto 20%", "-200,00 €"),
            ("Netto a pagare", "1.020,00 €")]
    inv = extract_file(invoice_pdf(tmp_path / "ritenuta.pdf", rows)).invoice
    assert {name: inv.get(name) for name in AMOUNTS} == {
        "subtotal": Decimal("1000.00"), "tax_total": Decimal("220.00"),
        "total": Decimal("1220.00"), "withholding": Decimal("200.00")}


def test_amount_due_is_not_the_total_when_no_subtotal_is_read(tmp_path: Path) -> None:
    """Two printed totals 150,00 apart beside a withholding of 150,00: the larger is the
    invoice total, the smaller what is paid (an OCR reading that lost the subtotal)."""
    rows = [("IVA 21%", "210,00 €"), ("Importe total", "1.210,00 €"),
            ("Ret. IRPF 15%", "-150,00 €"), ("Líquido a percibir", "1.060,00 €")]
    result = extract_file(invoice_pdf(tmp_path / "nosub.pdf", rows))
    inv = result.invoice
    assert (inv.subtotal, inv.total, inv.withholding) == (
        None, Decimal("1210.00"), Decimal("150.00"))
    assert [w.text for w in result.evidence["total"]] == ["1.210,00", "€"]


def test_negative_withholding_with_a_space_as_thousands_separator(tmp_path: Path) -> None:
    """"-1 500,00" is one amount (two words with a narrow gap), not -1 and 500,00."""
    rows = [("Base imponible", "10 000,00 €"), ("IVA 21%", "2 100,00 €"),
            ("Retención IRPF 15%", "-1 500,00 €"), ("Total a pagar", "10 600,00 €")]
    inv = extract_file(invoice_pdf(tmp_path / "space.pdf", rows)).invoice
    assert (inv.total, inv.withholding) == (Decimal("12100.00"), Decimal("1500.00"))


def test_a_withholding_split_in_two_is_read_from_the_two_totals(tmp_path: Path) -> None:
    """"-1" and "184,95" too far apart to be one amount (as OCR boxes them): the two
    printed totals ask for 1.184,95 and its digits follow the label as one number."""
    rows = [("Base imponible", "6.236,57 €"), ("IVA 21%", "1.309,68 €"),
            ("Importe total", "7.546,25 €"), ("Retención IRPF 19%", "-1"),
            ("Líquido a percibir", "6.361,30 €")]
    result = extract_file(invoice_pdf(tmp_path / "split.pdf", rows,
                                       extra=((496, 256 + 18 * 3, "184,95 €"),)))
    assert result.invoice.total == Decimal("7546.25")
    assert result.invoice.withholding == Decimal("1184.95")
    assert [w.text for w in result.evidence["withholding"]][:2] == ["-1", "184,95"]
    assert result.confidence["withholding"] < 0.9  # a reread, not a reading
