"""Digital PDFs end to end: words from the text layer, `extract_file`, bad inputs, registry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from stdnum.es import cif

from arflow.errors import ConfigError, DocumentError
from arflow.reasons import Reason
from arflow.settings import Settings, load_settings
from extractors import FileProbe, extract_file, register_extractor, unregister_extractor
from extractors.digital import PDF_ENGINES, extract_pdf_words, pdf_page_count, read_pdf
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus

CORPUS = Path(__file__).parent / "data" / "corpus"
SELLER_CIF = "B8765432" + cif.calc_check_digits("B8765432")[0]
HEIGHT = A4[1]


def write_invoice(path: Path, rows: int = 3, per_page: int = 40, **options: object) -> Path:
    """A Spanish invoice drawn with reportlab; the table breaks after ``per_page`` rows."""
    pdf = canvas.Canvas(str(path), pagesize=A4, **options)
    pdf.setFont("Helvetica", 9)

    def text(x: float, y: float, value: str) -> None:
        pdf.drawString(x, HEIGHT - y, value)

    def right(x: float, y: float, value: str) -> None:
        pdf.drawRightString(x, HEIGHT - y, value)

    text(40, 40, "Distribuciones Ibéricas S.L.")
    text(40, 52, f"CIF: {SELLER_CIF}")
    text(340, 40, "Factura nº: 2026/00117")
    text(340, 52, "Fecha de factura: 03/03/2026")
    text(40, 90, "Cliente")
    text(40, 102, "Hostelería del Sur S.A.")
    y = 140.0
    header = ((40, "Descripción"), (330, "Cantidad"), (400, "Precio"), (480, "Importe"))
    for x, label in header:
        text(x, y, label)
    for i in range(rows):
        if i and i % per_page == 0:
            pdf.showPage()
            pdf.setFont("Helvetica", 9)
            y = 60.0
        y += 14
        text(40, y, f"Artículo {i + 1}")
        right(370, y, "2")
        right(440, y, "12,50")
        right(530, y, "25,00")
    net = Decimal("25.00") * rows
    tax = (net * Decimal("0.21")).quantize(Decimal("0.01"))
    for label, value in (("Base imponible", net), ("IVA 21%", tax), ("Total", net + tax)):
        y += 16
        text(380, y, label)
        right(530, y, f"{value:,.2f} €".replace(",", "_").replace(".", ",").replace("_", "."))
    pdf.save()
    return path


def test_words_have_positions_top_left_origin(tmp_path: Path) -> None:
    pages = extract_pdf_words(write_invoice(tmp_path / "a.pdf"))
    first = {w.text: w for w in pages[0]}
    assert first["Distribuciones"].top == pytest.approx(40 - 9, abs=3)
    assert first["Distribuciones"].x0 == pytest.approx(40, abs=1)
    assert "03/03/2026" in first and "Ibéricas" in first


def test_digital_invoice_extracts(tmp_path: Path) -> None:
    result = extract_file(write_invoice(tmp_path / "a.pdf"))
    inv = result.invoice
    assert result.status == ExtractionStatus.OK
    assert (result.kind, result.pages) == (DocumentKind.DIGITAL, 1)
    assert inv.invoice_number == "2026/00117"
    assert inv.issue_date == date(2026, 3, 3)
    assert inv.currency == "EUR"
    assert inv.seller.name == "Distribuciones Ibéricas S.L." and inv.seller.tax_id == SELLER_CIF
    assert inv.buyer.name == "Hostelería del Sur S.A."
    assert (inv.subtotal, inv.tax_total, inv.total) == (
        Decimal("75.00"), Decimal("15.75"), Decimal("90.75"))
    assert [ln.amount for ln in inv.lines] == [Decimal("25.00")] * 3
    assert result.errors == []


def test_table_joined_across_pdf_pages(tmp_path: Path) -> None:
    path = write_invoice(tmp_path / "long.pdf", rows=60, per_page=45)
    result = extract_file(path)
    assert pdf_page_count(path) == 2
    assert len(result.invoice.lines) == 60
    assert result.invoice.lines[-1].description == "Artículo 60"
    assert result.invoice.total == Decimal("1815.00")


def _settings(tmp_path: Path, **overrides: int) -> Settings:
    return Settings(home=tmp_path, database_url="sqlite://", **overrides)  # type: ignore[arg-type]


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    corrupt = tmp / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    empty = tmp / "empty.pdf"
    empty.write_bytes(b"")
    text = tmp / "notes.txt"
    text.write_text("just some notes, not an invoice\n")
    zero = tmp / "zero-pages.pdf"
    pdfium.PdfDocument.new().save(zero)  # a valid PDF whose page tree is empty
    encrypted = write_invoice(tmp / "locked.pdf", encrypt="secret")
    scan = tmp / "scan.pdf"
    pdf = canvas.Canvas(str(scan), pagesize=A4)
    pdf.rect(50, 50, 200, 100, fill=1)
    pdf.save()
    return {
        Reason.UNREADABLE_DOCUMENT: corrupt, Reason.EMPTY_DOCUMENT: empty,
        Reason.UNSUPPORTED_FORMAT: text, Reason.ENCRYPTED_DOCUMENT: encrypted,
        Reason.OCR_FAILED: scan, "zero": zero,
    }


def test_each_bad_input_gets_its_code_and_good_files_still_extract(tmp_path: Path) -> None:
    bad = _bad_inputs(tmp_path)
    good = write_invoice(tmp_path / "good.pdf")
    results = {code: extract_file(path) for code, path in bad.items()}
    for code, result in results.items():
        assert result.status == ExtractionStatus.FAILED
        expected = Reason.EMPTY_DOCUMENT if code == "zero" else code
        assert [e.code for e in result.errors] == [expected], result.errors
    assert "OCR" in results[Reason.OCR_FAILED].errors[0].message
    assert extract_file(good).status == ExtractionStatus.OK


def test_size_and_page_limits(tmp_path: Path) -> None:
    path = write_invoice(tmp_path / "a.pdf", rows=60, per_page=45)
    small = extract_file(path, _settings(tmp_path, max_file_bytes=100))
    assert [e.code for e in small.errors] == [Reason.FILE_TOO_LARGE]
    short = extract_file(path, _settings(tmp_path, max_pages=1))
    assert [e.code for e in short.errors] == [Reason.FILE_TOO_LARGE]
    assert extract_file(path, _settings(tmp_path)).status == ExtractionStatus.OK


def test_missing_required_fields_give_partial(tmp_path: Path) -> None:
    path = tmp_path / "memo.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(40, 780, "Distribuciones Ibéricas S.L. — memorandum about deliveries")
    pdf.drawString(40, 760, "Total 120,00 €")
    pdf.save()
    result = extract_file(path)
    assert result.status == ExtractionStatus.PARTIAL
    missing = {e.field for e in result.errors if e.code == Reason.MISSING_FIELD}
    assert {"invoice_number", "issue_date"} <= missing
    assert "total" not in missing


def test_registered_extractor_takes_its_kind(tmp_path: Path) -> None:
    seen: list[Path] = []

    def fake_ocr(probe: FileProbe, settings: Settings | None) -> ExtractionResult:
        seen.append(probe.path)
        return ExtractionResult(str(probe.path), ExtractionStatus.PARTIAL, DocumentKind.SCANNED)

    def wants(probe: FileProbe) -> bool:
        return probe.is_pdf and not probe.has_text

    register_extractor(wants, fake_ocr, first=True)  # ahead of the built-in OCR extractor
    try:
        scan = _bad_inputs(tmp_path)[Reason.OCR_FAILED]
        assert extract_file(scan).kind == DocumentKind.SCANNED
        assert extract_file(write_invoice(tmp_path / "d.pdf")).kind == DocumentKind.DIGITAL
    finally:
        unregister_extractor(fake_ocr)
    assert seen == [scan]


def test_corpus_netpresse_exact_values() -> None:
    result = extract_file(CORPUS / "NetpresseInvoice.pdf")
    inv = result.invoice
    assert inv.total == Decimal("56.02") and inv.subtotal == Decimal("46.68")
    assert inv.issue_date == date(2022, 11, 28)
    assert inv.invoice_number == "2022089083"
    assert inv.currency == "EUR"


def test_corpus_storyblok_exact_values() -> None:
    inv = extract_file(CORPUS / "Invoice-Storyblok-april23-76253815-0004.pdf").invoice
    assert inv.total == Decimal("99.00")
    assert inv.issue_date == date(2023, 4, 13)
    assert inv.currency == "EUR"
    assert inv.seller.name == "Storyblok GmbH"
    assert inv.invoice_number == "76253815-0004"


def test_corpus_position_column_is_not_the_quantity() -> None:
    """QualityHosting: "Pos. Menge Beschreibung ... VK-Preis Zeilenbetrag", seven items of
    one unit each over two pages (invoice2data's truth: qty 1.0 on every line)."""
    lines = extract_file(CORPUS / "QualityHosting.pdf").invoice.lines
    assert [ln.quantity for ln in lines] == [Decimal(1)] * 7
    assert [ln.amount for ln in lines] == [Decimal(a) for a in (
        "3.89", "5.39", "5.39", "5.39", "5.39", "5.39", "3.89")]
    assert all(ln.quantity * ln.unit_price == ln.amount for ln in lines
               if ln.quantity is not None and ln.unit_price is not None)


def test_read_pdf_reports_page_sizes(tmp_path: Path) -> None:
    words = read_pdf(write_invoice(tmp_path / "a.pdf"))
    assert words.page_count == 1 and words.widths[0] == pytest.approx(A4[0])


def test_text_layer_without_unicode_map_is_not_read_as_digital() -> None:
    path = CORPUS / "TeamGantt-May-no-unicode-map.pdf"
    assert read_pdf(path).char_count < 20  # control characters do not count
    result = extract_file(path)
    assert result.kind == DocumentKind.SCANNED or [e.code for e in result.errors] == [
        Reason.OCR_FAILED
    ]


HEADER = (
    "invoice_number", "issue_date", "due_date", "currency", "order_number", "subtotal",
    "tax_total", "total", "iban", "seller.name", "seller.tax_id", "buyer.name", "buyer.tax_id",
)


def test_generated_invoices_every_layout(tmp_path: Path) -> None:
    """Development seeds of the generator (held-out seeds >= 10000 are for the bench only)."""
    invoices = pytest.importorskip("generator.invoices")
    paths = invoices.generate_documents(tmp_path, 8, 77)
    wrong: list[str] = []
    for path in paths:
        truth = invoices.load_ground_truth(path)
        got = extract_file(path).invoice
        wrong += [f"{path.name}:{f}" for f in HEADER if truth.get(f) != got.get(f)]
        assert [ln.amount for ln in got.lines] == [ln.amount for ln in truth.lines], path.name
    assert len(wrong) <= 1, wrong


def test_threads_share_pdfium_safely(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    paths = [write_invoice(tmp_path / f"t{i}.pdf", rows=i + 1) for i in range(6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        totals = list(pool.map(lambda p: extract_file(p).invoice.total, paths * 3))
    expected = [(Decimal("25.00") * (i + 1) * Decimal("1.21")).quantize(Decimal("0.01"))
                for i in range(6)]
    assert totals == expected * 3


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    invoices = pytest.importorskip("generator.invoices")
    paths: list[Path] = invoices.generate_documents(tmp_path_factory.mktemp("gen"), 8, 78)
    return paths


@pytest.mark.parametrize("engine", PDF_ENGINES)
def test_both_engines_read_generated_invoices_exactly(
    tmp_path: Path, generated: list[Path], engine: str
) -> None:
    from generator.invoices import load_ground_truth

    settings = Settings(home=tmp_path, database_url="sqlite://", pdf_engine=engine)
    wrong: list[str] = []
    for path in generated:
        truth = load_ground_truth(path)
        got = extract_file(path, settings).invoice
        wrong += [f"{path.name}:{f}" for f in HEADER if truth.get(f) != got.get(f)]
        assert [ln.amount for ln in got.lines] == [ln.amount for ln in truth.lines], path.name
    assert wrong == []


def test_engines_differ_in_boxes_but_agree_on_words(tmp_path: Path) -> None:
    path = write_invoice(tmp_path / "a.pdf")
    pdfium_words, plumber_words = (read_pdf(path, engine=e) for e in PDF_ENGINES)
    assert [w.text for w in plumber_words.pages[0]] == [w.text for w in pdfium_words.pages[0]]
    first = {e: words.pages[0][0] for e, words in zip(PDF_ENGINES, (pdfium_words, plumber_words),
                                                      strict=True)}
    assert first["pdfplumber"].bottom - first["pdfplumber"].top == pytest.approx(9, abs=0.01)
    assert first["pdfium"].bottom - first["pdfium"].top > 9.5  # pdfium's loose boxes are taller
    assert plumber_words.widths == pytest.approx(pdfium_words.widths)
    unmapped = CORPUS / "TeamGantt-May-no-unicode-map.pdf"
    assert read_pdf(unmapped, engine="pdfplumber").char_count < 20  # "(cid:N)" is dropped


def test_pdfplumber_engine_gives_the_same_codes_for_bad_inputs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite://", pdf_engine="pdfplumber")
    for code, path in _bad_inputs(tmp_path).items():
        result = extract_file(path, settings)
        expected = Reason.EMPTY_DOCUMENT if code == "zero" else code
        assert [e.code for e in result.errors] == [expected], (code, result.errors)
    long = write_invoice(tmp_path / "long.pdf", rows=60, per_page=45)
    short = Settings(home=tmp_path, database_url="sqlite://", pdf_engine="pdfplumber", max_pages=1)
    assert [e.code for e in extract_file(long, short).errors] == [Reason.FILE_TOO_LARGE]
    assert len(extract_file(long, settings).invoice.lines) == 60


def test_engine_comes_from_settings_and_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    assert load_settings({}).pdf_engine == "pdfium"
    assert load_settings({"ARFLOW_PDF_ENGINE": "pdfplumber"}).pdf_engine == "pdfplumber"
    bad = Settings(home=tmp_path, database_url="sqlite://", pdf_engine="pdfminer")
    with pytest.raises(ConfigError, match="unknown PDF engine"):
        extract_file(write_invoice(tmp_path / "a.pdf"), bad)


@pytest.mark.parametrize("engine", PDF_ENGINES)
def test_damaged_pdfs_give_typed_errors_never_raw_ones(tmp_path: Path, engine: str) -> None:
    """Truncated and byte-flipped copies (fuzzing found raw PdfiumError from a page that
    does not load, and raw TypeError / MalformedPDFException from pdfminer)."""
    import random

    source = write_invoice(tmp_path / "src.pdf", rows=30, per_page=20).read_bytes()
    rng = random.Random(5)
    outcomes: set[str] = set()
    for i in range(40):
        data = bytearray(source)
        if i % 2:
            data = data[: rng.randint(100, len(data))]
        else:
            for _ in range(20):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"bad{i}.pdf"
        path.write_bytes(bytes(data))
        try:
            read_pdf(path, engine=engine)
            outcomes.add("ok")
        except DocumentError as exc:
            outcomes.add(exc.code)
    assert Reason.UNREADABLE_DOCUMENT in outcomes
