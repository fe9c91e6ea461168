"""Date parsing: numeric (d/m/y, m/d/y, y-m-d) and month names in ES, EN, DE, FR, NL, PT, IT.

Numeric dates are read day-first unless ``day_first=False`` (US context) or only the
month-first reading is valid (``02/14/2026``). Nothing here raises on arbitrary text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_MONTHS_RAW = {
    1: "enero ene january jan januar jänner janvier janv januari gennaio gen janeiro",
    2: "febrero feb february februar fevrier fevr februari febbraio fevereiro fev",
    3: "marzo mar march marz maerz mars maart marco",
    4: "abril abr april apr avril aprile",
    5: "mayo may mai mei maggio maio",
    6: "junio jun june juni juin giugno junho",
    7: "julio jul july juli juillet juil luglio julho",
    8: "agosto ago august aug aout augustus",
    9: "septiembre setiembre sep sept september septembre settembre setembro set",
    10: "octubre oct october oktober okt octobre ottobre outubro out",
    11: "noviembre nov november novembre novembro",
    12: "diciembre dic december dec dezember dez decembre dicembre dezembro",
}
MONTHS: dict[str, int] = {
    name: number for number, names in _MONTHS_RAW.items() for name in names.split()
}
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))

# A date may run into a time, after a dash or straight on when OCR lost the space:
# "01/05/2016-13:19:16", "07-03-201815:34:15", "02/01/1611:41:47AM" (a year of 20xx/19xx
# or of two digits, then an hour of one or two digits).
_GLUED_TIME = r"(?=\d{1,2}:\d{2})"
_NUMERIC = re.compile(
    r"(?<![\d/.-])(\d{1,4})([./-])(\d{1,2})\2"
    rf"((?:19|20)\d{{2}}{_GLUED_TIME}|\d{{2}}{_GLUED_TIME}|\d{{2,4}}(?![\d/]|-(?!\d{{1,2}}:)|\.\d))"
)
_DAY_MONTH_YEAR = re.compile(
    rf"(?<![\w])(\d{{1,2}})(?:st|nd|rd|th|º|°)?\.?[\s/-]*(?:de\s+)?({_MONTH_ALT})\.?,?[\s/-]*"
    rf"(?:de[l]?\s+)?(\d{{4}}|\d{{2}})(?!\d)",
    re.IGNORECASE,
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?<![\w])({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")


def parse_date(text: str, day_first: bool = True) -> date | None:
    """The date in ``text`` if ``text`` is essentially one date, else ``None``."""
    found = search_date(text, day_first)
    return found[0] if found else None


def search_date(text: str, day_first: bool = True) -> tuple[date, int, int] | None:
    """The first date in ``text`` with its (start, end) span, or ``None``."""
    if not text:
        return None
    folded = _fold(text[:500])
    best: tuple[date, int, int] | None = None
    for finder in (_numeric, _named):
        found = finder(folded, day_first)
        if found and (best is None or found[1] < best[1]):
            best = found
    return best


_OCR_QUOTES = re.compile(r"[‘’“”'\"`´]")
_LEADING_DASH = re.compile(r"(?<![\w.,/-])-(?=\d)")  # "-01/05/2016-13:19" (a rule's dash)
_SPACED_SEPARATOR = re.compile(r"(?<=\d)\s*([./-])\s*(?=\d)")
_SPACE_FOR_SEPARATOR = re.compile(
    r"(?<![\d./-])(\d{1,2}) +(\d{1,2})([./-])(\d{4}|\d{2})(?![\d./-])"
)
_RUN_ON_YEAR = re.compile(r"(?<![\d./-])(\d{2})([./-])(0[1-9]|1[0-2])(\d{2})(?![\d./-])")


def repair_ocr_date(text: str) -> str:
    """Undo OCR slips inside a numeric date read after a date label: stray quotes and
    spaces around the separators ("05-05- 2018", "01 “06- 2018" -> 01-06-2018), and a
    separator lost before a two-digit year ("28/0717" -> 28/07/17)."""
    text = _OCR_QUOTES.sub(" ", _LEADING_DASH.sub(" ", text))
    text = _SPACED_SEPARATOR.sub(r"\1", text)
    text = _SPACE_FOR_SEPARATOR.sub(r"\1\3\2\3\4", text)
    return _RUN_ON_YEAR.sub(r"\1\2\3\2\4", text)


def numeric_order_votes(text: str) -> tuple[int, int]:
    """(day-first, month-first) counts of numeric dates that only one reading allows."""
    day, month = 0, 0
    for match in _NUMERIC.finditer(text):
        first, second = int(match.group(1)), int(match.group(3))
        if len(match.group(1)) == 4:
            continue
        day += first > 12 >= second
        month += second > 12 >= first
    return day, month


def _fold(text: str) -> str:
    """Lower-case without accents (same length is kept for ASCII-mappable text)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped if len(stripped) == len(text) else text


def _numeric(text: str, day_first: bool) -> tuple[date, int, int] | None:
    for match in _NUMERIC.finditer(text):
        a, b, c = match.group(1), match.group(3), match.group(4)
        value = _numeric_value(a, b, c, day_first)
        if value is not None:
            return value, match.start(), match.end()
    compact = _COMPACT.search(text)
    if compact:
        value = _make(*(int(g) for g in compact.groups()))
        if value is not None:
            return value, compact.start(), compact.end()
    return None


def _numeric_value(a: str, b: str, c: str, day_first: bool) -> date | None:
    if len(a) == 4:
        return _make(int(a), int(b), int(c)) if len(c) <= 2 else None
    if len(a) == 3:
        return None
    year = _year(c)
    if year is None:
        return None
    first, second = int(a), int(b)
    if day_first or second > 12:
        return _make(year, second, first) or _make(year, first, second)
    return _make(year, first, second) or _make(year, second, first)


def _named(text: str, day_first: bool) -> tuple[date, int, int] | None:
    best: tuple[date, int, int] | None = None
    for match in _DAY_MONTH_YEAR.finditer(text):
        year = _year(match.group(3))
        value = _make(year, MONTHS[match.group(2).lower()], int(match.group(1))) if year else None
        if value is not None:
            best = (value, match.start(), match.end())
            break
    for match in _MONTH_DAY_YEAR.finditer(text):
        value = _make(int(match.group(3)), MONTHS[match.group(1).lower()], int(match.group(2)))
        if value is not None and (best is None or match.start() < best[1]):
            return value, match.start(), match.end()
    return best


def _year(text: str) -> int | None:
    if len(text) == 2:
        return 2000 + int(text)
    if len(text) == 4:
        return int(text)
    return None


def _make(year: int | None, month: int, day: int) -> date | None:
    if year is None or not 1900 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
