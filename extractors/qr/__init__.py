"""Payment and tax QR codes: detection/decoding with OpenCV, typed payloads (Swiss QR-bill,
EPC/GiroCode, VERI*FACTU, TicketBAI), and their cross-check against the invoice."""

from extractors.qr.decode import QrCode, decode_file, decode_image
from extractors.qr.fields import compare_qr, qr_to_fields, swico_s1
from extractors.qr.payloads import (
    EpcQr,
    InvalidQrPayloadError,
    QrPayload,
    SpanishTaxQr,
    SwissQrBill,
    parse_payload,
)
from extractors.qr.read import FoundQr, read_qr_payloads

__all__ = [
    "EpcQr",
    "FoundQr",
    "InvalidQrPayloadError",
    "QrCode",
    "QrPayload",
    "SpanishTaxQr",
    "SwissQrBill",
    "compare_qr",
    "decode_file",
    "decode_image",
    "parse_payload",
    "qr_to_fields",
    "read_qr_payloads",
    "swico_s1",
]
