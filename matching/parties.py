"""Resolving a counterparty to the party master: by tax ID, else by fuzzy name (rapidfuzz)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

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
        self._by_name: dict[str, int] = {}
        for pos, (_, name, tax, _) in enumerate(self._rows):
            if tax:
                self._by_tax.setdefault(norm_tax_id(tax), pos)
            self._by_name.setdefault(norm_name(name), pos)
        self._names = list(self._by_name)
        self._cache: dict[tuple[str, str], PartyHit | None] = {}

    def resolve(self, tax_id: str | None, name: str | None) -> PartyHit | None:
        """The party on file for a tax ID or a name; None when neither is known."""
        key = (norm_tax_id(tax_id), norm_name(name))
        if key not in self._cache:
            self._cache[key] = self._resolve(*key)
        return self._cache[key]

    def _resolve(self, tax: str, name: str) -> PartyHit | None:
        if tax and tax in self._by_tax:
            return self._hit(self._by_tax[tax], "tax_id", 100.0)
        if not name:
            return None
        if name in self._by_name:
            return self._hit(self._by_name[name], "name", 100.0)
        best = process.extractOne(name, self._names, scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF)
        if best is None:
            return None
        return self._hit(self._by_name[best[0]], "name", float(best[1]))

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


def _texts(values: pd.Series) -> list[str]:
    return [opt_str(v) or "" for v in values.to_numpy(dtype=object)]
