"""Two OCR engines on photos and weak readings: PP-OCR's reading (``extractors.ocr.rapid``)
first, Tesseract's where PP-OCR's has nothing, arithmetic deciding between two readings of
the amounts, and the seller's name spelled by one engine and spaced by the other.

A page whose file does not state its resolution is a photo or a till receipt of unknown
scale (``images.PageImage.dpi`` is None; scanners and rendered PDFs state it), and a page
Tesseract reads with a mean word confidence under ``WEAK_READING`` is one it struggles with
(a receipt photo saved as a PDF, faint thermal print). Tesseract misreads such pages much
more than PP-OCR does; PP-OCR, trained mostly on Chinese text, often loses the space between
words ("SANYUSTATIONERYSHOP", "SDNBHD"), which Tesseract finds from the gaps. So on such a
document (``ocr_second_engine = "auto"``, the default) both read it and:

- each field group (the total travels with its subtotal, tax, withholding, allowances,
  charges and VAT breakdown, as in ``extractors.ocr.consensus``) comes from PP-OCR's
  reading, or from Tesseract's when PP-OCR's has none;
- except that arithmetic decides between two different readings of the amounts: the
  reading whose amounts pass more of their own sums (subtotal + tax = total; the line
  amounts add up to the subtotal) wins, and Tesseract's line items replace PP-OCR's when
  only Tesseract's add up to the subtotal kept. PP-OCR's text lines cut across the cells
  of boxed layouts, so on such photos it pairs a label with the wrong amount more often
  than Tesseract (``bench/extract_scanned.py --photos``);
- the seller's name, when both read one and the two agree on at least ``MIN_AGREEMENT`` of
  their letters (spaces aside), is PP-OCR's letters with the word breaks of both readings.

Nothing is invented: every letter was read by an engine, every break seen by one.

Measured on the 101 SROIE receipts (``bench/extract_scanned.py --generated 0 --sroie 101``,
2 processes): Tesseract alone (``ARFLOW_OCR_SECOND_ENGINE=off``) date 85, total 81, company 69
in 110 s; both engines combined date 95, total 88, company 80 in 260 s. Simulated on cached
readings beforehand: PP-OCR's fields alone gave date 88, total 89, company 72; the company
with the names merged 81, and 77 if an unmergeable pair kept Tesseract's name instead.
The same receipts as image-only PDFs (``--sroie-pdf``: only a weak reading calls PP-OCR):
89 of 101 read weakly; Tesseract alone 80 / 76 / 63 %, combined 94 / 89 / 76 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from difflib import SequenceMatcher

from extractors.fields import FieldResult
from extractors.ocr.consensus import copy_field, field_value
from models.domain import WordBox

# Mean Tesseract word confidence under which a reading is weak. Measured first readings:
# 40 SROIE receipts 0.45-0.92 (80 % under 0.88), 30 of the generator's scans 0.92-0.96.
WEAK_READING = 0.88
MIN_AGREEMENT = 0.8  # SequenceMatcher ratio of the two names without spaces
# they travel together
_AMOUNTS = ("total", "subtotal", "tax_total", "withholding", "allowances", "charges",
            "tax_breakdown")
_CENT = Decimal("0.01")
# filled from Tesseract when PP-OCR has no value; the first name of a group decides
_GROUPS: tuple[tuple[str, ...], ...] = (
    _AMOUNTS, ("issue_date",), ("due_date",), ("invoice_number",),
    ("currency",), ("order_number",), ("iban",), ("payment_terms",), ("seller.name",),
    ("seller.tax_id",), ("seller.address",), ("buyer.name",), ("buyer.tax_id",),
    ("buyer.address",), ("lines",), ("invoice_type",), ("preceding_invoice",),
)


def wants_second_engine(mode: str, dpis: Sequence[float | None],
                        pages: Sequence[Sequence[WordBox]]) -> bool:
    """Whether a document is read by both engines, given its pages' stated resolutions and
    Tesseract's first reading of them."""
    if mode == "always":
        return bool(dpis)
    return mode == "auto" and (any(dpi is None for dpi in dpis) or weak_reading(pages))


def weak_reading(pages: Sequence[Sequence[WordBox]]) -> bool:
    """Tesseract read the words with a mean confidence under ``WEAK_READING``."""
    confs = [w.conf for page in pages for w in page]
    return bool(confs) and sum(confs) / len(confs) < WEAK_READING


def combine(second: FieldResult, first: FieldResult) -> FieldResult:
    """``second`` (PP-OCR's fields) completed from ``first`` (Tesseract's); see the module."""
    if _checks_passed(first) > _checks_passed(second):
        _take(_AMOUNTS, first, second)
    base = _base(second)
    if not _lines_add_up(second, base) and _lines_add_up(first, base):
        _take(("lines",), first, second)
    for group in _GROUPS:
        if _empty(field_value(second, group[0])) and not _empty(field_value(first, group[0])):
            _take(group, first, second)
    ours, theirs = second.invoice.seller.name, first.invoice.seller.name
    if ours and theirs:
        second.invoice.seller.name = merge_spacing(ours, theirs) or ours
    return second


def _take(group: Sequence[str], source: FieldResult, target: FieldResult) -> None:
    for name in group:
        copy_field(name, source, target)


def _checks_passed(result: FieldResult) -> int:
    """How many of its own sums a reading's amounts pass (0 without a total): subtotal +
    tax = total, and the line amounts add up to the subtotal (the total if none)."""
    inv = result.invoice
    if inv.total is None:
        return 0
    parts = 0
    if inv.subtotal is not None and inv.tax_total is not None:
        parts = int(abs(inv.subtotal + inv.tax_total - inv.total) <= _CENT)
    return parts + int(_lines_add_up(result, _base(result)))


def _base(result: FieldResult) -> Decimal | None:
    inv = result.invoice
    return inv.subtotal if inv.subtotal is not None else inv.total


def _lines_add_up(result: FieldResult, base: Decimal | None) -> bool:
    amounts = [line.amount for line in result.invoice.lines]
    if base is None or not amounts or any(a is None for a in amounts):
        return False
    return abs(sum(a for a in amounts if a is not None) - base) <= _CENT


def _empty(value: object) -> bool:
    return value in (None, "", [])


def merge_spacing(letters: str, spaced: str) -> str | None:
    """``letters`` with a space wherever either reading breaks words, when the two readings
    agree on at least ``MIN_AGREEMENT`` of their letters; else None.

    >>> merge_spacing("SANYUSTATIONERYSHOP", "SANYO STATIONERY SHOP")
    'SANYU STATIONERY SHOP'
    """
    bare, other = letters.replace(" ", ""), spaced.replace(" ", "")
    if not bare or not other:
        return None
    matcher = SequenceMatcher(None, bare, other, autojunk=False)
    if matcher.ratio() < MIN_AGREEMENT:
        return None
    breaks = _breaks(letters)
    theirs = _breaks(spaced)
    for _tag, i1, _i2, j1, j2 in (op for op in matcher.get_opcodes() if op[0] == "equal"):
        breaks.update(i1 + (j - j1) for j in theirs if j1 <= j <= j2)
    return "".join((" " + ch) if i in breaks and i else ch for i, ch in enumerate(bare))


def _breaks(text: str) -> set[int]:
    """Positions in ``text`` without its spaces before which a space stood."""
    out, seen = set(), 0
    for ch in text:
        if ch == " ":
            out.add(seen)
        else:
            seen += 1
    return out
