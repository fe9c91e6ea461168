"""The invoice generator: determinism, exact arithmetic, valid IDs, printed text, scenarios."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image

from generator import build_scenario, generate_documents, load_ground_truth, render_scanned
from generator.__main__ import main as cli_main
from generator.fmt import format_date, money
from generator.ids import format_iban, is_valid_iban, is_valid_tax_id
from generator.invoices import load_record
from generator.model import LAYOUTS, random_document
from generator.plants import SUPPORTED
from generator.render import render_pdf
from generator.render_base import paginate
from models.domain import Invoice

ALL_PLANTS = {kind: 1 for kind in SUPPORTED}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_documents(tmp_path_factory.mktemp("docs"), 16, seed=11)


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scenario")
    build_scenario(root, 5, n_invoices=30, planted=ALL_PLANTS, split_batches=True)
    return root


def _pdf_text(path: Path) -> list[str]:
    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_ground_truth_and_bytes(tmp_path: Path) -> None:
    first = generate_documents(tmp_path / "a", 4, seed=3)
    second = generate_documents(tmp_path / "b", 4, seed=3)
    other = generate_documents(tmp_path / "c", 4, seed=4)
    for a, b in zip(first, second, strict=True):
        assert load_record(a) == load_record(b)
        assert a.read_bytes() == b.read_bytes()
    assert load_record(first[0])["invoice"] != load_record(other[0])["invoice"]


def test_every_layout_is_generated_and_recorded(docs: list[Path]) -> None:
    records = [load_record(p) for p in docs]
    assert {r["layout"] for r in records} == set(LAYOUTS)
    assert {r["language"] for r in records} == {"es", "en"}
    assert all(set(r) >= {"invoice", "layout", "language", "seed", "pages"} for r in records)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ground_truth_arithmetic_is_exact(layout: str) -> None:
    for seed in range(25):
        doc = random_document(seed, layout)
        inv = doc.invoice
        for line in inv.lines:
            assert line.quantity is not None and line.unit_price is not None
            assert line.amount == money(line.quantity * line.unit_price)
        assert inv.subtotal == sum(line.amount or Decimal(0) for line in inv.lines)
        for tax in doc.tax_lines:
            assert tax.tax == money(tax.base * tax.rate / 100)
        assert inv.tax_total == sum(t.tax for t in doc.tax_lines)
        assert inv.total == inv.subtotal + inv.tax_total
        assert inv.total.as_tuple().exponent == -2


def test_tax_ids_and_ibans_are_valid(docs: list[Path]) -> None:
    for path in docs:
        inv = load_ground_truth(path)
        assert inv.seller.tax_id and is_valid_tax_id(inv.seller.tax_id), inv.seller.tax_id
        assert inv.buyer.tax_id and is_valid_tax_id(inv.buyer.tax_id), inv.buyer.tax_id
        assert inv.iban is None or is_valid_iban(inv.iban), inv.iban


def test_pdf_text_contains_ground_truth_values(docs: list[Path]) -> None:
    for path in docs:
        record = load_record(path)
        doc = random_document(record["seed"], record["layout"])
        inv = load_ground_truth(path)
        text = "\n".join(_pdf_text(path))
        assert inv.total is not None and inv.invoice_number and inv.seller.name
        assert inv.invoice_number in text
        assert doc.amount_style.amount(inv.total, inv.currency or "") in text
        assert inv.seller.name in text
        if inv.order_number:
            assert inv.order_number in text
        if inv.payment_terms:
            assert inv.payment_terms in text
        assert inv.issue_date is not None
        assert format_date(inv.issue_date, doc.date_style) in text
        if inv.due_date:
            assert format_date(inv.due_date, doc.date_style) in text
        if inv.iban:
            assert format_iban(inv.iban) in text
        assert all((line.description or "?") in text for line in inv.lines)


def test_us_sellers_print_numeric_dates_month_first() -> None:
    styles: dict[bool, set[str]] = {True: set(), False: set()}
    for seed in range(120):
        doc = random_document(seed, "classic")
        styles[doc.seller_country == "US"].add(doc.date_style)
    assert styles[True] == {"mdy_slash", "en_long", "dmon", "iso"}
    assert styles[False] == {"dmy_slash", "en_long", "dmon", "iso"}
    assert format_date(date(2026, 2, 14), "mdy_slash") == "02/14/2026"
    assert format_date(date(2026, 2, 14), "dmy_slash") == "14/02/2026"
    assert format_date(date(2026, 2, 14), "en_long") == "February 14, 2026"


def test_unprinted_fields_are_none(docs: list[Path]) -> None:
    records = [load_record(p) for p in docs]
    modern = [Invoice.from_json(r["invoice"]) for r in records if r["layout"] == "modern"]
    assert modern and all(inv.payment_terms is None for inv in modern)
    for record in records:
        doc = random_document(record["seed"], record["layout"])
        rates = {line.tax_rate for line in Invoice.from_json(record["invoice"]).lines}
        assert (rates == {None}) == (not doc.line_rates_printed)


def test_spanish_invoice_without_due_date_prints_none(tmp_path: Path) -> None:
    """None in the ground truth means the PDF has no due-date label at all."""
    checked = 0
    for seed in range(30):
        doc = random_document(seed, "boxes")
        if doc.invoice.due_date is not None:
            continue
        render_pdf(doc, tmp_path / f"{seed}.pdf")
        assert "encimiento" not in "\n".join(_pdf_text(tmp_path / f"{seed}.pdf"))
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("layout", ["classic", "boxes", "modern"])
def test_a_long_seller_name_heading_stops_before_what_stands_beside_it(
    tmp_path: Path, layout: str,
) -> None:
    """The seller's name heading is set smaller when it would run into the title or the
    first header label on its line ("Oakridge Office Solutions GmbH & Co. KG" over
    "Invoice number" hid the number from the extractor, scenario seed 10035)."""
    doc = random_document(3, layout)
    doc.invoice.seller.name = "Oakridge Office Solutions International GmbH & Co. KG"
    render_pdf(doc, tmp_path / "long.pdf")
    with pdfplumber.open(tmp_path / "long.pdf") as pdf:
        words = pdf.pages[0].extract_words(extra_attrs=["size"])
    first = min((w for w in words if w["text"] == "Oakridge"), key=lambda w: w["top"])
    line = [w for w in words if abs(w["bottom"] - first["bottom"]) < first["size"] / 2]
    name = [w for w in line if w["size"] == first["size"]]
    beside = [w for w in line if w["size"] != first["size"]]
    assert [w["text"] for w in name][-2:] == ["Co.", "KG"] and beside
    assert max(w["x1"] for w in name) + 10 < min(w["x0"] for w in beside)


def test_compact_layout_runs_over_pages_with_totals_last(docs: list[Path]) -> None:
    compact = [p for p in docs if load_record(p)["layout"] == "compact"]
    assert compact
    for path in compact:
        record = load_record(path)
        doc = random_document(record["seed"], "compact")
        pages = _pdf_text(path)
        assert record["pages"] == len(pages) >= 2
        assert 25 <= len(doc.invoice.lines) <= 60
        assert doc.invoice.total is not None and doc.invoice.currency is not None
        total = doc.amount_style.amount(doc.invoice.total, doc.invoice.currency)
        assert total in pages[-1] and total not in pages[0]


def test_paginate_keeps_room_for_totals() -> None:
    assert paginate(5, 300, 80, row_h=15, totals_h=100) == [(0, 5)]
    pages = paginate(50, 300, 80, row_h=15, totals_h=100, first_max=20)
    assert pages[0] == (0, 20) and pages[-1][1] == 50 and len(pages) == 2


def test_render_scanned_png_has_dpi_and_tilt(docs: list[Path], tmp_path: Path) -> None:
    out = render_scanned(docs[0], docs[0].with_name(f"{docs[0].stem}.scan.png"), seed=1,
                         dpi=100, skew_deg=2.0)
    clean = render_scanned(docs[0], tmp_path / "clean.png", seed=1, dpi=100, skew_deg=0.0,
                           noise=0, blur=0, jpeg_quality=100)
    with Image.open(out) as image, Image.open(clean) as straight:
        assert abs(image.size[0] - 827) <= 1 and abs(image.size[1] - 1169) <= 1
        assert round(image.info["dpi"][0]) == 100
        assert image.tobytes() != straight.tobytes()
    assert load_ground_truth(out) == load_ground_truth(docs[0])
    pdf = render_scanned(docs[0], tmp_path / "scan.pdf", seed=1, dpi=100)
    with pdfplumber.open(pdf) as scanned:
        assert len(scanned.pages) == 1 and not (scanned.pages[0].extract_text() or "").strip()


def test_scenario_csv_headers_are_exact(scenario_dir: Path) -> None:
    heads = {name: (scenario_dir / name).read_text(encoding="utf-8").splitlines()[0]
             for name in ("parties.csv", "orders.csv", "receipts.csv")}
    assert heads == {
        "parties.csv": "name,tax_id,iban,email",
        "orders.csv": "order_number,counterparty_tax_id,counterparty_name,order_date,"
                      "currency,line_no,description,quantity,unit_price,tax_rate",
        "receipts.csv": "order_number,line_no,quantity_received,received_date",
    }


def _truth(scenario_dir: Path, name: str) -> Invoice:
    return Invoice.from_json(json.loads(
        (scenario_dir / "truth" / name.replace(".pdf", ".gt.json")).read_text())["invoice"])


def test_scenario_expected_matches_files(scenario_dir: Path) -> None:
    expected = json.loads((scenario_dir / "expected.json").read_text())
    files = {p.name: p for p in (scenario_dir / "inbox").rglob("*.pdf")}
    assert set(expected) == set(files) and len(files) == 30
    planted = sorted(code for e in expected.values() for code in e["reasons"])
    assert planted == sorted(SUPPORTED)
    for name, entry in expected.items():
        assert files[name].parent.name == f"batch{entry['batch']}"
        assert entry["status"] == ("needs_review" if entry["reasons"] else "auto_approved")
    late = {e["reasons"][0] for e in expected.values() if e["batch"] == 2}
    assert late == {"DUPLICATE_INVOICE", "SUSPECTED_DUPLICATE", "OVER_BILLING", "CREDIT_NOTE"}
    [(name, credit)] = [(n, e) for n, e in expected.items() if e["reasons"] == ["CREDIT_NOTE"]]
    note = _truth(scenario_dir, name)
    original = _truth(scenario_dir, credit["duplicate_of"])
    assert note.invoice_type == "credit_note" and credit["order_number"] is None
    assert note.preceding_invoice == original.invoice_number != note.invoice_number
    assert (note.seller, note.total) == (original.seller, original.total)


def test_scenario_planted_identifiers(scenario_dir: Path) -> None:
    expected = json.loads((scenario_dir / "expected.json").read_text())
    parties = {p["tax_id"]: p for p in _csv(scenario_dir / "parties.csv")}
    assert all(is_valid_tax_id(t) and (not p["iban"] or is_valid_iban(p["iban"]))
               for t, p in parties.items())
    by_code = {e["reasons"][0] if e["reasons"] else "": n for n, e in expected.items()}
    assert not is_valid_tax_id(_truth(scenario_dir, by_code["INVALID_TAX_ID"]).seller.tax_id
                               or "")
    assert not is_valid_iban(_truth(scenario_dir, by_code["INVALID_IBAN"]).iban or "")
    changed = _truth(scenario_dir, by_code["BANK_DETAILS_CHANGED"])
    on_file = parties[expected[by_code["BANK_DETAILS_CHANGED"]]["seller_tax_id"]]["iban"]
    assert changed.iban and is_valid_iban(changed.iban) and changed.iban != on_file
    assert expected[by_code["UNKNOWN_PARTY"]]["seller_tax_id"] not in parties
    arithmetic = _truth(scenario_dir, by_code["ARITHMETIC_MISMATCH"])
    assert arithmetic.total != (arithmetic.subtotal or 0) + (arithmetic.tax_total or 0)
    assert _truth(scenario_dir, by_code["MISSING_FIELD"]).invoice_number is None
    dates = _truth(scenario_dir, by_code["INVALID_DATES"])
    assert dates.due_date and dates.issue_date and dates.due_date < dates.issue_date


def test_scenario_clean_invoices_stay_within_receipts(scenario_dir: Path) -> None:
    expected = json.loads((scenario_dir / "expected.json").read_text())
    ordered = {(r["order_number"], r["description"]): Decimal(r["quantity"])
               for r in _csv(scenario_dir / "orders.csv")}
    line_no = {(r["order_number"], r["description"]): r["line_no"]
               for r in _csv(scenario_dir / "orders.csv")}
    received = {(r["order_number"], r["line_no"]): Decimal(r["quantity_received"])
                for r in _csv(scenario_dir / "receipts.csv")}
    billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for name, entry in sorted(expected.items()):
        if entry["reasons"] or entry["order_number"] is None:
            continue
        for line in _truth(scenario_dir, name).lines:
            key = (entry["order_number"], line.description or "")
            billed[key] += line.quantity or Decimal(0)
            assert billed[key] <= received[(key[0], line_no[key])] <= ordered[key]
    assert billed


def test_scenario_duplicates_and_variances(scenario_dir: Path) -> None:
    expected = json.loads((scenario_dir / "expected.json").read_text())
    by_code = {e["reasons"][0]: n for n, e in expected.items() if e["reasons"]}
    dup = by_code["DUPLICATE_INVOICE"]
    original = expected[dup]["duplicate_of"]
    a, b = _truth(scenario_dir, dup), _truth(scenario_dir, original)
    assert a.invoice_number == b.invoice_number and a.seller.name == b.seller.name
    assert expected[dup]["layout"] != expected[original]["layout"]
    sus = by_code["SUSPECTED_DUPLICATE"]
    c, d = _truth(scenario_dir, sus), _truth(scenario_dir, expected[sus]["duplicate_of"])
    assert (c.total, c.issue_date) == (d.total, d.issue_date)
    assert c.invoice_number != d.invoice_number
    orders = {r["order_number"] for r in _csv(scenario_dir / "orders.csv")}
    missing = _truth(scenario_dir, by_code["ORDER_NOT_FOUND"])
    assert missing.order_number and missing.order_number not in orders
    assert expected[by_code["ORDER_NOT_FOUND"]]["order_number"] is None


def test_scenario_rejects_impossible_plans(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot plant"):
        build_scenario(tmp_path, 1, n_invoices=4, planted={"NOT_A_CODE": 1})
    with pytest.raises(ValueError, match="do not fit"):
        build_scenario(tmp_path, 1, n_invoices=2, planted={"DUPLICATE_INVOICE": 2})


def test_cli_writes_documents_and_scenario(tmp_path: Path) -> None:
    assert cli_main(["documents", str(tmp_path / "d"), "--count", "2", "--seed", "9"]) == 0
    assert len(list((tmp_path / "d").glob("*.pdf"))) == 2
    assert cli_main(["scenario", str(tmp_path / "s"), "--invoices", "6",
                     "--plant", "ARITHMETIC_MISMATCH"]) == 0
    assert (tmp_path / "s" / "expected.json").exists()


DATA = Path(__file__).resolve().parent.parent / "data"
DATA_PLANTS = ("ARITHMETIC_MISMATCH", "BANK_DETAILS_CHANGED", "DUPLICATE_INVOICE",
               "PRICE_VARIANCE", "OVER_BILLING")


def test_shipped_sample_data_is_what_the_generator_makes(tmp_path: Path) -> None:
    """Golden check: data/ equals a fresh run of the command in data/README.md."""
    fresh = build_scenario(tmp_path, 7, n_invoices=16, planted=dict.fromkeys(DATA_PLANTS, 1),
                           inbox_name="invoices")
    for name in ("parties.csv", "orders.csv", "receipts.csv", "expected.json"):
        assert (DATA / name).read_text(encoding="utf-8") == (tmp_path / name).read_text(
            encoding="utf-8"), f"data/{name} is stale: regenerate it (data/README.md)"
    shipped = sorted(p.name for p in (DATA / "invoices").glob("*.pdf"))
    assert shipped == sorted(p.name for p in fresh.invoices)
    for pdf in fresh.invoices:
        assert load_record(DATA / "invoices" / pdf.name, DATA / "truth") == load_record(
            pdf, fresh.truth_dir)
