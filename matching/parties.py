"""Resolving a counterparty to the party master: by tax ID, else by fuzzy name (rapidfuzz)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from matching.checks import tax_id_valid
from matching.normalize import norm_iban, norm_name, norm_tax_id, seller_key

NAME_CUTOFF = 90.0  # fuzz.ratio on normalised names


@dataclass(frozen=True)
class PartyHit:
    party_id: int
    name: str
    tax_id: str | None
    iban: str | None
    by: str        # "tax_id" or "name"
    score: float   # 100 for a tax-ID hit


def opt_str(value: Any) -> str | None:
    """A master-data cell as text, or None for None/NaN/NA/empty."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


class PartyIndex:
    """Lookup structures over the parties frame, built once per batch."""

    def __init__(self, parties: pd.DataFrame) -> None:
        self._rows: list[tuple[int, str, str | None, str | None]] = [
            (int(pid), opt_str(name) or "", opt_str(tax), opt_str(iban))
            for pid, name, tax, iban in zip(
                parties["party_id"], parties["name"], parties["tax_id"], parties["iban"],
                strict=True,
            )
        ]
        self._by_tax: dict[str, int] = {}
        self._by_name: dict[str, list[int]] = {}
        for pos, (_, name, tax, _) in enumerate(self._rows):
            if tax:
                self._by_tax.setdefault(norm_tax_id(tax), pos)
            self._by_name.setdefault(norm_name(name), []).append(pos)
        self._names = list(self._by_name)
        self._cache: dict[tuple[str, str, bool], PartyHit | None] = {}

    def resolve(self, tax_id: str | None, name: str | None) -> PartyHit | None:
        """The party on file for a tax ID or a name; None when neither is known.

        A name stands in for the tax ID only when no valid tax ID contradicts it: a printed tax
        ID that passes its checksum but is not on file is another legal entity, even under a
        name on file ("Acme S.L." and "Acme S.A."). Several parties under one name are told
        apart by the tax ID nearest the printed one (a misprint), else none is chosen."""
        key = (norm_tax_id(tax_id), norm_name(name), bool(tax_id) and tax_id_valid(tax_id or ""))
        if key not in self._cache:
            self._cache[key] = self._resolve(*key)
        return self._cache[key]

    def _resolve(self, tax: str, name: str, tax_valid: bool) -> PartyHit | None:
        if tax and tax in self._by_tax:
            return self._hit(self._by_tax[tax], "tax_id", 100.0)
        found = self._by_name_match(name)
        if found is None:
            return None
        positions, score = found
        if tax_valid:  # a real tax ID that is not on file: only parties without one may match
            positions = [p for p in positions if not self._rows[p][2]]
        pos = _nearest_tax_id(tax, [(p, self._rows[p][2]) for p in positions])
        return None if pos is None else self._hit(pos, "name", score)

    def _by_name_match(self, name: str) -> tuple[list[int], float] | None:
        if not name:
            return None
        if name in self._by_name:
            return self._by_name[name], 100.0
        best = process.extractOne(name, self._names, scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF)
        return None if best is None else (self._by_name[best[0]], float(best[1]))

    def _hit(self, pos: int, by: str, score: float) -> PartyHit:
        pid, name, tax, iban = self._rows[pos]
        return PartyHit(pid, name, tax, norm_iban(iban) or None, by, score)

    def key(self, tax_id: str | None, name: str | None) -> str:
        """`seller_key` of a counterparty, through the party master when it is known."""
        hit = self.resolve(tax_id, name)
        return seller_key(hit.party_id if hit else None, tax_id, name)

    def keys(self, tax_ids: pd.Series, names: pd.Series) -> np.ndarray:
        """`key` for many rows at once, resolving each distinct (tax ID, name) pair once."""
        frame = pd.DataFrame({"t": _texts(tax_ids), "n": _texts(names)})
        codes = frame.groupby(["t", "n"], sort=False).ngroup().to_numpy()
        firsts = frame.drop_duplicates()
        pairs = zip(firsts["t"], firsts["n"], strict=True)
        uniq = [self.key(t or None, n or None) for t, n in pairs]
        return np.asarray(uniq, dtype=object)[codes]


def _nearest_tax_id(tax: str, candidates: list[tuple[int, str | None]]) -> int | None:
    """The one candidate, or the one whose tax ID on file is uniquely nearest the printed one."""
    if len(candidates) <= 1:
        return candidates[0][0] if candidates else None
    if not tax:
        return None
    scores = [(fuzz.ratio(tax, norm_tax_id(t)) if t else 0.0, p) for p, t in candidates]
    scores.sort(reverse=True)
    return scores[0][1] if scores[0][0] > scores[1][0] else None


def _texts(values: pd.Series) -> list[str]:
    return [opt_str(v) or "" for v in values.to_numpy(dtype=object)]
