"""Spanish accents Tesseract dropped ("Papeleria" for "Papelería"), put back from Tesseract's
own Spanish dictionary.

At 200-300 dpi with JPEG noise, the acute accent is a few pixels and OCR often loses it.
The table ``data/accents_es.tsv`` maps a word without its accents to its only accented form,
for the words of ``spa.traineddata``'s word list (Apache-2.0, tesseract-ocr/tessdata) that
have exactly one accented form and whose unaccented spelling is not an English word of
Tesseract's English list (that list holds "Gomez" and "Informatica" as names, so those stay
as read): restoring is then not a guess between words. The Spanish list itself holds many
unaccented spellings (web text), so it cannot rule a word out. Rebuild it with
``python -m extractors.ocr.accents /usr/share/tesseract-ocr/5/tessdata`` (needs the
``combine_tessdata`` and ``dawg2wordlist`` tools of the tesseract-ocr package).
Only OCR words are touched (a digital text layer is what the issuer typed).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from models.domain import WordBox

TABLE = Path(__file__).with_name("data") / "accents_es.tsv"
_EDGE = ".,;:()\"'«»¿?¡!"


def strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c) or c == "\u0303")
    return unicodedata.normalize("NFC", kept)  # ñ keeps its tilde: another letter


@cache
def _table() -> dict[str, str]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


def restore_word(text: str) -> str:
    """`text` with its accents put back when the table knows the word, in the word's case."""
    core = text.strip(_EDGE)
    if len(core) < 4 or not core.isalpha() or not core.isascii():
        return text
    accented = _table().get(core.lower())
    if accented is None:
        return text
    if core.isupper():
        accented = accented.upper()
    elif core[0].isupper() and core[1:].islower():
        accented = accented[0].upper() + accented[1:]
    elif not core.islower():
        return text  # mixed case: not a dictionary word as printed
    return text.replace(core, accented, 1)


def restore_accents(pages: Sequence[Sequence[WordBox]]) -> list[list[WordBox]]:
    return [[w if (t := restore_word(w.text)) == w.text else dataclasses.replace(w, text=t)
             for w in page] for page in pages]


def build(tessdata: Path) -> dict[str, str]:
    """The table from ``spa.traineddata`` and ``eng.traineddata`` in `tessdata`."""
    spa, eng = _words(tessdata / "spa.traineddata"), _words(tessdata / "eng.traineddata")
    english = {w for w in eng if w.isascii()}
    forms: dict[str, set[str]] = {}
    for word in spa:
        if not word.isascii() and word.isalpha():
            forms.setdefault(strip_accents(word), set()).add(word)
    return {bare: next(iter(found)) for bare, found in sorted(forms.items())
            if len(found) == 1 and bare not in english and bare.isascii()}


def _words(traineddata: Path) -> set[str]:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "x.")
        subprocess.run(["combine_tessdata", "-u", str(traineddata), prefix], check=True,
                       capture_output=True, timeout=60)
        out = Path(tmp) / "words.txt"
        subprocess.run(["dawg2wordlist", prefix + "lstm-unicharset", prefix + "lstm-word-dawg",
                        str(out)], check=True, capture_output=True, timeout=60)
        return {w.strip().lower() for w in out.read_text(encoding="utf-8").splitlines()
                if w.strip()}


if __name__ == "__main__":
    table = build(Path(sys.argv[1]))
    TABLE.write_text("".join(f"{k}\t{v}\n" for k, v in table.items()), encoding="utf-8")
    sys.stdout.write(f"{len(table)} words -> {TABLE}\n")
