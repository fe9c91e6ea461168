"""Document-level discounts and charges (EN 16931 BT-107 / BT-108) in printed documents: the
rows of a totals block ("Dto. pronto pago 2%", "Portes", "Discount 5%", "Freight") read as
``allowances`` and ``charges`` only when the line items, the tax base and the total tie them
(``extractors.adjustments``), on generated digital PDFs of every layout, their scans read by
Tesseract, hand-made Spanish and English invoices, and through ``arflow run``; a block the
numbers do not tie keeps them None and its arithmetic finding; the generator's opt-in
discounts leave every other document as it was."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fieldreadings import reading
from handmade import invoice_pdf

from arflow.cli import cli
from arflow.reasons import Reason
from arflow.settings import Tolerances
from extractors.api import extract_file
from extractors.labels import find_labels
from extractors.layout import Line, build_lines
from extractors.ocr import tesseract
from extractors.ocr.consensus import vote
from extractors.ocr.engines import combine
from generator import LAYOUTS, generate_documents, load_ground_truth, load_record, render_scanned
from generator.discounts import make_adjustments
from generator.invoices import document_seeds, write_document
from generator.model import AdjustmentStyle, Document, random_document, side_stream
from matching.checks import arithmetic
from models.domain import DocumentKind, Invoice, WordBox

AMOUNTS = ("subtotal", "tax_total", "total", "allowances", "charges")

needs_tesseract = pytest.mark.skipif(not tesseract.available(), reason="tesseract not installed")


def _amounts(inv: Invoice) -> dict[str, Decimal | None]:
    return {name: inv.get(name) for name in AMOUNTS}


def _adjusted(out: Path, per_layout: int) -> list[tuple[Path, Document]]:
    """`per_layout` one-page documents of each layout with a discount or charge."""
    found: list[tuple[Path, Document]] = []
    for index, seed in enumerate(document_seeds(5151, 200)):
        layout = LAYOUTS[index % len(LAYOUTS)]
        doc = random_document(seed, layout)
        if sum(d.layout == layout for _, d in found) >= per_layout or len(doc.invoice.lines) > 20:
            continue
        assert make_adjustments(doc, side_stream("discounts", seed))
        found.append((write_document(doc, out, f"d_{index:03d}_{layout}"), doc))
    return found


def test_generated_discounts_and_charges_read_from_the_text_layer(tmp_path: Path) -> None:
    docs = _adjusted(tmp_path, 6)
    styles = [d.adjustments for _, d in docs if d.adjustments is not None]
    assert len(styles) == len(docs)
    assert {s.base_label is None for s in styles} == {True, False}  # some print no tax base
    assert {s.negative for s in styles} == {True, False}
    assert {d.language for _, d in docs} == {"es", "en"}
    kinds = {(d.invoice.allowances is not None, d.invoice.charges is not None) for _, d in docs}
    assert kinds == {(True, False), (False, True), (True, True)}
    for pdf, doc in docs:
        truth = load_ground_truth(pdf)
        lines = sum((ln.amount for ln in truth.lines if ln.amount is not None), Decimal(0))
        net = lines - (truth.allowances or 0) + (truth.charges or 0)
        assert truth.subtotal == net and truth.total == net + (truth.tax_total or 0)
        result = extract_file(pdf)
        assert _amounts(result.invoice) == _amounts(truth), pdf.name
        assert arithmetic(result.invoice, Tolerances()) == [], pdf.name
        for name in ("allowances", "charges"):
            if truth.get(name) is not None:
                assert result.confidence[name] >= 0.9
        if doc.adjustments and doc.adjustments.base_label is None:  # total - tax, tied
            assert result.confidence["subtotal"] >= 0.9


@needs_tesseract
@pytest.mark.parametrize(("layout", "seed"), [("boxes", 38), ("classic", 34)])
def test_scanned_discounts_read_by_tesseract(tmp_path: Path, layout: str, seed: int) -> None:
    pdf = generate_documents(tmp_path, 1, seed, layouts=[layout], discounts=1.0)[0]
    truth = load_ground_truth(pdf)
    assert truth.allowances is not None and truth.charges is not None
    scan = render_scanned(pdf, tmp_path / f"{pdf.stem}.scan.png", seed=seed)
    result = extract_file(scan)
    assert result.kind == DocumentKind.SCANNED
    assert _amounts(result.invoice) == _amounts(truth)
    assert result.evidence["allowances"][0].conf < 1.0  # an OCR word, not the text layer


SPANISH = [("Suma", "1.000,00 €"), ("Descuento pronto pago 2%", "-20,00 €"),
           ("Portes", "15,00 €"), ("Base imponible", "995,00 €"), ("IVA 21%", "208,95 €"),
           ("TOTAL", "1.203,95 €")]
EXPECTED = {"subtotal": Decimal("995.00"), "tax_total": Decimal("208.95"),
            "total": Decimal("1203.95"), "allowances": Decimal("20.00"),
            "charges": Decimal("15.00")}


@pytest.mark.parametrize("rows", [
    SPANISH,  # the lead's example
    [("Subtotal", "1.000,00 €"), ("Dto. 2%", "20,00 €"), ("Gastos de envío", "15,00 €"),
     *SPANISH[3:]],  # unsigned discount, the lines' sum printed as a subtotal
    [("Importe bruto", "1.000,00 €"), ("Rappel 1%", "-10,00 €"), ("Dto. comercial 1%",
     "-10,00 €"), ("Transporte", "10,00 €"), ("Embalaje", "5,00 €"), *SPANISH[3:]],  # several
    [("Subtotal", "1.000,00 €"), ("Discount 2%", "-20,00 €"), ("Shipping", "15,00 €"),
     ("VAT 21%", "208,95 €"), ("Total due", "1.203,95 €")],  # English, no tax base row
    [("Goods total", "1.000,00 €"), ("Trade discount 2%", "-20,00 €"),
     ("Freight", "15,00 €"), ("Net amount", "995,00 €"), ("VAT 21%", "208,95 €"),
     ("Invoice total", "1.203,95 €")],
], ids=["spanish", "unsigned", "several-rows", "english-no-base", "english"])
def test_hand_made_totals_block_with_discount_and_charge(
    tmp_path: Path, rows: list[tuple[str, str]]
) -> None:
    result = extract_file(invoice_pdf(tmp_path / "dto.pdf", rows))
    assert _amounts(result.invoice) == EXPECTED
    assert result.invoice.withholding is None
    assert arithmetic(result.invoice, Tolerances()) == []
    assert result.confidence["allowances"] >= 0.9 and result.confidence["charges"] >= 0.9
    assert result.confidence["subtotal"] >= 0.9
    if rows[3][0] == "VAT 21%":  # no tax base printed: total - tax, with the rows as evidence
        texts = [w.text for w in result.evidence["subtotal"]]
        assert texts[:4] == ["-20,00", "€", "15,00", "€"]


def test_discount_only_and_charge_only(tmp_path: Path) -> None:
    discount = [SPANISH[0], SPANISH[1], ("Base imponible", "980,00 €"), ("IVA 21%", "205,80 €"),
                ("Total", "1.185,80 €")]
    inv = extract_file(invoice_pdf(tmp_path / "d.pdf", discount)).invoice
    assert (inv.subtotal, inv.allowances, inv.charges) == (Decimal("980.00"),
                                                           Decimal("20.00"), None)
    charge = [("Subtotal", "1.000,00 €"), ("Freight", "15,00 €"), ("Net amount", "1.015,00 €"),
              ("VAT 21%", "213,15 €"), ("Total", "1.228,15 €")]
    inv = extract_file(invoice_pdf(tmp_path / "c.pdf", charge)).invoice
    assert (inv.subtotal, inv.allowances, inv.charges) == (Decimal("1015.00"), None,
                                                           Decimal("15.00"))


def test_rows_the_numbers_do_not_tie_are_not_read(tmp_path: Path) -> None:
    """A discount of 25,00 printed beside a tax base 20,00 below the lines: nothing is
    guessed, and the arithmetic finding stays."""
    rows = [SPANISH[0], ("Descuento 2%", "-25,00 €"), SPANISH[2], *SPANISH[3:]]
    inv = extract_file(invoice_pdf(tmp_path / "odd.pdf", rows)).invoice
    assert (inv.allowances, inv.charges) == (None, None)
    assert (inv.subtotal, inv.total) == (Decimal("995.00"), Decimal("1203.95"))
    problems = arithmetic(inv, Tolerances())
    assert [(p.code, p.field) for p in problems] == [(Reason.ARITHMETIC_MISMATCH, "subtotal")]


def test_untied_block_without_a_tax_base_keeps_the_printed_subtotal(tmp_path: Path) -> None:
    """No tax base printed and total - tax is not lines - discount + shipping: no base is
    made up from them."""
    rows = [("Subtotal", "1.000,00 €"), ("Discount 2%", "-20,00 €"), ("Shipping", "15,00 €"),
            ("VAT 21%", "208,95 €"), ("Total due", "1.250,00 €")]
    inv = extract_file(invoice_pdf(tmp_path / "untied.pdf", rows)).invoice
    assert (inv.subtotal, inv.allowances, inv.charges) == (Decimal("1000.00"), None, None)
    assert any(p.code == Reason.ARITHMETIC_MISMATCH for p in arithmetic(inv, Tolerances()))


def test_discount_with_irpf_withholding(tmp_path: Path) -> None:
    rows = [SPANISH[0], SPANISH[1], SPANISH[2], SPANISH[3], SPANISH[4],
            ("Retención IRPF 15%", "-149,25 €"), ("Total a pagar", "1.054,70 €")]
    inv = extract_file(invoice_pdf(tmp_path / "irpf.pdf", rows)).invoice
    assert _amounts(inv) == EXPECTED
    assert inv.withholding == Decimal("149.25") and inv.amount_due == Decimal("1054.70")


def test_invoice_without_discount_rows_reads_as_before(tmp_path: Path) -> None:
    rows = [("Base imponible", "1.000,00 €"), ("IVA 21%", "210,00 €"),
            ("Total factura", "1.210,00 €")]
    result = extract_file(invoice_pdf(tmp_path / "plain.pdf", rows))
    assert (result.invoice.allowances, result.invoice.charges) == (None, None)
    assert "allowances" not in result.confidence and "charges" not in result.confidence
    assert result.invoice.subtotal == Decimal("1000.00")


def test_opt_in_discounts_leave_the_other_documents_unchanged(tmp_path: Path) -> None:
    plain = generate_documents(tmp_path / "plain", 12, 21)
    mixed = generate_documents(tmp_path / "mixed", 12, 21, discounts=0.5)
    adjusted = []
    for before, after in zip(plain, mixed, strict=True):
        record = load_record(after)["invoice"]
        adjusted.append(record["allowances"] is not None or record["charges"] is not None)
        if not adjusted[-1]:
            assert after.read_bytes() == before.read_bytes()
            assert load_record(after) == load_record(before)
        else:
            assert record["lines"] == load_record(before)["invoice"]["lines"]
            assert _amounts(extract_file(after).invoice) == _amounts(load_ground_truth(after))
    assert any(adjusted) and not all(adjusted)


def test_style_says_what_is_printed() -> None:
    doc = random_document(document_seeds(77, 1)[0], "modern")
    lines = sum((ln.amount for ln in doc.invoice.lines if ln.amount is not None), Decimal(0))
    assert make_adjustments(doc, side_stream("discounts", 1))
    style = doc.adjustments
    assert isinstance(style, AdjustmentStyle)
    inv = doc.invoice
    printed = sum((value for _, value in style.rows), Decimal(0))
    assert inv.subtotal == lines + printed
    assert sum((t.base for t in doc.tax_lines), Decimal(0)) == inv.subtotal
    assert inv.tax_total == sum((t.tax for t in doc.tax_lines), Decimal(0))


def test_a_printed_discount_passes_arflow_run_without_arithmetic_mismatch(
    runner: CliRunner, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    invoice_pdf(inbox / "dto.pdf", SPANISH)
    invoice_pdf(inbox / "odd.pdf", [SPANISH[0], ("Descuento 2%", "-25,00 €"), *SPANISH[2:]])
    result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert result.exit_code == 0, result.output
    out = runner.invoke(cli, ["report", "--json"]).output
    rows = {row["source"]: row for row in map(json.loads, out.splitlines())}
    row = rows["dto.pdf"]
    assert "ARITHMETIC_MISMATCH" not in row["reasons"], row["reasons"]
    assert (row["invoice"]["allowances"], row["invoice"]["charges"]) == ("20.00", "15.00")
    assert row["invoice"]["subtotal"] == "995.00"
    assert "ARITHMETIC_MISMATCH" in rows["odd.pdf"]["reasons"]


def _ocr_line(*texts: str) -> Line:
    """One OCR line of words 4 points apart (one segment), as Tesseract boxes a row of
    boxed labels."""
    words, x = [], 300.0
    for text in texts:
        words.append(WordBox(text=text, x0=x, top=100, x1=x + 6 * len(text), bottom=110,
                             conf=0.95))
        x += 6 * len(text) + 4
    return build_lines([words])[0]


def test_ocr_labels_run_together_in_a_row_of_boxes() -> None:
    hits = find_labels(_ocr_line("Suma", "Rappel5%", "Embalaje", "Base", "imponible"))
    assert [(h.field, h.start) for h in hits] == [
        ("line_total", 0), ("allowance", 1), ("charge", 2), ("subtotal", 3)]
    assert [h.field for h in find_labels(_ocr_line("Delivery", "charge", "£15.00"))] == [
        "charge"]  # not "change", a receipt's


def test_combined_ocr_readings_keep_the_rows_with_their_totals() -> None:
    tied = {"subtotal": Decimal(995), "tax_total": Decimal("208.95"),
            "total": Decimal("1203.95"), "allowances": Decimal(20), "charges": Decimal(15)}
    loose = {"subtotal": Decimal(1000), "tax_total": Decimal("208.95"),
             "total": Decimal("1203.95")}
    both = combine(reading(**loose), reading(**tied))  # the one whose sums add up wins
    assert _amounts(both.invoice) == tied
    misread = {**loose, "total": Decimal("1208.95")}
    voted = vote(reading(**misread), [reading(**tied), reading(**tied)])  # two agree
    assert _amounts(voted.invoice) == tied
    kept = vote(reading(**tied), [reading(**misread), reading()])  # the first reading stands
    assert _amounts(kept.invoice) == tied


def test_a_printed_lines_sum_ties_the_rows_when_the_lines_read_do_not(tmp_path: Path) -> None:
    """The lines read add up to 1.000,00 but the block prints a lines' sum of 1.100,00 (OCR
    lost a line, or the document is wrong): the charge is read against the printed sum, and
    the arithmetic check still finds the lines short of it."""
    rows = [("Suma", "1.100,00 €"), ("Portes", "15,00 €"), ("Base imponible", "1.115,00 €"),
            ("IVA 21%", "234,15 €"), ("Total", "1.349,15 €")]
    inv = extract_file(invoice_pdf(tmp_path / "sum.pdf", rows)).invoice
    assert (inv.subtotal, inv.allowances, inv.charges) == (Decimal("1115.00"), None,
                                                           Decimal("15.00"))
    assert any(p.code == Reason.ARITHMETIC_MISMATCH for p in arithmetic(inv, Tolerances()))


def test_a_row_label_above_the_totals_block_is_left_out(tmp_path: Path) -> None:
    """A line above the block whose words name a charge ("Freight ...", a line item OCR did
    not read as one) is not one of the block's rows: the rows from the block's first line
    down tie."""
    rows = [("Subtotal", "1.000,00 €"), ("Descuento 2%", "-20,00 €"), ("Portes", "15,00 €"),
            ("VAT 21%", "208,95 €"), ("Total due", "1.203,95 €")]
    extra = ((50, 244, "Freight pallet shipment zone 100"), (480, 244, "297,34 €"))
    inv = extract_file(invoice_pdf(tmp_path / "above.pdf", rows, extra)).invoice
    assert _amounts(inv) == EXPECTED


def test_rows_tie_to_a_printed_tax_base_when_no_tax_was_read(tmp_path: Path) -> None:
    rows = [("Suma", "1.000,00 €"), ("Descuento 2%", "-20,00 €"), ("Portes", "15,00 €"),
            ("Base imponible", "995,00 €"), ("Importe total", "1.203,95 €")]
    inv = extract_file(invoice_pdf(tmp_path / "notax.pdf", rows)).invoice
    assert (inv.subtotal, inv.tax_total, inv.allowances, inv.charges) == (
        Decimal("995.00"), None, Decimal("20.00"), Decimal("15.00"))
