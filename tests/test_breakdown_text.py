"""The VAT breakdown of printed invoices (EN 16931 BG-23): a breakdown table ("Base imponible |
% IVA | Cuota IVA") or a totals block's tax row per rate ("IVA 10% s/ 200,00  20,00") read
into ``Invoice.tax_breakdown`` only when the totals tie the rows (``extractors.breakdown``),
on hand-made invoices and real ones from the corpus; validation then checks each row (base ×
rate = tax) as it does an e-invoice's, through ``arflow run`` too."""

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
from extractors.api import digital_result, extract_file
from extractors.breakdown_table import find_grid, header_cells
from extractors.digital import read_pdf
from extractors.einvoice import extract_embedded_xml, parse_einvoice
from extractors.layout import build_lines
from extractors.ocr.consensus import vote
from extractors.ocr.engines import combine
from extractors.values import read_amounts
from matching.checks import arithmetic
from models.domain import Invoice, TaxSubtotal, WordBox

D = Decimal
DATA = Path(__file__).resolve().parent / "data"
# the hand-made invoice's lines: 800,00 + 200,00; here 800,00 at 21 % and 200,00 at 10 %
TOTALS = [("Base imponible", "1.000,00 €"), ("Total IVA", "188,00 €"),
          ("Total factura", "1.188,00 €")]
ROWS = [TaxSubtotal(D(21), D("800.00"), D("168.00")), TaxSubtotal(D(10), D("200.00"), D("20.00"))]


def _table(rows: list[tuple[str, str, str]], top: float = 256,
           labels: tuple[str, str, str] = ("Base imponible", "% IVA", "Cuota IVA"),
           ) -> tuple[tuple[float, float, str], ...]:
    """A breakdown table left of the totals block, its column labels on the block's first
    line: (x, y from the top, text) for ``invoice_pdf``'s `extra`."""
    cells = [(x, top, text) for x, text in zip((50, 150, 210), labels, strict=True)]
    for index, row in enumerate(rows, start=1):
        cells += [(x, top + 18 * index, text) for x, text in zip((50, 150, 210), row,
                                                                 strict=True)]
    return tuple(cells)


TABLE = _table([("800,00", "21%", "168,00"), ("200,00", "10%", "20,00")])


def _read(path: Path) -> Invoice:
    return extract_file(path).invoice


def _findings(invoice: Invoice) -> set[tuple[str, str | None]]:
    return {(p.code, p.field) for p in arithmetic(invoice, Tolerances())}


def test_spanish_breakdown_table_beside_the_totals(tmp_path: Path) -> None:
    result = extract_file(invoice_pdf(tmp_path / "t.pdf", TOTALS, TABLE))
    inv = result.invoice
    assert inv.tax_breakdown == ROWS
    assert (inv.subtotal, inv.tax_total, inv.total) == (D("1000.00"), D("188.00"), D("1188.00"))
    assert [ln.amount for ln in inv.lines] == [D("800.00"), D("200.00")]  # no row an item
    assert _findings(inv) == set()
    assert result.confidence["tax_breakdown"] >= 0.9
    assert {w.text for w in result.evidence["tax_breakdown"]} >= {"168,00", "21%", "800,00"}


def test_a_wrong_tax_for_one_rate_is_flagged_on_its_row(tmp_path: Path) -> None:
    """The seller's slip carried into the totals (25,00 for 10 % of 200,00): the rows add up
    to the printed tax and subtotal, so they are read, and validation names the row."""
    table = _table([("800,00", "21%", "168,00"), ("200,00", "10%", "25,00")])
    totals = [TOTALS[0], ("Total IVA", "193,00 €"), ("Total factura", "1.193,00 €")]
    inv = _read(invoice_pdf(tmp_path / "w.pdf", totals, table))
    assert inv.tax_breakdown[1] == TaxSubtotal(D(10), D("200.00"), D("25.00"))
    [problem] = arithmetic(inv, Tolerances())
    assert (problem.code, problem.field, problem.expected, problem.found) == (
        Reason.ARITHMETIC_MISMATCH, "tax_breakdown[1].amount", "20.00", "25.00")


def test_rows_the_totals_do_not_tie_are_not_read(tmp_path: Path) -> None:
    """A row of 25,00 beside a tax total of 188,00: the rows are not the breakdown the
    totals state, so none is read (nothing is guessed about which figure is wrong)."""
    table = _table([("800,00", "21%", "168,00"), ("200,00", "10%", "25,00")])
    inv = _read(invoice_pdf(tmp_path / "u.pdf", TOTALS, table))
    assert inv.tax_breakdown == []
    assert inv.tax_total == D("188.00")
    table = _table([("800,00", "21%", "168,00"), ("250,00", "10%", "20,00")])  # bases 1.050
    assert _read(invoice_pdf(tmp_path / "b.pdf", TOTALS, table)).tax_breakdown == []


@pytest.mark.parametrize("rows", [
    [("IVA 21% s/ 800,00 €", "168,00 €"), ("IVA 10% s/ 200,00 €", "20,00 €")],
    [("IVA 21% sobre 800,00", "168,00 €"), ("IVA 10% sobre 200,00", "20,00 €")],
    [("VAT 21% on 800,00 €", "168,00 €"), ("VAT 10% on 200,00 €", "20,00 €")],
], ids=["s/", "sobre", "english"])
def test_totals_block_rows_with_their_base(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    inv = _read(invoice_pdf(tmp_path / "r.pdf", [TOTALS[0], *rows, TOTALS[2]]))
    assert inv.tax_breakdown == ROWS
    assert inv.tax_total == D("188.00")
    assert _findings(inv) == set()


def test_rows_with_bases_state_the_tax_base_no_row_prints(tmp_path: Path) -> None:
    """An English block with a charge, a tax row per rate with its base, and no tax base or
    tax total row: no subtotal and tax that add up are printed, but the rows' bases and taxes
    make the total, so they are the tax base and the tax, and the charge then ties."""
    rows = [("Subtotal", "1.000,00 €"), ("Freight", "15,00 €"),
            ("VAT 21% on 815,00 €", "171,15 €"), ("VAT 10% on 200,00 €", "20,00 €"),
            ("Total", "1.206,15 €")]
    inv = _read(invoice_pdf(tmp_path / "c.pdf", rows))
    assert inv.tax_breakdown == [TaxSubtotal(D(21), D("815.00"), D("171.15")),
                                 TaxSubtotal(D(10), D("200.00"), D("20.00"))]
    assert (inv.subtotal, inv.tax_total, inv.charges) == (D("1015.00"), D("191.15"), D("15.00"))
    assert _findings(inv) == set()


def test_rate_rows_without_bases_are_read_for_two_rates(tmp_path: Path) -> None:
    rows = [TOTALS[0], ("IVA 21%", "168,00 €"), ("IVA 10%", "20,00 €"), TOTALS[2]]
    inv = _read(invoice_pdf(tmp_path / "n.pdf", rows))
    assert inv.tax_breakdown == [TaxSubtotal(D(21), None, D("168.00")),
                                 TaxSubtotal(D(10), None, D("20.00"))]


def test_a_single_rate_is_read_only_with_its_base(tmp_path: Path) -> None:
    """"IVA 21%  210,00" alone is the tax total again: left out (it would check nothing);
    with its base it is a row validation checks (base × rate = tax)."""
    plain = [("Base imponible", "1.000,00 €"), ("IVA 21%", "210,00 €"), ("Total", "1.210,00 €")]
    assert _read(invoice_pdf(tmp_path / "p.pdf", plain)).tax_breakdown == []
    based = [plain[0], ("IVA 21% s/ 1.000,00 €", "210,00 €"), plain[2]]
    inv = _read(invoice_pdf(tmp_path / "b.pdf", based))
    assert inv.tax_breakdown == [TaxSubtotal(D(21), D("1000.00"), D("210.00"))]
    table = _table([("1.000,00", "21,00", "210,00")], labels=("Base", "IVA %", "Cuota"))
    totals = [plain[0], ("IVA", "210,00 €"), plain[2]]
    inv = _read(invoice_pdf(tmp_path / "t.pdf", totals, table))  # a bare rate under "%"
    assert inv.tax_breakdown == [TaxSubtotal(D(21), D("1000.00"), D("210.00"))]


def test_a_planted_wrong_row_is_caught_through_arflow_run(runner: CliRunner,
                                                          tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    invoice_pdf(inbox / "right.pdf", TOTALS, TABLE)
    wrong = _table([("800,00", "21%", "168,00"), ("200,00", "10%", "25,00")])
    invoice_pdf(inbox / "wrong.pdf", [TOTALS[0], ("Total IVA", "193,00 €"),
                                      ("Total factura", "1.193,00 €")], wrong)
    result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
    assert result.exit_code == 0, result.output
    out = runner.invoke(cli, ["report", "--json"]).output
    rows = {row["source"]: row for row in map(json.loads, out.splitlines())}
    assert "ARITHMETIC_MISMATCH" not in rows["right.pdf"]["reasons"]
    assert rows["right.pdf"]["invoice"]["tax_breakdown"] == [
        {"rate": "21", "base": "800.00", "amount": "168.00"},
        {"rate": "10", "base": "200.00", "amount": "20.00"}]
    flagged = [p for p in rows["wrong.pdf"]["problems"]
               if p["code"] == Reason.ARITHMETIC_MISMATCH]
    assert [(p["field"], p["expected"], p["found"]) for p in flagged] == [
        ("tax_breakdown[1].amount", "20.00", "25.00")]


def test_ferd_breakdown_of_a_real_zugferd_pdf_read_from_print() -> None:
    """Mustang's EN16931_Einfach.pdf prints the FeRD visualisation: "Art (Kategorie) |
    Warenwert | Zu-/Abschlag | Basisbetrag | Steuersatz [%] | Steuerbetrag", bare rates.
    Read from its print alone, the rows are its embedded XML's."""
    pdf = DATA / "einvoice" / "mustang-EN16931_Einfach.pdf"
    printed = digital_result(pdf, read_pdf(pdf)).invoice
    embedded = extract_embedded_xml(pdf)
    assert embedded is not None
    xml = parse_einvoice(embedded[1])
    assert printed.tax_breakdown == xml.tax_breakdown == [
        TaxSubtotal(D(7), D("275.00"), D("19.25")), TaxSubtotal(D(19), D("198.00"), D("37.62"))]
    assert (printed.subtotal, printed.tax_total) == (xml.subtotal, xml.tax_total)


def test_french_credit_note_rows_state_its_tax() -> None:
    """FNFE's credit note: "TVA collectée (vente) 20,0%  -20,48 €  -4,10 €" beside "Total
    taxes -14,99 €" (read as a total label, so no tax total ties). Each row holds and the
    rows' bases and taxes make its total: they are read as printed (negative), and state its
    tax base and tax, which the tax rows alone had left unread (-10,89 was taken)."""
    pdf = DATA / "einvoice" / "fnfe-Avoir_FR_type381_BASIC.pdf"
    printed = digital_result(pdf, read_pdf(pdf)).invoice
    assert printed.tax_breakdown == [TaxSubtotal(D("20.0"), D("-20.48"), D("-4.10")),
                                     TaxSubtotal(D("5.5"), D("-198.00"), D("-10.89"))]
    assert (printed.subtotal, printed.tax_total, printed.total) == (
        D("-218.48"), D("-14.99"), D("-233.47"))
    assert _findings(printed) == set()


def test_a_table_that_alone_states_the_tax() -> None:
    """saeco's "BTW % | Grondslag | BTW bedrag | Totaal" row under tax-included lines, with
    only "Factuur totaal 49,99" in its totals: the row's base and tax make the total, so
    they are its tax base and tax."""
    inv = _read(DATA / "corpus" / "saeco.pdf")
    assert inv.tax_breakdown == [TaxSubtotal(D(21), D("41.31"), D("8.68"))]
    assert (inv.subtotal, inv.tax_total, inv.total) == (D("41.31"), D("8.68"), D("49.99"))
    assert _findings(inv) == set()  # the lines hold the tax: 49,99 × 21 / 121 = 8,68


def _line(*cells: tuple[float, str]) -> list[WordBox]:
    return [WordBox(text=text, x0=x, top=100, x1=x + 5.5 * len(text), bottom=110)
            for x, text in cells]


def test_a_line_item_header_is_no_breakdown_table() -> None:
    items = build_lines([_line((40, "Description"), (250, "Qty"), (300, "Net"), (360, "VAT"),
                               (380, "%"), (420, "VAT"), (480, "Gross"))])[0]
    assert header_cells(items) is None
    alone = build_lines([_line((300, "Net"), (360, "VAT"), (380, "%"), (420, "VAT"),
                               (480, "Gross"))])[0]
    assert [c.role for c in header_cells(alone) or []] == ["base", "rate", "tax", "gross"]
    beside = build_lines([_line((40, "Net"), (100, "VAT"), (140, "rate"), (200, "VAT"),
                                (355, "Total"), (388, "excl."), (420, "tax"),
                                (500, "1,000.00"))])[0]
    cells = header_cells(beside)
    assert cells is not None and [c.role for c in cells] == ["base", "rate", "tax"]


def test_a_rate_label_glued_by_ocr_heads_a_table_beside_the_totals() -> None:
    """Tesseract's reading of a generated scan (seed 70400, document 36): "VAT %" read as
    "VAT%", each row sharing its line with the totals block's row of that rate. Unread,
    the table's words stayed among the totals and the 5 % row's tax became the tax total."""
    head = _line((40, "VAT%"), (100, "Taxable"), (150, "amount"), (220, "VAT"),
                 (330, "Net"), (360, "amount"), (420, "GBP"), (460, "2,541.18"))
    rows = [[WordBox(text=t, x0=x, top=100 + 14 * n, x1=x + 30, bottom=110 + 14 * n)
             for x, t in ((40, rate), (100, base), (220, tax), (330, "Tax"),
                          (360, f"({rate[:-4]}%)"), (420, "GBP"), (460, tax))]
            for n, (rate, base, tax) in enumerate(
                (("20.00%", "333.69", "66.74"), ("5.00%", "2,207.49", "110.37")), start=1)]
    grid = find_grid(build_lines([[*head, *rows[0], *rows[1]]]), ".")
    assert grid is not None
    assert [(r.rate, r.base, r.tax) for r in grid.rows] == [
        (D(20), D("333.69"), D("66.74")), (D(5), D("2207.49"), D("110.37"))]


def test_an_amount_ocr_split_at_the_tables_left_edge_is_read_whole() -> None:
    """Tesseract's reading of a generated scan (seed 70400, document 9): "7.282,65" under a
    narrow "Base" label, read as "7" and "282,65", the "7" left of the label's reach."""
    def ocr(x0: float, x1: float, text: str, top: float) -> WordBox:
        return WordBox(text=text, x0=x0, top=top, x1=x1, bottom=top + 8, conf=0.93)

    head = [ocr(104, 124, "Base", 420), ocr(161, 179, "Tipo", 420),
            ocr(207, 237, "Importe", 420), ocr(240, 254, "IVA", 420), ocr(314, 334, "Total", 420)]
    row = [ocr(89, 94, "7", 435), ocr(97, 124, "282,65", 435), ocr(166, 179, "4%", 435),
           ocr(227, 252, "291,31", 435), ocr(300, 304, "7", 435), ocr(307, 334, "573,96", 435)]
    grid = find_grid(build_lines([[*head, *row]]), ",")
    assert grid is not None
    assert [(r.rate, r.base, r.tax) for r in grid.rows] == [(D(4), D("7282.65"), D("291.31"))]


def test_rows_of_one_rate_twice_are_no_breakdown() -> None:
    head = _line((40, "Base"), (120, "Tipo"), (200, "Cuota"))
    rows = [[WordBox(text=t, x0=x, top=100 + 14 * n, x1=x + 30, bottom=110 + 14 * n)
             for x, t in ((40, "100,00"), (120, "21%"), (200, "21,00"))] for n in (1, 2)]
    lines = build_lines([[*head, *rows[0], *rows[1]]])
    assert find_grid(lines, ",") is None
    assert find_grid(lines[:2], ",") is not None


def test_a_figure_under_the_rate_column_alone_ends_the_table() -> None:
    """"Payment terms: Net 15" right under a table with bare rates: 15 stands where a rate
    would, but no tax does: not a row (it made the rows two of one table and none tied)."""
    head = _line((40, "Base"), (120, "IVA"), (142, "%"), (200, "Cuota"))
    row = [WordBox(text=t, x0=x, top=114, x1=x + 30, bottom=124)
           for x, t in ((40, "100,00"), (120, "21,00"), (200, "21,00"))]
    terms = [WordBox(text=t, x0=x, top=128, x1=x + 20, bottom=138)
             for x, t in ((40, "Terms:"), (95, "Net"), (125, "15"))]
    grid = find_grid(build_lines([[*head, *row, *terms]]), ",")
    assert grid is not None
    assert [(r.rate, r.base, r.tax) for r in grid.rows] == [(D(21), D(100), D(21))]


def test_a_currency_before_a_grouped_amount_is_not_an_amount_of_its_own() -> None:
    """"... 29 924,98 € 6 284,25 €": the euro sign ends the base; "6 284,25" is one amount."""
    words = _line((100, "29"), (112, "924,98"), (150, "€"), (158, "6"), (166, "284,25"),
                  (204, "€"))
    assert [a.value for a in read_amounts(words, ",")] == [D("29924.98"), D("6284.25")]


def test_ocr_readings_keep_the_breakdown_with_their_totals() -> None:
    rows = [TaxSubtotal(D(21), D(800), D(168)), TaxSubtotal(D(10), D(200), D(20))]
    tied = {"subtotal": D(1000), "tax_total": D(188), "total": D(1188), "tax_breakdown": rows}
    loose = {"subtotal": D(1000), "tax_total": D(188), "total": D(1198)}
    both = combine(reading(**loose), reading(**tied))  # the reading whose sums add up
    assert both.invoice.tax_breakdown == rows and both.invoice.total == D(1188)
    voted = vote(reading(**loose), [reading(**tied), reading(**tied)])  # two agree
    assert voted.invoice.tax_breakdown == rows
    kept = vote(reading(**{**tied, "tax_breakdown": []}), [reading(**tied), reading(**loose)])
    assert kept.invoice.tax_breakdown == []  # the first reading stands, with its own rows
