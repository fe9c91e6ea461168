"""Hardened XML reading and the small value readers every e-invoice syntax shares.

Parsing goes through `defusedxml` with DTDs forbidden outright: a structured invoice never
needs one, so an external entity, an entity-expansion bomb ("billion laughs") or any other
DOCTYPE trick is refused with `UnsafeXmlError` before anything is expanded or fetched.
Element look-ups use namespace wildcards (``{*}Name``) so one path serves every version of a
syntax (e.g. ZUGFeRD 1.0 and CII D16B differ only in namespace URIs for shared elements).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from arflow.errors import DocumentError
from extractors.api import MAX_NUMBER  # what the database holds

MAX_XML_BYTES = 20 * 1024 * 1024


class UnsafeXmlError(DocumentError):
    """The XML declares a DTD or entities (XXE, entity bomb): refused, never expanded."""


class MalformedXmlError(DocumentError):
    """The bytes are not well-formed XML, or a value in it cannot be read."""


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML bytes into an element tree, refusing DTDs and entities."""
    if len(data) > MAX_XML_BYTES:
        raise MalformedXmlError(f"XML of {len(data)} bytes exceeds {MAX_XML_BYTES}")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXmlError(f"XML refused: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise MalformedXmlError(f"not well-formed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # an encoding Python lacks or expat refuses
        raise MalformedXmlError(f"the XML's declared encoding cannot be read: {exc}") from exc


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _wild(path: str) -> str:
    return "/".join(step if step in (".", "..") else "{*}" + step for step in path.split("/"))


def find(el: Element | None, *paths: str) -> Element | None:
    """First element matching any of the slash-separated local-name paths."""
    if el is None:
        return None
    for path in paths:
        hit = el.find(_wild(path))
        if hit is not None:
            return hit
    return None


def find_all(el: Element | None, path: str) -> list[Element]:
    return [] if el is None else el.findall(_wild(path))


def text(el: Element | None, *paths: str) -> str | None:
    """Stripped text of the first match with non-blank text; None if absent or blank."""
    if el is None:
        return None
    for path in paths or (".",):
        for hit in el.findall(_wild(path)) if path != "." else [el]:
            value = " ".join((hit.text or "").split())
            if value:
                return value
    return None


def to_decimal(value: str | None, what: str = "amount") -> Decimal | None:
    if value is None:
        return None
    try:
        out = Decimal(value.strip())
    except InvalidOperation as exc:
        raise MalformedXmlError(f"{what} is not a number: {value!r}") from exc
    if not out.is_finite():
        raise MalformedXmlError(f"{what} is not a finite number: {value!r}")
    if abs(out) >= MAX_NUMBER:
        raise MalformedXmlError(f"{what} {_shown(value)} is out of range (at most 14 digits "
                                f"before the decimal point)")
    return out


def _shown(value: str, most: int = 40) -> str:
    """`value` quoted, cut to `most` characters (a number can be thousands of digits)."""
    return repr(value if len(value) <= most else value[:most] + "...")


_DATE_102 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def to_date(value: str | None) -> date | None:
    """Read CII format 102 (YYYYMMDD) or ISO (YYYY-MM-DD, optional zone suffix)."""
    if value is None:
        return None
    match = _DATE_102.match(value.strip()) or _DATE_ISO.match(value.strip())
    if match is None:
        return None  # e.g. format 610 (month only): not a calendar date
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise MalformedXmlError(f"invalid date {value!r}") from exc


def clean_iban(value: str | None) -> str | None:
    """Electronic IBAN form (no spaces, upper case), or None if it is not IBAN-shaped."""
    if value is None:
        return None
    compact = re.sub(r"\s+", "", value).upper()
    return compact if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", compact) else None


def join_address(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ", ".join(kept) or None


def amount_in(parent: Element | None, path: str, currency: str | None) -> Decimal | None:
    """The amount in the invoice currency when the element repeats per currency."""
    hits = find_all(parent, path)
    if not hits:
        return None
    same = [h for h in hits if h.get("currencyID") == currency]
    bare = [h for h in hits if h.get("currencyID") is None]
    chosen = (same or bare or hits)[0]
    return to_decimal(text(chosen), path)
