"""One call for the pipeline: the payment/tax QR payloads found on a document."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from extractors.qr.decode import QrCode, decode_file
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
    return payloads_of(decode_file(path, max_pages=max_pages, gate=gate), Path(path).name)


def payloads_of(codes: Iterable[QrCode], source: str) -> list[FoundQr]:
    """The recognised payloads among decoded codes (``source`` names the file in the log)."""
    found = []
    for code in codes:
        try:
            payload = parse_payload(code.text)
        except InvalidQrPayloadError as exc:
            log.warning("%s page %d: unusable QR payload: %s", source, code.page + 1, exc)
            continue
        if payload is not None:
            found.append(FoundQr(payload, code.page, code.text))
    return found
