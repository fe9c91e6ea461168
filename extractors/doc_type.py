"""Whether a printed document is an invoice, a credit note or a corrected invoice (from its
title), and which invoice a credit note or correction refers to (EN 16931 BT-25).

A title word counts only where a title stands: in the first ``TITLE_LINES`` lines of the
first page, outside the line-item table, at the start of a segment (one visual cell), alone
there or followed by a number mark, a number or a bracket ("CREDIT NOTE", "Credit note no.
CN-7", "Avoir AV-2017-0005", "Rechnungskorrektur (384) Nr. RK-1"). So payment text such as
"Forma de pago: abono en cuenta", "credit transfer", "credit card" or "30 days credit" never
makes a credit note, and neither does "Credit notes must be claimed..." in a footer. Accents
and case do not matter; an OCR word one letter off a title word reads as that word.

A German "Gutschrift" is also the name of a self-billed invoice (UStG section 14(2)): a title
that says so ("Gutschrift (Selbst ausgestellte Rechnung)") is not read as a credit note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from extractors.candidates import Candidate, DocContext, collect
from extractors.fuzzy import Vocabulary
from extractors.labels import STRONG_REFERENCE, find_reference_labels, segment_spans
from extractors.layout import Line, norm
from models.domain import InvoiceType, WordBox

TITLE_LINES = 15  # lines of the first page a title may stand on (OCR adds speck lines)
_CREDIT, _CORRECTED = InvoiceType.CREDIT_NOTE, InvoiceType.CORRECTED_INVOICE
_MARKERS: dict[str, InvoiceType] = {
    "credit note": _CREDIT, "credit memo": _CREDIT, "nota de credito": _CREDIT,
    "nota credito": _CREDIT, "nota de abono": _CREDIT, "factura de abono": _CREDIT,
    "factura abono": _CREDIT, "avoir": _CREDIT, "facture d'avoir": _CREDIT,
    "gutschrift": _CREDIT, "stornorechnung": _CREDIT, "creditnota": _CREDIT,
    "factura rectificativa": _CORRECTED, "rectificativa": _CORRECTED,
    "corrected invoice": _CORRECTED, "corrective invoice": _CORRECTED,
    "invoice correction": _CORRECTED, "rechnungskorrektur": _CORRECTED,
    "rechnungs-korrektur": _CORRECTED, "korrekturrechnung": _CORRECTED,
    "facture rectificative": _CORRECTED, "facture corrective": _CORRECTED,
    # a number label that names the kind of document ("Nº de abono", "Nº rectificativa")
    "no de abono": _CREDIT, "no abono": _CREDIT, "numero de abono": _CREDIT,
    "no rectificativa": _CORRECTED, "no de rectificativa": _CORRECTED,
}
_PHRASES = sorted((tuple(p.split()) for p in _MARKERS), key=len, reverse=True)
_WORDS = Vocabulary(word for phrase in _PHRASES for word in phrase)
_FIRST_WORDS = frozenset(phrase[0] for phrase in _PHRASES)
_NUMBER_WORDS = frozenset(("no", "number", "numero", "nummer"))
_SELF_BILLING = ("selbst", "self-bill", "self bill", "autofactura")
_TITLE_CONFIDENCE = 0.95
_LARGER = 1.25  # a word this much taller than the one before it starts a new title


@dataclass(frozen=True)
class TypeRead:
    value: InvoiceType
    words: list[WordBox]
    confidence: float


def read_invoice_type(lines: Sequence[Line], skip: set[int]) -> TypeRead | None:
    """The type a title near the top of the first page names; None for no such title (the
    document is then an invoice, as ``Invoice.invoice_type`` defaults)."""
    if not lines:
        return None
    first_page = lines[0].page
    for line in lines[:TITLE_LINES]:
        if line.page == first_page and line.index not in skip:
            found = _title_in(line)
            if found is not None:
                return found
    return None


def _title_in(line: Line) -> TypeRead | None:
    tokens = [norm(w.text) if w.conf >= 1.0 else _WORDS.closest(norm(w.text))
              for w in line.words]
    for first, stop in segment_spans(line):
        for start in _title_starts(line.words, first, stop):
            phrase = _marker_at(tokens, start, stop)
            if phrase is None or not _title_tail(line.words[start + len(phrase):stop]):
                continue
            if _self_billing(line):
                return None
            return TypeRead(_MARKERS[" ".join(phrase)], line.words[start:start + len(phrase)],
                            _TITLE_CONFIDENCE)
    return None


def _title_starts(words: Sequence[WordBox], first: int, stop: int) -> list[int]:
    """Where a title may start in a segment: its first word (after an OCR speck), and a word
    printed larger than the one before it (a long name running into a big title: "Ruiz
    S.Coop. FACTURA RECTIFICATIVA")."""
    start = first + 1 if _speck(words[first]) and first + 1 < stop else first
    return [start] + [i for i in range(start + 1, stop)
                      if _height(words[i]) > _LARGER * _height(words[i - 1])]


def _height(word: WordBox) -> float:
    return word.bottom - word.top


def _marker_at(tokens: Sequence[str], start: int, stop: int) -> tuple[str, ...] | None:
    """The longest title phrase starting at ``start`` and ending inside the segment."""
    return next((phrase for phrase in _PHRASES if start + len(phrase) <= stop
                 and tuple(tokens[start:start + len(phrase)]) == phrase), None)


def _speck(word: WordBox) -> bool:
    """An OCR smudge read as a word of one or two characters ("|", "i") before a title (but
    not the "Nº" of "Nº de abono")."""
    return word.conf < 1.0 and len(word.text) <= 2 and norm(word.text) not in _FIRST_WORDS


def _title_tail(rest: Sequence[WordBox]) -> bool:
    """What follows a title word in its cell: nothing, a number mark, a number or a bracket."""
    if not rest:
        return True
    first = rest[0].text
    return norm(first) in _NUMBER_WORDS or first.startswith("(") or any(
        c.isdigit() for c in first)


def _self_billing(line: Line) -> bool:
    text = line.text.lower()
    return any(mark in text for mark in _SELF_BILLING)


def read_preceding_invoice(ctx: DocContext, skip: set[int], *, typed: bool) -> Candidate | None:
    """The number a "refers to invoice" label gives; a weak label ("Invoice reference")
    counts only on a document titled as a credit note or correction (``typed``)."""
    hits = [h for line in ctx.lines if line.index not in skip
            for h in find_reference_labels(line)]
    found = collect(hits, ctx).get("preceding_invoice", [])
    usable = [c for c in found if typed or c.hit.strength >= STRONG_REFERENCE]
    if not usable:
        return None
    return max(usable, key=lambda c: (c.score, -c.hit.line.index))
