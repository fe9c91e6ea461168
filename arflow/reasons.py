"""Reason codes: the one place where every machine-readable code is defined and explained.

The README's reason table is generated from `REASONS` (see `tests/test_reasons.py`).
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # Document could not be read at all
    UNREADABLE_DOCUMENT = "UNREADABLE_DOCUMENT"
    ENCRYPTED_DOCUMENT = "ENCRYPTED_DOCUMENT"
    EMPTY_DOCUMENT = "EMPTY_DOCUMENT"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    OCR_FAILED = "OCR_FAILED"
    MULTIPLE_INVOICES = "MULTIPLE_INVOICES"
    # Extraction quality
    MISSING_FIELD = "MISSING_FIELD"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    EINVOICE_MISMATCH = "EINVOICE_MISMATCH"
    EINVOICE_UNREADABLE = "EINVOICE_UNREADABLE"
    QR_MISMATCH = "QR_MISMATCH"
    # Validation
    ARITHMETIC_MISMATCH = "ARITHMETIC_MISMATCH"
    INVALID_DATES = "INVALID_DATES"
    INVALID_TAX_ID = "INVALID_TAX_ID"
    INVALID_IBAN = "INVALID_IBAN"
    UNKNOWN_PARTY = "UNKNOWN_PARTY"
    BANK_DETAILS_CHANGED = "BANK_DETAILS_CHANGED"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    DUPLICATE_INVOICE = "DUPLICATE_INVOICE"
    SUSPECTED_DUPLICATE = "SUSPECTED_DUPLICATE"
    CREDIT_NOTE = "CREDIT_NOTE"
    CORRECTED_INVOICE = "CORRECTED_INVOICE"
    # Matching
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    AMBIGUOUS_ORDER = "AMBIGUOUS_ORDER"
    PRICE_VARIANCE = "PRICE_VARIANCE"
    QUANTITY_VARIANCE = "QUANTITY_VARIANCE"
    OVER_BILLING = "OVER_BILLING"
    TOTAL_VARIANCE = "TOTAL_VARIANCE"


REASONS: dict[Reason, str] = {
    Reason.UNREADABLE_DOCUMENT: "The file is corrupt or not a document arflow can read.",
    Reason.ENCRYPTED_DOCUMENT: "The PDF is password-protected; send an unprotected copy.",
    Reason.EMPTY_DOCUMENT: "The file is empty or has no pages.",
    Reason.UNSUPPORTED_FORMAT: "The file type is not an invoice format arflow reads.",
    Reason.FILE_TOO_LARGE: "The file exceeds the configured size or page limit.",
    Reason.OCR_FAILED: "Text recognition failed or timed out on a page.",
    Reason.MULTIPLE_INVOICES: "The file holds several invoices (a scanner's batch): a PDF or "
                              "TIFF is split into one document per invoice; another file keeps "
                              "the first invoice's fields and waits for review.",
    Reason.MISSING_FIELD: "A required field (number, date, currency, total, seller) was not found.",
    Reason.LOW_CONFIDENCE: "Required fields were read with confidence below the threshold.",
    Reason.EINVOICE_MISMATCH: "The embedded e-invoice XML disagrees with the printed document.",
    Reason.EINVOICE_UNREADABLE: "The PDF's embedded e-invoice XML could not be read; its fields "
                                "were read from the printed pages instead.",
    Reason.QR_MISMATCH: "The payment QR code disagrees with the printed document.",
    Reason.ARITHMETIC_MISMATCH: "Lines, subtotal, tax and total do not add up.",
    Reason.INVALID_DATES: "A date is implausible or the due date is before the issue date.",
    Reason.INVALID_TAX_ID: "A tax ID fails its checksum or format.",
    Reason.INVALID_IBAN: "The IBAN fails its checksum.",
    Reason.UNKNOWN_PARTY: "The counterparty is not in the party master data.",
    Reason.BANK_DETAILS_CHANGED: "The IBAN differs from the one on file for this party.",
    Reason.CURRENCY_MISMATCH: "The invoice currency differs from the order's.",
    Reason.DUPLICATE_INVOICE: "The same seller and invoice number were already received.",
    Reason.SUSPECTED_DUPLICATE: "Same seller, amount and date as an earlier invoice, other number.",
    Reason.CREDIT_NOTE: "A credit note: it gives back what an earlier invoice billed; never paid "
                        "or matched automatically.",
    Reason.CORRECTED_INVOICE: "A corrective invoice amends an earlier one; check it against the "
                              "original.",
    Reason.ORDER_NOT_FOUND: "No order matches this invoice.",
    Reason.AMBIGUOUS_ORDER: "Several orders could match this invoice.",
    Reason.PRICE_VARIANCE: "A unit price differs from the order beyond tolerance.",
    Reason.QUANTITY_VARIANCE: "A billed quantity exceeds what was ordered.",
    Reason.OVER_BILLING: "Billed quantity (cumulative) exceeds what was received.",
    Reason.TOTAL_VARIANCE: "The invoice total differs from the matched order beyond tolerance.",
}


# Codes of the error tree (`arflow.errors`) a failed document may carry besides the reasons
# above: not the document's fault, so `arflow retry --reason CODE` reads it again once fixed.
FAILURE_TEXTS = {
    "TOOL_ERROR": "An external tool (Tesseract, a PDF library) failed on this file.",
    "TOOL_TIMEOUT": "An external tool took too long on this file.",
    "TOOL_MISSING": "An external tool or language pack this file needs is not installed.",
    "INTERNAL_ERROR": "arflow itself failed on this file (a bug); its bytes are kept.",
    "STORAGE_ERROR": "The database refused what was read from this file; its bytes are kept.",
}


def describe(code: str) -> str:
    """Plain-words explanation of a reason code, for reports and the UI."""
    try:
        return REASONS[Reason(code)]
    except ValueError:
        return FAILURE_TEXTS.get(code, code)
