"""The generator's opt-in VAT breakdown (``generator.breakdown``): what it prints and records,
that it leaves the other documents as they were, and that the extractor reads it back from
the text layer of every layout and style and from Tesseract's reading of scans."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from arflow.settings import Tolerances
from extractors.api import extract_file
from extractors.ocr import tesseract
from generator import LAYOUTS, generate_documents, load_ground_truth, load_record, render_scanned
from generator.__main__ import main as generator_main
from generator.breakdown import make_breakdown, mix_rates, settle_breakdown
from generator.invoices import document_seeds, write_document
from generator.model import BreakdownStyle, Document, random_document, side_stream
from matching.checks import arithmetic
from models.domain import DocumentKind, Invoice, TaxSubtotal

AMOUNTS = ("subtotal", "tax_total", "total")
needs_tesseract = pytest.mark.skipif(not tesseract.available(), reason="tesseract not installed")


def _amounts(inv: Invoice) -> dict[str, Decimal | None]:
    return {name: inv.get(name) for name in AMOUNTS}


def _printed(out: Path, count: int) -> list[tuple[Path, Document]]:
    """`count` taxed documents of each layout printing their breakdown."""
    found: list[tuple[Path, Document]] = []
    for index, seed in enumerate(document_seeds(4242, 400)):
        layout = LAYOUTS[index % len(LAYOUTS)]
        doc = random_document(seed, layout)
        if sum(d.layout == layout for _, d in found) >= count or not doc.invoice.tax_total:
            continue
        make_breakdown(doc, side_stream("breakdown", seed))
        settle_breakdown(doc)
        found.append((write_document(doc, out, f"b_{index:03d}_{layout}"), doc))
    return found


def test_generated_breakdowns_read_from_the_text_layer(tmp_path: Path) -> None:
    docs = _printed(tmp_path, 10)
    styles = [d.breakdown for _, d in docs if d.breakdown is not None]
    assert len(styles) == len(docs) == 40
    assert {s.kind for s in styles} == {"table", "rows"}
    assert {s.position for s in styles if s.kind == "table"} == {"above", "beside"}
    assert {s.rate for s in styles if s.kind == "table"} == {"percent", "spaced", "places", "bare"}
    assert {s.per_rate for s in styles} == {True, False}
    assert {len(d.tax_lines) for _, d in docs} >= {1, 2}
    assert {d.language for _, d in docs} == {"es", "en"}
    for pdf, doc in docs:
        truth = load_ground_truth(pdf)
        assert truth.tax_breakdown == [TaxSubtotal(t.rate, t.base, t.tax) for t in doc.tax_lines]
        result = extract_file(pdf)
        assert result.invoice.tax_breakdown == truth.tax_breakdown, pdf.name
        assert _amounts(result.invoice) == _amounts(truth), pdf.name
        assert arithmetic(result.invoice, Tolerances()) == [], pdf.name


@needs_tesseract
@pytest.mark.parametrize(("layout", "seed"), [("boxes", 36), ("classic", 32), ("modern", 44)])
def test_scanned_breakdown_read_by_tesseract(tmp_path: Path, layout: str, seed: int) -> None:
    """A table above boxed totals, a table beside the totals, tax rows with their bases."""
    pdf = generate_documents(tmp_path, 1, seed, layouts=[layout], breakdown=1.0)[0]
    truth = load_ground_truth(pdf)
    assert len(truth.tax_breakdown) == 2
    result = extract_file(render_scanned(pdf, tmp_path / f"{pdf.stem}.scan.png", seed=seed))
    assert result.kind == DocumentKind.SCANNED
    assert result.invoice.tax_breakdown == truth.tax_breakdown
    assert result.evidence["tax_breakdown"][0].conf < 1.0  # an OCR word, not the text layer


def test_opt_in_breakdown_leaves_the_other_documents_unchanged(tmp_path: Path) -> None:
    plain = generate_documents(tmp_path / "plain", 16, 23)
    mixed = generate_documents(tmp_path / "mixed", 16, 23, breakdown=0.5)
    printed = []
    for before, after in zip(plain, mixed, strict=True):
        record, old = load_record(after)["invoice"], load_record(before)["invoice"]
        printed.append("tax_breakdown" in record)
        if not printed[-1]:
            assert after.read_bytes() == before.read_bytes()
            assert load_record(after) == load_record(before)
        else:
            assert [ln["amount"] for ln in record["lines"]] == [
                ln["amount"] for ln in old["lines"]]
            assert record["subtotal"] == old["subtotal"]
    assert any(printed) and not all(printed)


def test_default_documents_record_no_breakdown(tmp_path: Path) -> None:
    """Several rates print a tax row per rate without its base: the ground truth keeps no
    ``tax_breakdown``, as before the option existed."""
    records = [load_record(p)["invoice"] for p in generate_documents(tmp_path, 12, 18)]
    assert all("tax_breakdown" not in r for r in records)
    assert sum(len({ln["tax_rate"] for ln in r["lines"]}) > 1 for r in records) == 2


def test_a_second_rate_keeps_the_lines_and_recomputes_the_tax() -> None:
    doc = random_document(document_seeds(31, 1)[0], "classic")
    while len(doc.invoice.lines) < 2 or doc.seller_country not in ("ES", "DE", "FR", "GB") \
            or not doc.invoice.tax_total:
        doc = random_document(doc.seed + 1, "classic")
    amounts = [ln.amount for ln in doc.invoice.lines]
    assert mix_rates(doc, side_stream("breakdown", doc.seed))
    inv = doc.invoice
    assert [ln.amount for ln in inv.lines] == amounts
    rates = Counter(ln.tax_rate for ln in inv.lines)
    assert len(rates) == 2 and doc.line_rates_printed
    assert [t.rate for t in doc.tax_lines] == sorted(rates, reverse=True)
    assert inv.tax_total == sum((t.tax for t in doc.tax_lines), Decimal(0))
    assert inv.total == (inv.subtotal or 0) + inv.tax_total
    assert not mix_rates(doc, side_stream("breakdown", doc.seed))  # two rates already


def test_boxes_print_a_table_and_the_command_line_asks_for_it(tmp_path: Path) -> None:
    for seed in range(8):
        doc = random_document(seed, "boxes")
        make_breakdown(doc, side_stream("breakdown", seed))
        assert isinstance(doc.breakdown, BreakdownStyle) and doc.breakdown.kind == "table"
    assert generator_main(["documents", str(tmp_path), "--count", "4", "--seed", "9",
                           "--breakdown", "1"]) == 0
    records = [load_record(p) for p in sorted(tmp_path.glob("*.pdf"))]
    assert all(r["invoice"]["tax_breakdown"] for r in records if r["invoice"]["tax_total"] != "0")
