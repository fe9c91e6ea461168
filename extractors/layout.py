"""Group positioned words into lines and phrase segments, and turn pages by quarters.

A *line* is every word of a page whose vertical centre falls in one band; a *segment* is a
run of words on a line without a wide horizontal gap, i.e. one cell of a visual column.

Lines are found only on a page whose text runs left to right. A digital PDF's page may be
shown turned (its ``/Rotate``: 90, 180, 270, clockwise) and its text drawn turned too, either
way: a page whose text is drawn sideways and turned upright by ``/Rotate`` (a sideways page
turned in a viewer and saved), or an upright text shown sideways. So the PDF engines read each
page in its *reading frame*, the page turned by the quarters that make most of its characters'
baselines run left to right (`reading_quarters`), and keep how that frame lies on the page as
shown (`PageTurn`), where the evidence boxes are drawn for the approver.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
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


# Quarter turns. Frames are in points from the top-left corner, y downwards, as `WordBox`.
Box = tuple[float, float, float, float]  # x0, top, x1, bottom


def quarters_of(dx: float, dy: float) -> int:
    """Clockwise quarter turns of a page that make a baseline running (dx, dy) on it (y
    downwards) run left to right: 0 for rightwards, 1 upwards, 2 leftwards, 3 downwards."""
    return round(math.degrees(math.atan2(-dy, dx)) / 90) % 4


def reading_quarters(directions: Iterable[tuple[float, float]]) -> int:
    """The clockwise quarter turns that make most of a page's characters, whose baselines
    run `directions`, read left to right; 0 on a tie with it (and for no characters)."""
    counts = Counter(quarters_of(dx, dy) for dx, dy in directions)
    return max(range(4), key=lambda q: (counts[q], q == 0, -q))


def turned_size(width: float, height: float, quarters: int) -> tuple[float, float]:
    """A `width` x `height` page's size turned by `quarters`."""
    return (height, width) if quarters % 2 else (width, height)


def turn_box(box: Box, quarters: int, width: float, height: float) -> Box:
    """`box` on a `width` x `height` page, on that page turned `quarters` clockwise (a quarter
    clockwise takes the top-left corner to the top-right, as ``/Rotate 90`` shows a page)."""
    x0, top, x1, bottom = box
    quarters %= 4
    if quarters == 1:
        return height - bottom, x0, height - top, x1
    if quarters == 2:
        return width - x1, height - bottom, width - x0, height - top
    if quarters == 3:
        return top, width - x1, bottom, width - x0
    return box


@dataclass(frozen=True)
class PageTurn:
    """How a page's words as read (its reading frame, `width` x `height` points, in which the
    text runs left to right) lie on the page as shown: turned `quarters` clockwise."""

    quarters: int
    width: float
    height: float

    def shown(self, word: WordBox) -> WordBox:
        """`word`, read in this frame, with its box on the page as shown."""
        if self.quarters % 4 == 0:
            return word
        x0, top, x1, bottom = turn_box((word.x0, word.top, word.x1, word.bottom),
                                       self.quarters, self.width, self.height)
        return replace(word, x0=x0, top=top, x1=x1, bottom=bottom)


def on_shown_pages(words: Sequence[WordBox], turns: Sequence[PageTurn]) -> list[WordBox]:
    """`words` of a document read page by page in their reading frames (`turns`, one per
    page; none: as shown) with their boxes on the pages as shown."""
    return [turns[w.page].shown(w) if 0 <= w.page < len(turns) else w for w in words]
