"""Numbers as people type them into the review UI: "1.234,56", "1,234.56", "12,50", "1500".

The UI shows amounts as "12,500.00"; Spanish users type "12,50". Both separators in one
number: the last is the decimal one. Several of one kind: thousands ("1.234.567",
"1,234,567"). One comma alone is the decimal comma ("12,50"), except before exactly three
digits ("1,500"): 1.5 in Spanish, 1500 in English, so it is refused and the person asked to
write it unambiguously, rather than read one way silently. One dot alone is the decimal
point, as machines write numbers (an exponent too: "1e3"). Not-a-number and infinities
are refused.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # digits before the exponent


class NotANumber(ValueError):
    """What was typed is not a number we can read without guessing (the message says why)."""


def typed_number(text: str) -> Decimal:
    """The number `text` states (see the module docstring); `NotANumber` otherwise."""
    compact = "".join(text.split()).replace("\u2009", "").replace("'", "")
    if "," in compact and "." in compact:
        decimal_mark = "," if compact.rfind(",") > compact.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        compact = compact.replace(thousands, "").replace(decimal_mark, ".")
    elif compact.count(",") > 1 or compact.count(".") > 1:
        compact = compact.replace(",", "").replace(".", "")
    elif "," in compact:
        head, _, tail = compact.partition(",")
        if len(tail) == 3 and head.lstrip("+-").isdigit():
            raise NotANumber(f"{text!r} could be {head}{tail} or {head}.{tail}: write it "
                             f"without the comma ({head}{tail}) or with a decimal point "
                             f"({head}.{tail})")
        compact = f"{head}.{tail}"
    if _PLAIN.fullmatch(compact) is None:
        raise NotANumber(f"{text!r} is not a number")
    try:
        return Decimal(compact)
    except InvalidOperation as err:  # pragma: no cover - the pattern admits only numbers
        raise NotANumber(f"{text!r} is not a number") from err
