"""Payment and tax QR codes in the pipeline: fill the fields the document text did not give,
and raise QR_MISMATCH where the code and the printed document disagree."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from extractors.qr.decode import QrCode
from extractors.qr.fields import QR_COMPARED, compare_qr, qr_to_fields
from extractors.qr.read import FoundQr, payloads_of, read_qr_payloads
from models.domain import ExtractionResult, Invoice

log = logging.getLogger(__name__)

_FILLED = (*QR_COMPARED, "seller.name")
_QR_CONFIDENCE = 0.95  # a decoded, checksum-carrying payload (IBAN) read by machine


def apply_qr(result: ExtractionResult, path: Path, *, max_pages: int = 20) -> None:
    """Cross-check `result` with every recognised QR payload on the document, then fill gaps
    (reads the file again: the extractors use `apply_qr_codes` on the codes they found)."""
    apply_payloads(result, read_qr_payloads(path, max_pages=max_pages, gate=True))


def apply_qr_codes(result: ExtractionResult, codes: Iterable[QrCode], source: str) -> None:
    """`apply_payloads` for codes decoded already; never raises (the QR is a cross-check)."""
    try:
        apply_payloads(result, payloads_of(codes, source))
    except Exception:  # an optional cross-check must never lose the document
        log.warning("QR check failed on %s", source, exc_info=True)


def apply_payloads(result: ExtractionResult, found: Iterable[FoundQr]) -> None:
    """Cross-check `result` with every payload, then fill the fields the text did not give."""
    for item in found:
        result.errors.extend(compare_qr(item.payload, result.invoice))
        _fill(result, qr_to_fields(item.payload))


def _fill(result: ExtractionResult, qr: Invoice) -> None:
    for name in _FILLED:
        value = qr.get(name)
        if value is None or result.invoice.get(name) is not None:
            continue
        head, _, rest = name.partition(".")
        setattr(getattr(result.invoice, head) if rest else result.invoice, rest or head, value)
        result.confidence[name] = _QR_CONFIDENCE
