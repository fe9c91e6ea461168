"""Typed readings of payment and tax QR payloads.

- Swiss QR-bill: Swiss Payments Code (``SPC``), Implementation Guidelines v2.x.
- EPC069-12 "SEPA credit transfer" QR (GiroCode, ``BCD``), versions 001 and 002.
- Spanish tax QR codes: VERI*FACTU (AEAT ``ValidarQR`` URL) and TicketBAI (``TBAI-`` id).

`parse_payload` returns None for text that is none of these, and raises `InvalidQrPayloadError`
when it claims to be one (right header) but breaks its format: control characters, an IBAN
that is not shaped like one, an amount that is not plain digits or exceeds what the scheme
allows (999,999,999.99 for both payment codes; 12 digits before the point for the AEAT's
invoice total). Such a code is ignored: an amount of 1e400 from a QR code once filled a total
the database could not hold and stopped the batch."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

from arflow.errors import ArflowError


class InvalidQrPayloadError(ArflowError):
    code = "INVALID_QR_PAYLOAD"


PAYMENT_MAX = Decimal("999999999.99")  # Swiss QR-bill and EPC QR: the largest amount
SPANISH_MAX = Decimal("999999999999.99")  # AEAT ImporteTotal: 12 digits before the point
_PLAIN_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{1,30}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SwissQrBill:
    iban: str
    creditor_name: str | None
    creditor_address: str | None
    amount: Decimal | None  # None: amount left blank for the payer to fill in
    currency: str
    debtor_name: str | None
    reference_type: str  # QRR, SCOR or NON
    reference: str | None
    message: str | None
    bill_information: str | None


@dataclass(frozen=True)
class EpcQr:
    version: str
    bic: str | None
    name: str
    iban: str
    amount: Decimal | None
    currency: str | None
    purpose: str | None
    reference: str | None  # structured creditor reference (e.g. RF18...)
    remittance_text: str | None


@dataclass(frozen=True)
class SpanishTaxQr:
    scheme: str  # "verifactu" or "ticketbai"
    issuer_nif: str
    invoice_number: str
    series: str | None
    issue_date: date | None
    total: Decimal | None
    url: str


QrPayload = SwissQrBill | EpcQr | SpanishTaxQr


def parse_payload(text: str) -> QrPayload | None:
    body = text.lstrip("\ufeff").strip()
    if body.startswith("SPC"):
        return parse_swiss(_printable(body))
    if body.startswith("BCD"):
        return parse_epc(_printable(body))
    if body.lower().startswith(("http://", "https://")):
        return parse_spanish_url(body)
    return None


def _printable(text: str) -> str:
    """`text`, refused when it holds control characters other than line breaks (a NUL
    reached a seller's name, which PostgreSQL cannot store)."""
    if _CONTROL.search(text):
        raise InvalidQrPayloadError("QR payload holds control characters")
    return text


def _printable_values(query: dict[str, str]) -> dict[str, str]:
    for value in query.values():
        _printable(value)
    return query


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"\r\n|\r|\n", text)]


def _opt(value: str | None) -> str | None:
    return value or None


def _amount(value: str | None, what: str, most: Decimal = PAYMENT_MAX) -> Decimal | None:
    """A plain amount (digits, one decimal point or comma) of at most `most`."""
    if not value:
        return None
    if not _PLAIN_AMOUNT.fullmatch(value):
        raise InvalidQrPayloadError(f"{what}: amount {value[:40]!r} is not a number")
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation as exc:
        raise InvalidQrPayloadError(f"{what}: amount {value[:40]!r} is not a number") from exc
    if amount > most:
        raise InvalidQrPayloadError(f"{what}: amount {value[:40]!r} exceeds {most}")
    return amount


def _iban(value: str, what: str) -> str:
    iban = value.replace(" ", "").upper()
    if not _IBAN.fullmatch(iban):
        raise InvalidQrPayloadError(f"{what}: {iban[:40]!r} is not shaped like an IBAN")
    return iban


def parse_swiss(text: str) -> SwissQrBill:
    f = _lines(text)
    if len(f) < 31 or f[0] != "SPC" or not f[1].startswith("02") or f[30] != "EPD":
        raise InvalidQrPayloadError("Swiss QR-bill: not SPC 02xx with 31+ lines ending in EPD")
    if f[19] not in ("CHF", "EUR") or f[27] not in ("QRR", "SCOR", "NON"):
        raise InvalidQrPayloadError(
            f"Swiss QR-bill: bad currency {f[19]!r} or reference type {f[27]!r}"
        )
    return SwissQrBill(
        iban=_iban(f[3], "Swiss QR-bill"),
        creditor_name=_opt(f[5]),
        creditor_address=_address(f[4], f[6:11]),
        amount=_amount(f[18], "Swiss QR-bill"),
        currency=f[19],
        debtor_name=_opt(f[21]),
        reference_type=f[27],
        reference=_opt(f[28]),
        message=_opt(f[29]),
        bill_information=_opt(f[31]) if len(f) > 31 else None,
    )


def _address(kind: str, parts: list[str]) -> str | None:
    """Structured (S): street, number, postcode, town, country; combined (K): two lines."""
    street, number, postcode, town, country = parts
    if kind == "S":
        lines = [f"{street} {number}".strip(), f"{postcode} {town}".strip(), country]
    else:
        lines = [street, number, country]
    return ", ".join(p for p in lines if p) or None


def parse_epc(text: str) -> EpcQr:
    f = _lines(text) + [""] * 12
    if f[0] != "BCD" or f[1] not in ("001", "002") or f[3] != "SCT":
        raise InvalidQrPayloadError("EPC QR: header is not BCD / 001|002 / charset / SCT")
    if not f[5] or not f[6]:
        raise InvalidQrPayloadError("EPC QR: beneficiary name and IBAN are required")
    money = re.fullmatch(r"([A-Z]{3})(\d+(?:\.\d{1,2})?)", f[7]) if f[7] else None
    if f[7] and money is None:
        raise InvalidQrPayloadError(f"EPC QR: amount {f[7]!r} is not like EUR12.30")
    return EpcQr(
        version=f[1],
        bic=_opt(f[4]),
        name=f[5],
        iban=_iban(f[6], "EPC QR"),
        amount=_amount(money[2], "EPC QR") if money else None,
        currency=money[1] if money else None,
        purpose=_opt(f[8]),
        reference=_opt(f[9]),
        remittance_text=_opt(f[10]),
    )


def parse_spanish_url(url: str) -> SpanishTaxQr | None:
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
    if "numserie" in query and "nif" in query:
        return _verifactu(_printable_values(query), url)
    if query.get("id", "").upper().startswith("TBAI-"):
        return _ticketbai(_printable_values(query), url)
    return None


def _verifactu(query: dict[str, str], url: str) -> SpanishTaxQr:
    return SpanishTaxQr(
        scheme="verifactu",
        issuer_nif=query["nif"].strip().upper(),
        invoice_number=query["numserie"].strip(),
        series=None,
        issue_date=_dmy(query.get("fecha"), r"(\d{2})-(\d{2})-(\d{4})"),
        total=_amount(query.get("importe"), "VERI*FACTU QR", SPANISH_MAX),
        url=url,
    )


def _ticketbai(query: dict[str, str], url: str) -> SpanishTaxQr:
    parts = query["id"].split("-")
    if len(parts) < 4 or not query.get("nf"):
        raise InvalidQrPayloadError("TicketBAI QR: id is not TBAI-NIF-DDMMYY-... or nf is missing")
    return SpanishTaxQr(
        scheme="ticketbai",
        issuer_nif=parts[1].upper(),
        invoice_number=query["nf"].strip(),
        series=_opt(query.get("s", "").strip()),
        issue_date=_dmy(parts[2], r"(\d{2})(\d{2})(\d{2})"),
        total=_amount(query.get("i"), "TicketBAI QR", SPANISH_MAX),
        url=url,
    )


def _dmy(value: str | None, pattern: str) -> date | None:
    match = re.fullmatch(pattern, (value or "").strip())
    if match is None:
        return None
    day, month, year = int(match[1]), int(match[2]), int(match[3])
    try:
        return date(year + 2000 if year < 100 else year, month, day)
    except ValueError as exc:
        raise InvalidQrPayloadError(f"Spanish tax QR: invalid date {value!r}") from exc
