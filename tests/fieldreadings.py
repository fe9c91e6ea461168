"""A field extractor's result built by hand, for tests of how OCR readings are combined."""

from __future__ import annotations

from extractors.fields import FieldResult
from models.domain import WordBox


def reading(**values: object) -> FieldResult:
    """A reading with these fields (``seller__name`` for ``seller.name``), each with one
    evidence word and confidence 0.8 x 0.9."""
    result = FieldResult()
    for name, value in values.items():
        word = WordBox(text=str(value), x0=0, top=0, x1=10, bottom=10, page=0, conf=0.9)
        result.set(name.replace("__", "."), value, 0.8, [word])
    return result
