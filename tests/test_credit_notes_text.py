"""Credit notes and corrective invoices in printed documents: the type read from the title
and the referred invoice from its label (``extractors.doc_type``), on generated digital PDFs,
their scans read by Tesseract, a real Factur-X credit note's text layer, and invoices whose
payment text says "abono" or "credit"; the generator's opt-in credit notes; OCR readings
combined without losing the type."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from fieldreadings import reading
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from arflow.cli import cli
from extractors.api import digital_result, extract_file
from extractors.digital import read_pdf
from extractors.ocr import tesseract
from extractors.ocr.consensus import vote
from extractors.ocr.engines import combine
from generator import generate_documents, load_ground_truth, render_scanned
from generator.invoices import load_record
from models.domain import DocumentKind, InvoiceType

# the FNFE-MPE Factur-X credit note of the ZUGFeRD corpus (provenance: data/einvoice/SOURCE.md)
AVOIR = Path(__file__).parent / "data" / "einvoice" / "fnfe-Avoir_FR_type381_BASIC.pdf"
HEIGHT = A4[1]
SAMPLE = Path(__file__).resolve().parents[1] / "data"
FIELDS = ("invoice_type", "preceding_invoice", "invoice_number", "total", "issue_date")

needs_tesseract = pytest.mark.skipif(not tesseract.available(), reason="tesseract not installed")


def _mismatches(pdf: Path, scan: Path | None = None) -> list[str]:
    truth = load_ground_truth(pdf)
    got = extract_file(scan or pdf).invoice
    return [f"{pdf.name}:{f}: {truth.get(f)!r} != {got.get(f)!r}"
            for f in FIELDS if truth.get(f) != got.get(f)]


def test_generated_credit_notes_read_from_the_text_layer(tmp_path: Path) -> None:
    pdfs = generate_documents(tmp_path, 8, 4, credit_notes=1.0)  # every layout, EN and ES
    records = [load_record(p) for p in pdfs]
    assert {r["language"] for r in records} == {"en", "es"}
    assert {r["invoice"]["invoice_type"] for r in records} == {"credit_note", "corrected_invoice"}
    assert all(r["invoice"]["preceding_invoice"] for r in records)
    assert [m for pdf in pdfs for m in _mismatches(pdf)] == []


@needs_tesseract
@pytest.mark.parametrize(("seed", "layout", "kind"), [
    (4, "classic", InvoiceType.CREDIT_NOTE),  # CREDIT NOTE, Credit note no., EN
    (4, "boxes", InvoiceType.CREDIT_NOTE),  # NOTA DE ABONO, Nº de abono, ES
    (6, "boxes", InvoiceType.CORRECTED_INVOICE),  # FACTURA RECTIFICATIVA, ES
])
def test_scanned_credit_notes_read_by_tesseract(
    tmp_path: Path, seed: int, layout: str, kind: InvoiceType
) -> None:
    pdf = generate_documents(tmp_path, 1, seed, layouts=[layout], credit_notes=1.0)[0]
    assert load_ground_truth(pdf).invoice_type == kind
    scan = render_scanned(pdf, tmp_path / f"{pdf.stem}.scan.png", seed=seed)
    result = extract_file(scan)
    assert result.kind == DocumentKind.SCANNED
    assert _mismatches(pdf, scan) == []
    assert result.evidence["invoice_type"] and 0 < result.confidence["invoice_type"] <= 0.95
    assert result.evidence["preceding_invoice"][0].conf < 1.0  # an OCR word, not the layer


def _invoice_pdf(path: Path, title: str, notes: list[str],
                 number: str = "Nº Factura: F2026-0107", footer: str = "") -> Path:
    """A one-page invoice with ``title`` top right, ``notes`` in its header block and a
    ``footer`` line at the bottom."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    rows = [(40, 40, "Suministros Norte S.L.", 12), (400, 40, title, 16),
            (40, 58, "CIF: B95123452", 9), (330, 80, number, 9),
            (330, 92, "Fecha: 03/03/2026", 9)]
    rows += [(40, 110 + 12 * i, note, 9) for i, note in enumerate(notes)]
    rows += [(40, 200, "Descripción", 9), (400, 200, "Importe", 9),
             (40, 214, "Tornillería variada", 9), (400, 214, "100,00", 9),
             (330, 250, "Base imponible 100,00 €", 9), (330, 262, "IVA 21% 21,00 €", 9),
             (330, 274, "Total 121,00 €", 9), (40, 700, footer, 9)]
    for x, y, text, size in rows:
        pdf.setFont("Helvetica", size)
        pdf.drawString(x, HEIGHT - y, text)
    pdf.save()
    return path


PAYMENT_NOTES = [
    "Forma de pago: abono en cuenta ES12 2100 0418 4502 0005 1332",
    "Abono por transferencia a 30 días",
    "Nota de abono: se emitirá si hay devolución",
    "Payment by credit transfer or credit card",
    "Credit note requests: returns@example.com",
    "30 days credit",
]


def test_abono_and_credit_in_payment_text_leave_an_invoice(tmp_path: Path) -> None:
    notes = [*PAYMENT_NOTES, "Invoice reference: F2026-0107"]
    # a title word far below the top is no title either
    plain = extract_file(_invoice_pdf(tmp_path / "plain.pdf", "FACTURA", notes,
                                      footer="Credit note"))
    inv = plain.invoice
    assert inv.invoice_type == InvoiceType.INVOICE and "invoice_type" not in plain.confidence
    assert inv.preceding_invoice is None  # a weak label counts only on a credit note
    assert inv.invoice_number == "F2026-0107" and inv.issue_date == date(2026, 3, 3)


def test_the_same_page_titled_as_a_credit_note_is_one(tmp_path: Path) -> None:
    notes = [*PAYMENT_NOTES, "Invoice reference: F2025-0931"]
    path = _invoice_pdf(tmp_path / "abono.pdf", "NOTA DE ABONO", notes,
                        number="Nº de abono: AB-2026-0005")
    result = extract_file(path)
    assert result.invoice.invoice_type == InvoiceType.CREDIT_NOTE
    assert [w.text for w in result.evidence["invoice_type"]] == ["NOTA", "DE", "ABONO"]
    assert result.invoice.preceding_invoice == "F2025-0931"  # the weak label counts here
    assert result.invoice.invoice_number == "AB-2026-0005"


def test_a_strong_reference_label_names_the_credited_invoice(tmp_path: Path) -> None:
    notes = ["Rectifica a la factura nº F2025-0931"]
    result = extract_file(_invoice_pdf(tmp_path / "r.pdf", "Factura rectificativa", notes))
    assert result.invoice.invoice_type == InvoiceType.CORRECTED_INVOICE
    assert result.invoice.preceding_invoice == "F2025-0931"
    assert result.invoice.invoice_number == "F2026-0107"


def test_a_self_billed_gutschrift_is_not_a_credit_note(tmp_path: Path) -> None:
    selbst = "Gutschrift (Selbst ausgestellte Rechnung) Nr. 471102"
    assert extract_file(_invoice_pdf(tmp_path / "g.pdf", selbst, [])).invoice.invoice_type == (
        InvoiceType.INVOICE)
    credit = extract_file(_invoice_pdf(tmp_path / "c.pdf", "Gutschrift Nr. 471102", []))
    assert credit.invoice.invoice_type == InvoiceType.CREDIT_NOTE


def test_factur_x_avoir_text_layer_is_a_credit_note() -> None:
    """Its printed title is "Avoir AV-2017-0005"; the embedded XML is left aside."""
    result = digital_result(AVOIR, read_pdf(AVOIR))
    inv = result.invoice
    assert inv.invoice_type == InvoiceType.CREDIT_NOTE
    assert [w.text for w in result.evidence["invoice_type"]] == ["Avoir"]
    assert inv.invoice_number == "AV-2017-0005"
    assert inv.preceding_invoice == "FA-2017-0010"  # "Facture liée", as in its XML


def test_opt_in_credit_notes_leave_the_other_documents_unchanged(tmp_path: Path) -> None:
    plain = generate_documents(tmp_path / "plain", 8, 21)
    mixed = generate_documents(tmp_path / "mixed", 8, 21, credit_notes=0.5)
    kinds = []
    for before, after in zip(plain, mixed, strict=True):
        record = load_record(after)["invoice"]
        kinds.append(record["invoice_type"])
        if record["invoice_type"] == InvoiceType.INVOICE:
            assert after.read_bytes() == before.read_bytes()
            assert load_record(after) == load_record(before)
            assert record["preceding_invoice"] is None
        else:
            assert after.read_bytes() != before.read_bytes()
            assert record["preceding_invoice"] not in (None, record["invoice_number"])
    assert "invoice" in kinds and len(set(kinds)) > 1


def test_combined_ocr_readings_keep_the_type_and_the_referred_invoice() -> None:
    typed = reading(invoice_type=InvoiceType.CREDIT_NOTE, preceding_invoice="F-1")
    both = combine(reading(invoice_number="NC-7"), typed)  # the second engine missed them
    assert both.invoice.invoice_type == InvoiceType.CREDIT_NOTE
    assert both.invoice.preceding_invoice == "F-1"
    assert both.confidence["invoice_type"] == typed.confidence["invoice_type"]
    assert both.invoice.invoice_number == "NC-7"
    voted = vote(reading(invoice_number="NC-7"), [reading(), typed])
    assert voted.invoice.invoice_type == InvoiceType.CREDIT_NOTE
    assert voted.invoice.preceding_invoice == "F-1"
    untyped = combine(reading(), reading(invoice_number="NC-7"))
    assert untyped.invoice.invoice_type == InvoiceType.INVOICE
    assert "invoice_type" not in untyped.confidence


def test_a_printed_credit_note_goes_to_review_through_arflow_run(
    runner: CliRunner, tmp_path: Path
) -> None:
    first, second = tmp_path / "in1", tmp_path / "in2"
    first.mkdir()
    second.mkdir()
    name = "002_transportes_alcazar.pdf"
    shutil.copy(SAMPLE / "invoices" / name, first / name)
    number = load_ground_truth(SAMPLE / "invoices" / name, SAMPLE / "truth").invoice_number
    _invoice_pdf(second / "abono.pdf", "NOTA DE ABONO", [f"Rectifica a la factura nº {number}"],
                 number="Nº de abono: AB-2026-0005")
    for inbox in (first, second):
        result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
        assert result.exit_code == 0, result.output
    out = runner.invoke(cli, ["report", "--json"]).output
    rows = {row["source"]: row for row in map(json.loads, out.splitlines())}
    credit = rows["abono.pdf"]
    assert credit["status"] == "needs_review" and "CREDIT_NOTE" in credit["reasons"]
    assert (credit["invoice"]["invoice_type"], credit["invoice"]["preceding_invoice"]) == (
        "credit_note", number)
    assert credit["invoice"]["invoice_number"] == "AB-2026-0005"
