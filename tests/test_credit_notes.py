"""Credit notes and corrective invoices: read from every e-invoice syntax, stored, never paid or
matched automatically, and checked against the invoice they refer to."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from arflow.cli import cli
from arflow.reasons import Reason
from extractors.api import extract_file
from extractors.einvoice import parse_einvoice
from extractors.einvoice.doctype import invoice_type
from matching.engine import evaluate_batch
from matching.types import Candidate, Decision
from models import db, repo
from models.approvals import reason_codes
from models.corrections import correct_field, parse_value
from models.domain import (
    DocumentKind,
    DocumentStatus,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
    InvoiceType,
)
from models.queries import to_domain
from tests.test_approvals import make_item, make_user, sample_invoice
from tests.test_validate import TODAY, clean_invoice, master

ROOT = Path(__file__).resolve().parents[1]
EINVOICE = ROOT / "tests" / "data" / "einvoice"
SAMPLE = ROOT / "data"


# --- reading the type from each syntax -------------------------------------------------------

@pytest.mark.parametrize(("name", "kind", "preceding", "total"), [
    ("peppol-base-creditnote-correction.xml", InvoiceType.CREDIT_NOTE, "Snippet1",
     Decimal("1656.25")),
    ("en16931-ubl-tc434-creditnote1.xml", InvoiceType.CREDIT_NOTE, None, Decimal("100.11")),
    ("xml-rechnung-EN16931_Rechnungskorrektur.cii.xml", InvoiceType.CORRECTED_INVOICE, None,
     Decimal("-8.79")),
    ("peppol-base-example.xml", InvoiceType.INVOICE, None, Decimal("1656.25")),
])
def test_type_and_reference_from_real_e_invoices(
    name: str, kind: InvoiceType, preceding: str | None, total: Decimal,
) -> None:
    invoice = parse_einvoice((EINVOICE / name).read_bytes())
    assert (invoice.invoice_type, invoice.preceding_invoice, invoice.total) == (
        kind, preceding, total)


def test_factur_x_credit_note_pdf_reads_its_embedded_type() -> None:
    result = extract_file(EINVOICE / "fnfe-Avoir_FR_type381_BASIC.pdf")
    assert result.kind == DocumentKind.EINVOICE and result.invoice is not None
    assert result.invoice.invoice_type == InvoiceType.CREDIT_NOTE
    assert result.invoice.preceding_invoice == "FA-2017-0010"


def test_facturae_rectificativa_names_the_corrected_invoice() -> None:
    xml = (EINVOICE / "facturae-invoice-vat.facturae.xml").read_text(encoding="utf-8")
    assert "<InvoiceClass>OO</InvoiceClass>" in xml
    xml = xml.replace("<InvoiceClass>OO</InvoiceClass>", "<InvoiceClass>OR</InvoiceClass>"
                      "<Corrective><InvoiceNumber>0007</InvoiceNumber>"
                      "<InvoiceSeriesCode>SAMPLE</InvoiceSeriesCode><ReasonCode>01</ReasonCode>"
                      "</Corrective>")
    invoice = parse_einvoice(xml.encode("utf-8"))
    assert invoice.invoice_type == InvoiceType.CORRECTED_INVOICE
    assert invoice.preceding_invoice == "SAMPLE-0007"


@pytest.mark.parametrize(("code", "credit_root", "kind"), [
    ("380", False, InvoiceType.INVOICE), ("389", False, InvoiceType.INVOICE),
    ("381", False, InvoiceType.CREDIT_NOTE), (" 396 ", False, InvoiceType.CREDIT_NOTE),
    ("384", False, InvoiceType.CORRECTED_INVOICE), (None, True, InvoiceType.CREDIT_NOTE),
    ("384", True, InvoiceType.CORRECTED_INVOICE), ("TD04", False, InvoiceType.CREDIT_NOTE),
    ("td01", False, InvoiceType.INVOICE), ("OR", False, InvoiceType.CORRECTED_INVOICE),
    (None, False, InvoiceType.INVOICE),
])
def test_type_codes(code: str | None, credit_root: bool, kind: InvoiceType) -> None:
    assert invoice_type(code, root_is_credit_note=credit_root) is kind


# --- the engine: never auto-approved, the referred invoice looked up ---------------------------

def _credit_note_for(invoice: Invoice, number: str = "AB-2024-001") -> Invoice:
    return replace(invoice, invoice_number=number, invoice_type=InvoiceType.CREDIT_NOTE,
                   preceding_invoice=invoice.invoice_number)


def test_credit_note_in_the_same_batch_as_its_invoice() -> None:
    invoice = clean_invoice()
    credit = _credit_note_for(invoice)  # same seller, total, date and order as the invoice
    decisions = evaluate_batch([Candidate("inv.pdf", invoice), Candidate("cn.pdf", credit)],
                               master(), None, TODAY)
    assert decisions[0].status == DocumentStatus.AUTO_APPROVED
    assert decisions[1].status == DocumentStatus.NEEDS_REVIEW
    assert decisions[1].reason_codes == [Reason.CREDIT_NOTE]  # no ORDER_NOT_FOUND, no duplicate
    problem, given_back = decisions[1].reasons  # what it gives back: tests/test_credit_netting.py
    assert problem.found == ("credit note; refers to invoice F-2024-001 "
                             "(received as document inv.pdf, total 84.70)")
    assert given_back.field == "lines" and decisions[1].order_number == "PO-1001"


def test_credit_note_for_an_invoice_received_earlier_or_never() -> None:
    earlier = master(seen=[{"document_id": 41, "seller_tax_id": "B58378431",
                            "seller_name": "Acme Supplies S.L.", "invoice_number": "F 2024 001",
                            "total": Decimal("84.70"), "issue_date": date(2024, 3, 10)}])
    credit = _credit_note_for(clean_invoice())
    [found] = evaluate_batch([Candidate("cn.pdf", credit)], earlier, None, TODAY)
    assert found.reasons[0].found == ("credit note; refers to invoice F-2024-001 "
                                      "(received as document 41, total 84.70)")
    assert found.reason_codes == [Reason.CREDIT_NOTE]
    [missing] = evaluate_batch([Candidate("cn.pdf", credit)], master(), None, TODAY)
    assert missing.reasons[0].found == ("credit note; refers to invoice F-2024-001 "
                                        "(not received from this seller)")
    unreferenced = replace(credit, preceding_invoice=None)
    [bare] = evaluate_batch([Candidate("cn.pdf", unreferenced)], master(), None, TODAY)
    assert bare.reasons[0].found == "credit note; refers to no invoice number"


def test_credit_note_for_more_than_its_invoice_says_so() -> None:
    invoice = clean_invoice()
    larger = replace(_credit_note_for(invoice), total=Decimal("-99.00"))  # printed negative
    corrected = replace(larger, invoice_type=InvoiceType.CORRECTED_INVOICE)
    decisions = evaluate_batch(
        [Candidate("inv.pdf", invoice), Candidate("cn.pdf", larger),
         Candidate("r.pdf", replace(corrected, invoice_number="R-2"))], master(), None, TODAY)
    def found(decision: Decision) -> str | None:
        return next(p.found for p in decision.reasons if p.field == "invoice_type")

    assert found(decisions[1]) == (
        "credit note; refers to invoice F-2024-001 (received as document inv.pdf, total 84.70); "
        "it credits 99.00, more than that invoice's total")
    assert found(decisions[2]) == (  # a correction may bill more than the original
        "corrective invoice; refers to invoice F-2024-001 "
        "(received as document inv.pdf, total 84.70)")


def test_corrective_invoice_and_a_resent_credit_note() -> None:
    corrected = replace(clean_invoice(), invoice_number="R-1",
                        invoice_type=InvoiceType.CORRECTED_INVOICE, preceding_invoice="X-9")
    credit = _credit_note_for(clean_invoice())
    resent = replace(credit, invoice_number="AB 2024 001")
    decisions = evaluate_batch(
        [Candidate("r.pdf", corrected), Candidate("cn.pdf", credit), Candidate("cn2.pdf", resent)],
        master(), None, TODAY)
    assert decisions[0].reason_codes == [Reason.CORRECTED_INVOICE]
    assert decisions[1].reason_codes == [Reason.CREDIT_NOTE]
    assert decisions[2].reason_codes == [Reason.CREDIT_NOTE, Reason.DUPLICATE_INVOICE]


def test_an_invoice_with_a_credit_notes_total_and_date_is_no_suspected_duplicate() -> None:
    credit = _credit_note_for(clean_invoice(), number="AB-7")
    invoice = clean_invoice()
    decisions = evaluate_batch([Candidate("cn.pdf", credit), Candidate("inv.pdf", invoice)],
                               master(), None, TODAY)
    assert decisions[1].status == DocumentStatus.AUTO_APPROVED


def test_approver_may_correct_a_misread_type() -> None:
    assert parse_value("invoice_type", " Credit Note ") is InvoiceType.CREDIT_NOTE
    assert parse_value("invoice_type", "invoice") is InvoiceType.INVOICE
    assert parse_value("preceding_invoice", "F-1") == "F-1"
    with pytest.raises(Exception, match="not a valid value for invoice_type"):
        parse_value("invoice_type", "receipt")


def test_approver_corrects_a_misread_type_and_the_item_is_validated_again(
    db_session: Session, load_master: Callable[[Session], None],
) -> None:
    load_master(db_session)
    misread = replace(sample_invoice("166.18"), invoice_type=InvoiceType.CREDIT_NOTE)
    item = make_item(db_session, misread)
    assert reason_codes(item) == ["CREDIT_NOTE"]
    clerk = make_user(db_session, "cleo", "clerk", "1000")
    correct_field(db_session, item.id, user=clerk, expected_version=item.version,
                  name="invoice_type", text="invoice")
    db_session.commit()
    assert item.reasons == []
    document = db_session.get_one(db.Document, item.document_id)
    assert document.invoice is not None and document.invoice.invoice_type == "invoice"
    event = db_session.scalars(select(db.AuditEvent)
                               .where(db.AuditEvent.action == "review.correct")).one()
    assert event.before is not None and event.after is not None
    assert (event.before["value"], event.after["value"]) == ("credit_note", "invoice")


# --- storage: SQLite and PostgreSQL ---------------------------------------------------------------

def test_type_and_reference_are_stored(db_session: Session) -> None:
    credit = _credit_note_for(clean_invoice())
    document = repo.create_document(db_session, sha256="c" * 64, source_name="cn.xml",
                                    size_bytes=10)
    result = ExtractionResult(source="cn.xml", status=ExtractionStatus.OK,
                              kind=DocumentKind.EINVOICE, invoice=credit, pages=0)
    [decision] = evaluate_batch([Candidate("cn.xml", credit)], master(), None, TODAY)
    stored = Decision(status=decision.status, order_number=None, reasons=decision.reasons)
    repo.save_extraction(db_session, document, result, stored)
    db_session.commit()
    row = db_session.scalars(select(db.Invoice)).one()
    assert (row.invoice_type, row.preceding_invoice) == ("credit_note", "F-2024-001")
    assert to_domain(row).invoice_type is InvoiceType.CREDIT_NOTE
    seen = repo.load_master_data(db_session).seen_invoices
    assert seen["total"].isna().all()  # a credit note's total fingerprints no duplicate


# --- end to end: `arflow run` in two batches ------------------------------------------------------

_UBL = """<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>{number}</cbc:ID><cbc:IssueDate>{date}</cbc:IssueDate>
 <cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:OrderReference><cbc:ID>{order}</cbc:ID></cac:OrderReference>
 <cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{preceding}</cbc:ID>
 </cac:InvoiceDocumentReference></cac:BillingReference>
 <cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme><cbc:CompanyID>{tax}</cbc:CompanyID>
 <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
 <cac:PartyLegalEntity><cbc:RegistrationName>{seller}</cbc:RegistrationName>
 </cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
 <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>
 <cac:PayeeFinancialAccount><cbc:ID>{iban}</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
 <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{tax_total}</cbc:TaxAmount></cac:TaxTotal>
 <cac:LegalMonetaryTotal>
 <cbc:TaxExclusiveAmount currencyID="EUR">{subtotal}</cbc:TaxExclusiveAmount>
 <cbc:TaxInclusiveAmount currencyID="EUR">{total}</cbc:TaxInclusiveAmount>
 <cbc:PayableAmount currencyID="EUR">{total}</cbc:PayableAmount></cac:LegalMonetaryTotal>
 {lines}
</CreditNote>
"""
_LINE = """<cac:CreditNoteLine><cbc:ID>{i}</cbc:ID>
 <cbc:CreditedQuantity unitCode="C62">{quantity}</cbc:CreditedQuantity>
 <cbc:LineExtensionAmount currencyID="EUR">{amount}</cbc:LineExtensionAmount>
 <cac:Item><cbc:Name>{description}</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID>
 <cbc:Percent>{tax_rate}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
 </cac:ClassifiedTaxCategory></cac:Item>
 <cac:Price><cbc:PriceAmount currencyID="EUR">{unit_price}</cbc:PriceAmount></cac:Price>
 </cac:CreditNoteLine>"""


def _ubl_credit_note(truth: dict[str, object], number: str) -> str:
    """A UBL credit note giving back the whole of the invoice in `truth` (its ground truth)."""
    inv = Invoice.from_json(truth)
    lines = "".join(_LINE.format(i=i, **{k: escape(_str(v)) for k, v in ln.to_json().items()})
                    for i, ln in enumerate(inv.lines, 1))
    return _UBL.format(number=number, date=inv.issue_date, order=inv.order_number,
                       preceding=inv.invoice_number, tax=inv.seller.tax_id,
                       seller=escape(inv.seller.name or ""), iban=inv.iban,
                       tax_total=inv.tax_total, subtotal=inv.subtotal, total=inv.total,
                       lines=lines)


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _report(runner: CliRunner) -> dict[str, dict[str, object]]:
    out = runner.invoke(cli, ["report", "--json"]).output
    return {row["source"]: row for row in map(json.loads, out.splitlines())}


def test_credit_note_through_arflow_run(runner: CliRunner, tmp_path: Path) -> None:
    for kind in ("parties", "orders", "receipts"):
        assert runner.invoke(cli, ["import", kind, str(SAMPLE / f"{kind}.csv")]).exit_code == 0
    first, second = tmp_path / "in1", tmp_path / "in2"
    first.mkdir()
    second.mkdir()
    name = "002_transportes_alcazar.pdf"
    shutil.copy(SAMPLE / "invoices" / name, first / name)
    truth = json.loads((SAMPLE / "truth" / name.replace(".pdf", ".gt.json")).read_text())
    xml = _ubl_credit_note(truth["invoice"], "AB-0001")
    (second / "credit-note.xml").write_text(xml, encoding="utf-8")
    (second / "resent-credit-note.xml").write_text(xml + "\n", encoding="utf-8")
    for inbox in (first, second):
        result = runner.invoke(cli, ["run", "--inbox", str(inbox), "--engine", "plain"])
        assert result.exit_code == 0, result.output
    rows = _report(runner)
    assert rows[name]["status"] == "auto_approved"
    credit, resent = rows["credit-note.xml"], rows["resent-credit-note.xml"]
    assert credit["status"] == resent["status"] == "needs_review"
    assert credit["reasons"] == ["CREDIT_NOTE"]
    assert resent["reasons"] == ["CREDIT_NOTE", "DUPLICATE_INVOICE"]
    assert credit["order_number"] == truth["invoice"]["order_number"]  # the one it credits
    invoice = credit["invoice"]
    assert isinstance(invoice, dict)
    assert (invoice["invoice_type"], invoice["preceding_invoice"]) == (
        "credit_note", truth["invoice"]["invoice_number"])
    problems = credit["problems"]
    assert isinstance(problems, list) and len(problems) == 2
    assert "received as document" in problems[0]["found"]
    assert problems[1]["found"].startswith("gives back line 1: ")
    csv_text = runner.invoke(cli, ["report", "--format", "csv"]).output.splitlines()
    assert csv_text[0].endswith(",invoice_type,preceding_invoice,withholding,export_id")
    assert sum(line.endswith(f",credit_note,{truth['invoice']['invoice_number']},,")
               for line in csv_text) == 2
