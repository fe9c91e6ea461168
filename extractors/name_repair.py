"""Repair of the usual OCR confusions inside a company name (OCR words only: a digital text
layer is taken as printed).

- a lone "8", "4", "£", "€" or "¿" between two capitalised words is the "&" it resembles
  ("GmbH 8 Co. KG", "KEDAI UBAT € RUNCIT");
- a digit among letters in a word of letters is the letter it resembles ("D.1.Y." is
  "D.I.Y.", "B0OK" is "BOOK");
- typographic apostrophes (Tesseract's) are the ASCII one printed ("KING’S" -> "KING'S");
- a space lost after a bracketed qualifier is put back ("(KL)SDN" -> "(KL) SDN");
- the Malaysian legal form "SDN BHD" with one letter off in one half or in both ("SON BHD",
  "SDN BILD", "SON GHD" -> "SDN BHD"), and its short form "S/B" with a look-alike for a
  letter ("S/3", "$/B", "5/8" -> "S/B").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from extractors.fuzzy import one_edit_apart
from models.domain import WordBox

_AMPERSAND_LOOKALIKES = frozenset(("8", "4", "£", "€", "¿"))
_DIGIT_AS_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B"})
_LETTERS_WITH_A_DIGIT = re.compile(
    r"^(?=(?:.*[A-Za-z]){2})(?!.*\d\d)[A-Za-z.()'&-]*[0158][A-Za-z.()'&0158-]*$"
)
_PAIR = ("SDN", "BHD")
# "S/B" (Sendirian Berhad) with OCR's look-alikes: S as 5 or $, B as 3 or 8.
_SHORT_FORM = re.compile(r"^[S5$]/[B38](?=[.,]?$)")
# A word glued to a closing bracket: "(KL)SDN" is "(KL) SDN" (OCR lost the space).
_GLUED_AFTER_BRACKET = re.compile(r"^(\([^()\s]{1,8}\))(?=[A-Za-z])")


def repair_name(words: Sequence[WordBox]) -> list[str]:
    """The texts of ``words`` with the OCR confusions above repaired."""
    texts = [w.text for w in words]
    ocr = [w.conf < 1.0 for w in words]
    for i, text in enumerate(texts):
        if not ocr[i]:
            continue
        if text in _AMPERSAND_LOOKALIKES and _between_capitals(texts, i):
            texts[i] = "&"
        elif _LETTERS_WITH_A_DIGIT.match(text):
            texts[i] = text.translate(_DIGIT_AS_LETTER)
        texts[i] = _SHORT_FORM.sub("S/B", texts[i])
        if texts[i].upper() == "SDNBHD":  # the space lost: "SDN.BHD." keeps its dot
            texts[i] = texts[i][:3] + " " + texts[i][3:]
        texts[i] = _GLUED_AFTER_BRACKET.sub(r"\1 ", texts[i].replace("’", "'").replace("‘", "'"))
    _repair_pair(texts, ocr)
    return texts


def _between_capitals(texts: list[str], i: int) -> bool:
    if i == 0 or i + 1 >= len(texts):
        return False
    before, after = texts[i - 1], texts[i + 1]
    return before[:1].isupper() and before[-1:].isalpha() and after[:1].isupper()


def _repair_pair(texts: list[str], ocr: list[bool]) -> None:
    for i in range(len(texts) - 1):
        first, second = _core(texts[i]), _core(texts[i + 1])
        fix_first = ocr[i] and _near(first, _PAIR[0]) and (second == _PAIR[1] or ocr[i + 1])
        fix_second = ocr[i + 1] and _near(second, _PAIR[1]) and (first == _PAIR[0] or ocr[i])
        if fix_first and (second == _PAIR[1] or fix_second):
            texts[i] = texts[i].upper().replace(first, _PAIR[0], 1)
        if fix_second and (first == _PAIR[0] or fix_first):
            texts[i + 1] = texts[i + 1].upper().replace(second, _PAIR[1], 1)


def _near(text: str, target: str) -> bool:
    return text != target and one_edit_apart(text, target)


def _core(text: str) -> str:
    return text.upper().strip(".,;:")
