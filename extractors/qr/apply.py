"""Payment and tax QR codes in the pipeline: fill the fields the document text did not give,
and raise QR_MISMATCH where the code and the printed document disagree."""

from __future__ import annotations

from pathlib import Path

from extractors.qr.fields import QR_COMPARED, compare_qr, qr_to_fields
from extractors.qr.read import read_qr_payloads
from models.domain import ExtractionResult, Invoice

_FILLED = (*QR_COMPARED, "seller.name")
_QR_CONFIDENCE = 0.95  # a decoded, checksum-carrying payload (IBAN) read by machine


def apply_qr(result: ExtractionResult, path: Path, *, max_pages: int = 20) -> None:
    """Cross-check `result` with every recognised QR payload on the document, then fill gaps."""
    for found in read_qr_payloads(path, max_pages=max_pages, gate=True):
        result.errors.extend(compare_qr(found.payload, result.invoice))
        _fill(result, qr_to_fields(found.payload))


def _fill(result: ExtractionResult, qr: Invoice) -> None:
    for name in _FILLED:
        value = qr.get(name)
        if value is None or result.invoice.get(name) is not None:
            continue
        head, _, rest = name.partition(".")
        setattr(getattr(result.invoice, head) if rest else result.invoice, rest or head, value)
        result.confidence[name] = _QR_CONFIDENCE
