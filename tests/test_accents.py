"""Spanish accents OCR dropped are put back from Tesseract's own Spanish word list, only
where the word has one accented form and its bare spelling is not English."""

from __future__ import annotations

from extractors.ocr.accents import TABLE, restore_accents, restore_word, strip_accents
from models.domain import WordBox


def test_accents_come_back_in_the_words_case() -> None:
    assert restore_word("Papeleria") == "Papelería"
    assert restore_word("CLIMATIZACION") == "CLIMATIZACIÓN"
    assert restore_word("ferreteria,") == "ferretería,"


def test_words_that_are_english_or_unknown_or_odd_stay_as_read() -> None:
    for text in ("Informatica", "Iberia", "Acme", "B03143229", "FeRReteria", "Ñandú", "de"):
        assert restore_word(text) == text


def test_only_changed_words_are_replaced_and_boxes_kept() -> None:
    words = [WordBox("Papeleria", 10, 20, 60, 30, 0, 0.8), WordBox("Gomez", 62, 20, 90, 30)]
    restored = restore_accents([words])[0]
    assert restored[0].text == "Papelería" and restored[0].x0 == 10 and restored[0].conf == 0.8
    assert restored[1] is words[1]


def test_the_table_maps_bare_spellings_to_one_accented_form() -> None:
    rows = [line.split("\t") for line in TABLE.read_text(encoding="utf-8").splitlines()]
    assert len(rows) > 5000
    assert all(strip_accents(accented) == bare != accented for bare, accented in rows)
