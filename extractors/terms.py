"""Payment terms printed without a label ("Net 30", "Pago a 60 días fecha factura",
"Due on receipt", "Contado"), found with a blank spaCy pipeline and token-pattern rules.

Labelled terms ("Payment terms: ...", "Forma de pago: ...") are read by the field extractor
like any labelled value; this is the fallback for the unlabelled phrasings. spaCy's Matcher
fits here because the phrases vary in their words but not in their token shape (a number
next to a day word, in either order, with optional glue words). The pipeline is built once
per process, on first use: importing spaCy costs ~1 s, which label matching on every page
could not afford (see `extractors/labels.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

_DAY_WORDS = ["days", "day", "días", "dias", "día", "dia", "d"]
_NET_WORDS = ["net", "neto", "netto"]
_PATTERNS: dict[str, list[list[dict[str, Any]]]] = {
    "NET_N": [
        [{"LOWER": {"IN": _NET_WORDS}}, {"LIKE_NUM": True},
         {"LOWER": {"IN": _DAY_WORDS}, "OP": "?"}],
        [{"LIKE_NUM": True}, {"LOWER": {"IN": _DAY_WORDS}}, {"LOWER": {"IN": _NET_WORDS}}],
    ],
    "N_DAYS": [
        [{"LOWER": {"IN": ["a", "at", "within", "pago", "payable", "transferencia"]}, "OP": "*"},
         {"LIKE_NUM": True}, {"LOWER": {"IN": _DAY_WORDS}},
         {"LOWER": {"IN": ["fecha", "f.f.", "ff"]}, "OP": "?"},
         {"LOWER": {"IN": ["factura", "invoice"]}, "OP": "?"}],
    ],
    "ON_RECEIPT": [
        [{"LOWER": "due"}, {"LOWER": "on"}, {"LOWER": "receipt"}],
        [{"LOWER": "payable"}, {"LOWER": "on"}, {"LOWER": "receipt"}],
        [{"LOWER": "al", "OP": "?"}, {"LOWER": "contado"}],
    ],
}


@cache
def _matcher() -> tuple[Any, Any]:
    import spacy  # noqa: PLC0415 - lazy: ~1 s, only when a document needs the fallback
    from spacy.matcher import Matcher  # noqa: PLC0415

    nlp = spacy.blank("xx")  # the multi-language tokenizer: Spanish and English alike
    matcher = Matcher(nlp.vocab)
    for name, patterns in _PATTERNS.items():
        matcher.add(name, patterns, greedy="LONGEST")
    return nlp, matcher


def find_payment_terms(lines: Iterable[str]) -> str | None:
    """The first unlabelled payment-terms phrase in ``lines``, as printed, or None."""
    nlp, matcher = _matcher()
    for line in lines:
        doc = nlp(line)
        spans = [doc[start:end] for _, start, end in matcher(doc)]
        if spans:
            best = max(spans, key=lambda span: (len(span), -span.start))
            return str(best.text)
    return None
