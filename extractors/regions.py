"""Where a label's value can be: to its right on the same line, or below it in its column."""

from __future__ import annotations

from collections.abc import Sequence

from extractors.labels import LabelHit
from extractors.layout import Line, norm
from models.domain import WordBox

_MAX_BELOW = 2.6  # line heights between a label and the value under it
_MAX_RIGHT_GAP = 220.0  # points between a label and a value in the next segment


def right_of(hit: LabelHit, stop_at: Sequence[LabelHit] = ()) -> list[WordBox]:
    """Words after the label in its segment, or the next segment when the rest is empty."""
    line = hit.line
    end = _segment_bounds(line, hit.start)[1]
    rest = [w for w in line.words[hit.end : end] if norm(w.text)]
    if rest:
        return _cut(line.words[hit.end : end], hit, stop_at)
    following = [seg for seg in line.segments if seg.x0 > hit.x1]
    if not following or following[0].x0 - hit.x1 > _MAX_RIGHT_GAP:
        return []
    return _cut(following[0].words, hit, stop_at)


def rest_of_line(hit: LabelHit, stop_at: Sequence[LabelHit] = ()) -> list[WordBox]:
    """All words right of the label up to the next label on the line."""
    return _cut(hit.line.words[hit.end :], hit, stop_at)


def below(hit: LabelHit, lines: Sequence[Line], stop_at: Sequence[LabelHit] = ()) -> list[WordBox]:
    """Words in the label's column on the next line under it (same page): words overlapping
    the label's segment, and the words that continue them up to the next label's column."""
    x0, x1 = column_span(hit)
    stops = [s.x0 for s in stop_at if s.line is hit.line and s.x0 > hit.x1]
    limit = min(stops) - 1.0 if stops else float("inf")
    previous = hit.line
    for line in lines[hit.line.index + 1 : hit.line.index + 12]:
        if line.page != previous.page or line.top - previous.bottom > _MAX_BELOW * previous.height:
            break
        words = _column_words(line, x0, x1, limit)
        if words:
            return words
    return []


def _column_words(line: Line, x0: float, x1: float, limit: float) -> list[WordBox]:
    out: list[WordBox] = []
    gap = line.height * 1.2
    for word in line.words:
        if word.x0 >= limit:
            break
        inside = word.x1 >= x0 and word.x0 <= x1
        continues = bool(out) and word.x0 - out[-1].x1 <= gap
        if inside or continues:
            out.append(word)
        elif out:
            break
    return out


def column_span(hit: LabelHit) -> tuple[float, float]:
    """Horizontal extent of the label's column: its segment, widened a little."""
    line = hit.line
    height = line.height
    end = _segment_bounds(line, hit.start)[1]
    seg_x1 = line.words[end - 1].x1
    return hit.x0 - height * 1.5, max(seg_x1, hit.x1) + height * 1.5


def _segment_bounds(line: Line, index: int) -> tuple[int, int]:
    position = 0
    for segment in line.segments:
        if position <= index < position + len(segment.words):
            return position, position + len(segment.words)
        position += len(segment.words)
    return index, len(line.words)


def _cut(words: Sequence[WordBox], hit: LabelHit, stop_at: Sequence[LabelHit]) -> list[WordBox]:
    stops = [s.x0 for s in stop_at if s.line is hit.line and s.x0 > hit.x1]
    limit = min(stops) if stops else float("inf")
    return [w for w in words if w.x0 < limit]
