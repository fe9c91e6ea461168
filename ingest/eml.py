"""Reading invoices out of an email message (an IMAP fetch or an `.eml` file).

Parsed with the stdlib `email` package (policy.default). Taken: PDF, image and XML parts,
recursing into attached messages (`message/rfc822` or an attached `.eml`) up to a depth.
A part is recognised by its content first (`sniff_suffix`: a `%PDF-` header, an image's
magic bytes, an e-invoice root element), by its declared type or file name otherwise:
mail programs send PDFs as `application/octet-stream` named `Invoice 2026-0042`, and such an
invoice must not vanish. The stored name carries the suffix of what the bytes are (OCR and
QR reading go by it). A declared invoice part is taken even when it is empty or its bytes
cannot be recognised: it becomes a document that fails with a reason (EMPTY_DOCUMENT,
UNREADABLE_DOCUMENT) instead of being dropped. Attachments that are none of these are listed
in `ignored`, so a message without an invoice can say what it held.
Attachment names are never trusted as paths (`safe_name`); every attachment and the whole
message are size-capped. A message that cannot be parsed raises `MalformedMessage`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from arflow.errors import DocumentError, DocumentTooLarge
from arflow.reasons import Reason
from extractors.einvoice.detect import sniff as sniff_einvoice

TAKEN_TYPES = {"application/pdf": ".pdf", "application/xml": ".xml", "text/xml": ".xml",
               "image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif"}
TAKEN_SUFFIXES = (".pdf", ".xml", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
SAME_KIND = {".jpg": (".jpg", ".jpeg"), ".tif": (".tif", ".tiff")}
# The image formats taken from mail, by their first bytes. The extractors also read BMP,
# WebP and GIF (`extractors.api.image_format`); in mail those are signature logos and
# icons far more often than invoices, so they are left with the message.
IMAGE_MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"II*\x00", ".tif"),
               (b"MM\x00*", ".tif"))
PDF_HEADER_WITHIN = 1024  # where a PDF reader (and `extractors.api`) looks for `%PDF-`
_UNSAFE = re.compile(r"[^\w.\- ]+")


class MalformedMessage(DocumentError):
    code = Reason.UNREADABLE_DOCUMENT


class OversizedMessage(DocumentTooLarge):
    code = Reason.FILE_TOO_LARGE


@dataclass(frozen=True)
class MailLimits:
    max_message_bytes: int = 30 * 1024 * 1024
    max_attachment_bytes: int = 20 * 1024 * 1024
    max_depth: int = 3


@dataclass(frozen=True)
class Attachment:
    name: str  # safe: a plain file name, never a path
    content_type: str
    data: bytes


@dataclass
class ParsedMessage:
    message_id: str | None
    sender: str | None = None
    subject: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a candidate part was not taken
    ignored: list[str] = field(default_factory=list)  # "name (type)": not an invoice format


def safe_name(raw: str | None, fallback: str) -> str:
    """A file name from an untrusted attachment name: no directories, no control or shell
    characters, no leading dots, at most 120 characters; `fallback` when nothing is left."""
    name = unicodedata.normalize("NFKC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > 120:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 110] + dot + suffix[:9]) if dot and len(suffix) < 10 else name[:120]
    return name or fallback


def parse_message(raw: bytes, limits: MailLimits | None = None) -> ParsedMessage:
    limits = limits or MailLimits()
    if len(raw) > limits.max_message_bytes:
        raise OversizedMessage(f"message of {len(raw)} bytes exceeds {limits.max_message_bytes}")
    message = _parse(raw)
    parsed = ParsedMessage(message_id=_header(message, "Message-ID"),
                           sender=_header(message, "From"), subject=_header(message, "Subject"))
    _collect(message, parsed, limits, depth=0)
    return parsed


def _parse(raw: bytes) -> EmailMessage:
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as err:  # the parser's failures are not a documented set
        raise MalformedMessage(f"cannot parse the message: {err}") from err
    if not isinstance(message, EmailMessage) or not message.keys():
        raise MalformedMessage("no header fields: not an email message")
    fatal = [d for d in message.defects if "Boundary" in type(d).__name__]
    if fatal:
        raise MalformedMessage(f"broken MIME structure: {type(fatal[0]).__name__}")
    return message


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # a malformed header value must not stop the intake
        return None
    return str(value).strip()[:998] if value else None


def _collect(message: Message, out: ParsedMessage, limits: MailLimits, depth: int) -> None:
    """Walk the MIME tree; an attached message counts one level deeper."""
    payload = message.get_payload()
    if message.get_content_type() == "message/rfc822":
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message) and depth >= limits.max_depth:
            out.skipped.append(_too_deep(inner, limits))
        elif isinstance(inner, Message):
            _collect(inner, out, limits, depth + 1)
    elif message.is_multipart() and isinstance(payload, list):
        for part in payload:
            if isinstance(part, Message):
                _collect(part, out, limits, depth)
    else:
        _take_part(message, out, limits, depth)


def _too_deep(inner: Message, limits: MailLimits) -> str:
    """Why an attached message was not read: it would never vanish without a word (a PDF
    ten forwards deep was recorded as a message with 'no attachment')."""
    subject = _header(inner, "Subject") or "no subject"
    return (f"attached message \"{subject[:80]}\": nested message not read (deeper than "
            f"{limits.max_depth} levels)")


def sniff_suffix(data: bytes) -> str | None:
    """What the bytes are, whatever the part claims: `.pdf`, an image's suffix, or `.xml`
    for an e-invoice (root element and namespace, read without parsing); None otherwise."""
    if b"%PDF-" in data[:PDF_HEADER_WITHIN]:
        return ".pdf"
    for magic, suffix in IMAGE_MAGIC:
        if data.startswith(magic):
            return suffix
    return ".xml" if sniff_einvoice(data) is not None else None


def _declared_suffix(ctype: str, filename: str) -> str | None:
    """The suffix the part claims by its type or its name, if an invoice format."""
    if ctype in TAKEN_TYPES:
        return TAKEN_TYPES[ctype]
    lowered = filename.lower()
    return next((s for s in TAKEN_SUFFIXES if lowered.endswith(s)), None)


def _is_body(part: Message) -> bool:
    """Inline text without a name: the message's own words, never an invoice file (a body
    mentioning `%PDF-` must not become a document)."""
    return (part.get_content_maintype() == "text" and not part.get_filename()
            and part.get_content_disposition() != "attachment")


def _payload(part: Message) -> bytes:
    """The part's decoded bytes; its raw text when it cannot be decoded (kept as sent)."""
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def with_suffix(name: str, suffix: str) -> str:
    """`name`, with `suffix` appended unless it already ends with it (or its variant)."""
    return name if name.lower().endswith(SAME_KIND.get(suffix, (suffix,))) else name + suffix


def _take_part(part: Message, out: ParsedMessage, limits: MailLimits, depth: int) -> None:
    ctype, filename = part.get_content_type(), part.get_filename() or ""
    if filename.lower().endswith(".eml"):
        _nested_eml(part, out, limits, depth)
        return
    declared = _declared_suffix(ctype, filename)
    if declared is None and _is_body(part):
        return
    data = _payload(part)
    suffix = sniff_suffix(data) or declared
    index = len(out.attachments) + len(out.skipped) + len(out.ignored) + 1
    if suffix is None:
        out.ignored.append(f"{safe_name(filename, f'part-{index}')} ({ctype})")
        return
    name = with_suffix(safe_name(filename, f"attachment-{index}"), suffix)
    if len(data) > limits.max_attachment_bytes:
        out.skipped.append(f"{name}: {len(data)} bytes exceeds {limits.max_attachment_bytes}")
    else:
        out.attachments.append(Attachment(name=name, content_type=ctype, data=data))


def _nested_eml(part: Message, out: ParsedMessage, limits: MailLimits, depth: int) -> None:
    data = part.get_payload(decode=True)
    if depth >= limits.max_depth or not isinstance(data, bytes):
        out.skipped.append(f"{safe_name(part.get_filename(), 'message.eml')}: nested message "
                           f"not read (deeper than {limits.max_depth} levels)")
        return
    try:
        _collect(_parse(data), out, limits, depth + 1)
    except MalformedMessage as err:
        out.skipped.append(f"{safe_name(part.get_filename(), 'message.eml')}: {err.message}")
