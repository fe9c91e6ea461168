"""Filling seller and buyer into a `FieldResult` (see `parties` for the block reading)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from extractors.labels import LabelHit
from extractors.layout import Line
from extractors.parties import PartyRead, block_lines, read_block
from extractors.regions import below, right_of
from extractors.seller_guess import guess_seller
from extractors.values import Read, find_valid_tax_id, read_tax_id
from models.domain import WordBox

if TYPE_CHECKING:
    from extractors.fields import FieldResult


def read_parties(
    result: FieldResult,
    lines: Sequence[Line],
    hits: Sequence[LabelHit],
    width: float,
    table_lines: set[int],
    *,
    title: Sequence[WordBox] = (),
) -> None:
    """Seller and buyer: labelled blocks, else the seller guessed near the top of the first
    page from words that are not labels, the buyer's block or the document's ``title``."""
    buyer, buyer_lines = _labelled_block(lines, hits, "buyer", width)
    seller = _labelled_block(lines, hits, "seller", width)[0]
    tax = _seller_tax_id(lines, hits, buyer_lines)
    if seller.party.tax_id is None and tax is not None:
        seller.party.tax_id, seller.tax_words, seller.tax_valid = tax[0].value, tax[0].words, tax[1]
    if seller.party.name is None:
        tax_line = _line_of(lines, seller.tax_words)
        skip = buyer.block_words | _label_words(hits) | set(title)
        guessed = guess_seller(lines, skip, table_lines, tax_line)
        seller.party.name, seller.name_words = guessed.party.name, guessed.name_words
        seller.name_score = guessed.name_score
    _store(result, "seller", seller)
    _store(result, "buyer", buyer)


def _labelled_block(
    lines: Sequence[Line], hits: Sequence[LabelHit], role: str, width: float
) -> tuple[PartyRead, set[int]]:
    ranked = sorted((h for h in hits if h.field == role), key=lambda h: (-h.strength, h.line.index))
    for hit in ranked:
        if hit.strength < 0.6:
            break
        stops = [h for h in hits if h.line is hit.line and h is not hit]
        rows, used = block_lines(hit, lines, width, stops)
        read = read_block(rows, hit.strength)
        if read.party.name is not None:
            read.block_words = {w for row in rows for w in row}
            return read, used
    return PartyRead(), set()


def _seller_tax_id(
    lines: Sequence[Line], hits: Sequence[LabelHit], skip: set[int]
) -> tuple[Read[str], bool] | None:
    """A labelled tax ID outside the buyer block, else the first valid one outside it."""
    fallback: tuple[Read[str], bool] | None = None
    for hit in hits:
        if hit.field != "tax_id" or hit.line.index in skip:
            continue
        found = read_tax_id(right_of(hit)) or read_tax_id(below(hit, lines))
        if found is not None and found[1]:
            return found
        fallback = fallback or found
    if fallback is not None:
        return fallback
    for line in lines:
        if line.index in skip:
            continue
        valid = find_valid_tax_id(line.words)
        if valid is not None:
            return valid, True
    return None


def _label_words(hits: Sequence[LabelHit]) -> set[WordBox]:
    return {w for h in hits if h.strength >= 0.5 for w in h.words}


def _line_of(lines: Sequence[Line], words: list) -> Line | None:  # type: ignore[type-arg]
    if not words:
        return None
    for line in lines:
        if words[0] in line.words:
            return line
    return None


def _store(result: FieldResult, role: str, read: PartyRead) -> None:
    name_conf = min(0.95, 0.5 + 0.45 * min(read.name_score, 1.0))
    result.set(f"{role}.name", read.party.name, name_conf, read.name_words)
    result.set(f"{role}.tax_id", read.party.tax_id, 0.97 if read.tax_valid else 0.5, read.tax_words)
    if read.party.address:
        result.set(f"{role}.address", read.party.address, 0.6, [])
