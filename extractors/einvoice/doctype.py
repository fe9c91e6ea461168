"""The invoice type of an e-invoice: its type code (UNTDID 1001 in UBL and CII, `TipoDocumento`
in FatturaPA, `InvoiceClass` in Facturae) grouped into `InvoiceType`.

Only codes that change what is owed get a type of their own; every other code (380 commercial
invoice, 386 prepayment, 389 self-billed, …) reads as an invoice.
"""

from __future__ import annotations

from models.domain import InvoiceType

# UNTDID 1001: 381 credit note, 396 factored credit note, 532 forwarder's credit note,
# 261/262 self-billed and consolidated credit notes, 296/308/420/458 credit notes of other kinds;
# 384 corrected invoice, 471/472/473 corrections of prepayment and self-billed invoices.
_CREDIT = frozenset({"381", "396", "532", "261", "262", "296", "308", "420", "458"})
_CORRECTED = frozenset({"384", "471", "472", "473"})
# FatturaPA TipoDocumento: TD04 nota di credito. Facturae InvoiceClass: OR / CR rectificativa.
_NATIONAL = {"TD04": InvoiceType.CREDIT_NOTE, "OR": InvoiceType.CORRECTED_INVOICE,
             "CR": InvoiceType.CORRECTED_INVOICE}


def invoice_type(code: str | None, *, root_is_credit_note: bool = False) -> InvoiceType:
    """The type a code stands for; a UBL `CreditNote` document is a credit note whatever its
    code says, unless the code is a correction."""
    key = (code or "").strip().upper()
    if key in _CORRECTED:
        return InvoiceType.CORRECTED_INVOICE
    if key in _CREDIT or root_is_credit_note:
        return InvoiceType.CREDIT_NOTE
    return _NATIONAL.get(key, InvoiceType.INVOICE)
