"""QR payloads as partial invoices, and their cross-check against the extracted invoice."""

from __future__ import annotations

import re
from datetime import date

from arflow.reasons import Reason
from extractors.qr.payloads import EpcQr, QrPayload, SpanishTaxQr, SwissQrBill
from models.domain import Invoice, Party, Problem, display

QR_COMPARED = ("invoice_number", "issue_date", "currency", "total", "iban", "seller.tax_id")


def qr_to_fields(payload: QrPayload) -> Invoice:
    """The invoice fields a QR payload states; every other field stays None.

    A Swiss bill with amount 0.00 is a notification ("do not use for payment"), so it states
    no total. Swiss bill information in Swico S1 syntax adds invoice number (/10/),
    document date (/11/) and the seller's UID (/30/)."""
    if isinstance(payload, SwissQrBill):
        return _swiss(payload)
    if isinstance(payload, EpcQr):
        return Invoice(
            currency=payload.currency,
            total=payload.amount,
            iban=payload.iban,
            seller=Party(name=payload.name),
        )
    return Invoice(
        invoice_number=_spanish_number(payload),
        issue_date=payload.issue_date,
        total=payload.total,
        seller=Party(tax_id=payload.issuer_nif),
    )


def _spanish_number(payload: SpanishTaxQr) -> str:
    if payload.series and not payload.invoice_number.startswith(payload.series):
        return f"{payload.series}{payload.invoice_number}"
    return payload.invoice_number


def _swiss(bill: SwissQrBill) -> Invoice:
    s1 = swico_s1(bill.bill_information)
    uid = s1.get("30")
    return Invoice(
        invoice_number=s1.get("10"),
        issue_date=_yymmdd(s1.get("11")),
        currency=bill.currency,
        total=bill.amount if bill.amount else None,
        iban=bill.iban,
        seller=Party(
            name=bill.creditor_name,
            address=bill.creditor_address,
            tax_id=f"CHE-{uid[0:3]}.{uid[3:6]}.{uid[6:9]}" if uid and len(uid) == 9 else uid,
        ),
    )


def swico_s1(info: str | None) -> dict[str, str]:
    """Tag -> value of Swico S1 bill information (``//S1/10/...``); {} for anything else."""
    if not info or not info.startswith("//S1/"):
        return {}
    parts = [p.replace("\\/", "/") for p in re.split(r"(?<!\\)/", info[len("//S1/") :])]
    return {parts[i]: parts[i + 1] for i in range(0, len(parts) - 1, 2)}


def _yymmdd(value: str | None) -> date | None:
    if not value or not re.fullmatch(r"\d{6}(\d{6})?", value):
        return None
    try:
        return date(2000 + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        return None


def compare_qr(payload: QrPayload, invoice: Invoice) -> list[Problem]:
    """QR_MISMATCH problems where the QR and the invoice both state a field and disagree.

    Compared: invoice number and tax id (ignoring case, spaces and punctuation, and a
    leading country prefix on the tax id), issue date, currency, total (exactly) and IBAN."""
    qr = qr_to_fields(payload)
    problems = []
    for name in QR_COMPARED:
        expected, found = qr.get(name), invoice.get(name)
        if expected is None or found is None or _same(name, expected, found, payload):
            continue
        if name == "total" and expected == invoice.amount_due:
            continue  # a payment code states what is paid: the total less the withholding
        problems.append(
            Problem(
                code=Reason.QR_MISMATCH,
                message=f"{name}: the QR code says {display(expected)}, "
                f"the document {display(found)}",
                field=name,
                expected=display(expected),
                found=display(found),
            )
        )
    return problems


def _same(name: str, qr_value: object, doc_value: object, payload: QrPayload) -> bool:
    if isinstance(qr_value, str) and isinstance(doc_value, str):
        a, b = _key(qr_value), _key(doc_value)
        if name == "seller.tax_id":
            return a == b or a.endswith(b) or b.endswith(a)
        if name == "invoice_number" and isinstance(payload, SpanishTaxQr):
            return b in (a, _key(payload.invoice_number))
        return a == b
    return qr_value == doc_value


def _key(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()

