"""One call for the pipeline: the payment/tax QR payloads found on a document."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from extractors.qr.decode import decode_file
from extractors.qr.payloads import InvalidQrPayloadError, QrPayload, parse_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoundQr:
    payload: QrPayload
    page: int
    text: str


def read_qr_payloads(
    path: str | Path, *, max_pages: int = 20, gate: bool = False
) -> list[FoundQr]:
    """Recognised payloads (Swiss QR-bill, EPC, VERI*FACTU, TicketBAI) on an image or PDF.

    QR codes with other content are ignored; a code that claims a known format but breaks
    it is logged and ignored (it cannot be trusted for a cross-check)."""
    found = []
    for code in decode_file(path, max_pages=max_pages, gate=gate):
        try:
            payload = parse_payload(code.text)
        except InvalidQrPayloadError as exc:
            log.warning("%s page %d: unusable QR payload: %s", Path(path).name, code.page, exc)
            continue
        if payload is not None:
            found.append(FoundQr(payload, code.page, code.text))
    return found
