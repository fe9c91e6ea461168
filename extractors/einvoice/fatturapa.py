"""Italian FatturaPA 1.2 (FPA12 / FPR12). Only the first ``FatturaElettronicaBody`` is read.

``subtotal`` and ``tax_total`` are the sums of the ``DatiRiepilogo`` (VAT summary) rows;
``total`` is ``ImportoTotaleDocumento`` when present, else subtotal + tax from those rows; the
ritenuta d'acconto (``DatiRitenuta/ImportoRitenuta``, summed) is ``withholding``."""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element

from extractors.einvoice.adjust import nonzero
from extractors.einvoice.breakdown import fatturapa_breakdown
from extractors.einvoice.doctype import invoice_type
from extractors.einvoice.xmlsafe import (
    clean_iban,
    find,
    find_all,
    join_address,
    text,
    to_date,
    to_decimal,
)
from models.domain import Invoice, InvoiceLine, Party

_HEAD = "DatiGenerali/DatiGeneraliDocumento"


def parse_fatturapa(root: Element) -> Invoice:
    header = find(root, "FatturaElettronicaHeader")
    body = find(root, "FatturaElettronicaBody")
    payment = find(body, "DatiPagamento/DettaglioPagamento")
    subtotal = _sum(body, "DatiBeniServizi/DatiRiepilogo/ImponibileImporto")
    tax = _sum(body, "DatiBeniServizi/DatiRiepilogo/Imposta")
    total = to_decimal(text(body, f"{_HEAD}/ImportoTotaleDocumento"))
    if total is None and subtotal is not None and tax is not None:
        total = subtotal + tax
    return Invoice(
        invoice_number=text(body, f"{_HEAD}/Numero"),
        issue_date=to_date(text(body, f"{_HEAD}/Data")),
        due_date=to_date(text(payment, "DataScadenzaPagamento")),
        currency=text(body, f"{_HEAD}/Divisa"),
        seller=_party(find(header, "CedentePrestatore")),
        buyer=_party(find(header, "CessionarioCommittente")),
        order_number=text(body, "DatiGenerali/DatiOrdineAcquisto/IdDocumento"),
        subtotal=subtotal,
        tax_total=tax,
        total=total,
        iban=clean_iban(text(payment, "IBAN")),
        lines=[_line(item) for item in find_all(body, "DatiBeniServizi/DettaglioLinee")],
        withholding=nonzero(_sum(body, f"{_HEAD}/DatiRitenuta/ImportoRitenuta")),
        invoice_type=invoice_type(text(body, f"{_HEAD}/TipoDocumento")),
        preceding_invoice=text(body, "DatiGenerali/DatiFattureCollegate/IdDocumento"),
        tax_breakdown=fatturapa_breakdown(body),
    )


def _sum(parent: Element | None, path: str) -> Decimal | None:
    values = [to_decimal(text(el)) for el in find_all(parent, path)]
    kept = [v for v in values if v is not None]
    return sum(kept, Decimal(0)) if kept else None


def _party(el: Element | None) -> Party:
    if el is None:
        return Party()
    data = find(el, "DatiAnagrafici")
    vat = find(data, "IdFiscaleIVA")
    vat_id = "".join(p for p in (text(vat, "IdPaese"), text(vat, "IdCodice")) if p) or None
    seat = find(el, "Sede")
    street = " ".join(p for p in (text(seat, "Indirizzo"), text(seat, "NumeroCivico")) if p)
    return Party(
        name=_name(find(data, "Anagrafica")),
        tax_id=vat_id or text(data, "CodiceFiscale"),
        address=join_address(
            street or None,
            " ".join(p for p in (text(seat, "CAP"), text(seat, "Comune")) if p) or None,
            text(seat, "Provincia"),
            text(seat, "Nazione"),
        ),
    )


def _name(registry: Element | None) -> str | None:
    company = text(registry, "Denominazione")
    if company:
        return company
    return " ".join(p for p in (text(registry, "Nome"), text(registry, "Cognome")) if p) or None


def _line(item: Element) -> InvoiceLine:
    return InvoiceLine(
        description=text(item, "Descrizione"),
        quantity=to_decimal(text(item, "Quantita"), "quantity"),
        unit_price=to_decimal(text(item, "PrezzoUnitario"), "unit price"),
        amount=to_decimal(text(item, "PrezzoTotale"), "line amount"),
        tax_rate=to_decimal(text(item, "AliquotaIVA"), "tax rate"),
    )
