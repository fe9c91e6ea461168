"""Group positioned words into lines and phrase segments.

A *line* is every word of a page whose vertical centre falls in one band; a *segment* is a
run of words on a line without a wide horizontal gap, i.e. one cell of a visual column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from models.domain import WordBox

_SEGMENT_GAP = 1.6  # gap in line heights that starts a new segment


@dataclass
class Segment:
    words: list[WordBox]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1


@dataclass
class Line:
    words: list[WordBox]
    index: int = 0  # position in the document's line list
    segments: list[Segment] = field(default_factory=list)

    @cached_property
    def page(self) -> int:
        return self.words[0].page

    @cached_property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @cached_property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @cached_property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    @cached_property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @cached_property
    def x0(self) -> float:
        return self.words[0].x0


def build_lines(pages: Sequence[Sequence[WordBox]]) -> list[Line]:
    """Lines of every page in reading order (top to bottom, left to right)."""
    lines: list[Line] = []
    for page in pages:
        lines.extend(_page_lines(page))
    for index, line in enumerate(lines):
        line.index = index
        line.segments = _segments(line.words, line.height)
    return lines


def _page_lines(words: Sequence[WordBox]) -> list[Line]:
    ordered = sorted((w for w in words if w.text.strip()), key=lambda w: (w.top + w.bottom) / 2)
    bands: list[list[WordBox]] = []
    centre = -1e9
    for word in ordered:
        mid = (word.top + word.bottom) / 2
        tolerance = max((word.bottom - word.top) * 0.5, 1.0)
        if bands and abs(mid - centre) <= tolerance:
            bands[-1].append(word)
            centre = (centre * (len(bands[-1]) - 1) + mid) / len(bands[-1])
        else:
            bands.append([word])
            centre = mid
    return [Line(sorted(band, key=lambda w: w.x0)) for band in bands]


def _segments(words: list[WordBox], height: float) -> list[Segment]:
    segments: list[Segment] = []
    current: list[WordBox] = []
    for word in words:
        if current and _splits(current[-1], word):
            segments.append(Segment(current))
            current = []
        current.append(word)
    if current:
        segments.append(Segment(current))
    return segments


def _splits(left: WordBox, right: WordBox) -> bool:
    """A wide gap, a clear gap with a change of font size, or a big change of font size
    (a large name running into a small label) separates two segments."""
    h_left, h_right = left.bottom - left.top, right.bottom - right.top
    small = max(min(h_left, h_right), 1.0)
    gap = right.x0 - left.x1
    if gap > small * _SEGMENT_GAP:
        return True
    change = abs(h_left - h_right) / max(h_left, h_right, 1.0)
    return change > 0.35 or (change > 0.2 and gap > small * 0.6)


_EDGE_PUNCT = re.compile(r"^[\s:;,.\-—–|()\[\]*]+|[\s:;,\-—–|()\[\]*]+$")
_NUMERO = {"nº", "n°", "no", "no.", "nr", "nr.", "num", "num.", "número", "numero", "#", "n.º", "n"}


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """Lower-case, accent-free word with edge punctuation removed ("Nº" -> "no")."""
    lowered = text.lower()
    stripped = _EDGE_PUNCT.sub("", lowered)
    if lowered in _NUMERO or stripped in _NUMERO or stripped.rstrip(".") in _NUMERO:
        return "no"
    decomposed = unicodedata.normalize("NFKD", stripped)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded.rstrip(".")


def words_text(words: Sequence[WordBox]) -> str:
    return " ".join(w.text for w in words)
