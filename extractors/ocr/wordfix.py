"""Clean-up of Tesseract's words before the field extractor reads them.

Tesseract sometimes reports a speck inside a large word as a word of its own ("-" or "7"
inside "Ironbridge Data Services" set in 20 pt): the layout then sees a gap there and splits
the name into segments. A word whose box lies almost wholly inside a much taller word's box
is such a speck and is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.domain import WordBox

_INSIDE = 0.8   # share of the speck's width covered by the bigger word
_SMALLER = 0.5  # the speck is at most this share of the bigger word's height


def drop_specks(words: Sequence[WordBox]) -> list[WordBox]:
    """``words`` without the specks inside bigger words (see the module docstring)."""
    tallest = max((w.bottom - w.top for w in words), default=0.0)
    small = [w for w in words if w.bottom - w.top <= _SMALLER * tallest]
    specks = {id(s) for s in small if any(_inside(s, big) for big in words if big is not s)}
    return [w for w in words if id(w) not in specks]


def _inside(speck: WordBox, big: WordBox) -> bool:
    height = speck.bottom - speck.top
    if height > _SMALLER * (big.bottom - big.top):
        return False
    if speck.top < big.top or speck.bottom > big.bottom:
        return False
    covered = min(speck.x1, big.x1) - max(speck.x0, big.x0)
    return covered >= _INSIDE * max(speck.x1 - speck.x0, 0.1)
