"""Income tax withheld by the payer (Spanish IRPF, Italian ritenuta): read, stored, and paid as
total - withholding, without false arithmetic or QR findings."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from extractors.einvoice import parse_einvoice
from extractors.qr.fields import compare_qr
from extractors.qr.payloads import EpcQr
from matching.engine import evaluate_batch
from matching.types import Candidate, Decision
from models import db, repo
from models.domain import (
    DocumentKind,
    DocumentStatus,
    ExtractionResult,
    ExtractionStatus,
    Invoice,
)
from models.queries import to_domain
from tests.test_validate import TODAY, clean_invoice, master

EINVOICE = Path(__file__).parent / "data" / "einvoice"


def test_facturae_irpf_is_withholding_and_total_stays_before_it() -> None:
    invoice = parse_einvoice((EINVOICE / "facturae-invoice-vat-irpf.facturae.xml").read_bytes())
    assert (invoice.subtotal, invoice.tax_total, invoice.total, invoice.withholding) == (
        Decimal("4237.00"), Decimal("843.92"), Decimal("5080.92"), Decimal("600.30"))
    assert invoice.amount_due == Decimal("4480.62")  # the file's TotalExecutableAmount


def test_facturae_without_irpf_has_no_withholding() -> None:
    invoice = parse_einvoice((EINVOICE / "facturae-invoice-vat.facturae.xml").read_bytes())
    assert invoice.withholding is None and invoice.amount_due == invoice.total


def test_fatturapa_ritenuta_is_withholding() -> None:
    xml = (EINVOICE / "fatturapa-IT01234567890_FPA01.xml").read_text(encoding="utf-8")
    ritenuta = ("<DatiRitenuta><TipoRitenuta>RT01</TipoRitenuta><ImportoRitenuta>5.00"
                "</ImportoRitenuta><AliquotaRitenuta>20.00</AliquotaRitenuta>"
                "<CausalePagamento>A</CausalePagamento></DatiRitenuta>")
    xml = xml.replace("<Numero>123</Numero>", "<Numero>123</Numero>" + ritenuta, 1)
    invoice = parse_einvoice(xml.encode("utf-8"))
    assert invoice.withholding == Decimal("5.00")
    assert invoice.total is not None and invoice.amount_due == invoice.total - Decimal("5.00")


def _irpf_invoice() -> Invoice:
    return replace(clean_invoice(), withholding=Decimal("10.50"))  # 15 % of 70.00


def test_withholding_raises_no_arithmetic_finding() -> None:
    [decision] = evaluate_batch([Candidate("a.pdf", _irpf_invoice())], master(), None, TODAY)
    assert decision.reason_codes == []


def test_payment_qr_for_the_amount_due_agrees() -> None:
    invoice = _irpf_invoice()  # total 84.70, paid 74.20

    def qr(amount: str) -> EpcQr:
        return EpcQr(version="002", bic=None, name="Acme Supplies SL", iban=invoice.iban or "",
                     amount=Decimal(amount), currency="EUR", purpose=None, reference=None,
                     remittance_text=None)

    assert compare_qr(qr("74.20"), invoice) == []
    assert compare_qr(qr("84.70"), invoice) == []
    [problem] = compare_qr(qr("74.00"), invoice)
    assert (problem.field, problem.expected, problem.found) == ("total", "74.00", "84.70")


def test_withholding_is_stored(db_session: Session) -> None:
    invoice = _irpf_invoice()
    document = repo.create_document(db_session, sha256="d" * 64, source_name="a.pdf",
                                    size_bytes=10)
    result = ExtractionResult(source="a.pdf", status=ExtractionStatus.OK,
                              kind=DocumentKind.DIGITAL, invoice=invoice, pages=1)
    decision = Decision(status=DocumentStatus.NEEDS_REVIEW, order_number=None, reasons=[])
    repo.save_extraction(db_session, document, result, decision)
    db_session.commit()
    row = db_session.scalars(select(db.Invoice)).one()
    assert row.withholding == Decimal("10.50")
    assert to_domain(row).amount_due == Decimal("74.20")
