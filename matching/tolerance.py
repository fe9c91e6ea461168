"""Tolerances for matching: a global default with per-party overrides (like ERP tolerance keys).

Each check has a percentage limit and, where `Tolerances` provides one, an absolute allowance; a
variance passes when it is within the larger of the two. Exactly at the limit passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from arflow.settings import Tolerances
from matching.normalize import norm_tax_id

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ToleranceBook:
    """The default `Tolerances` plus overrides keyed by party_id (int) or tax ID (str)."""

    default: Tolerances = field(default_factory=Tolerances)
    overrides: Mapping[int | str, Tolerances] = field(default_factory=dict)

    @classmethod
    def of(cls, tol: Tolerances | ToleranceBook | None) -> ToleranceBook:
        if isinstance(tol, ToleranceBook):
            return tol
        return cls(default=tol or Tolerances())

    @cached_property
    def _by_tax_id(self) -> dict[str, Tolerances]:
        return {norm_tax_id(k): v for k, v in self.overrides.items() if isinstance(k, str)}

    def for_party(self, party_id: int | None, tax_id: str | None = None) -> Tolerances:
        """The party's override (by party_id, else by tax ID), else the default."""
        if party_id is not None and party_id in self.overrides:
            return self.overrides[party_id]
        if tax_id and self._by_tax_id:
            return self._by_tax_id.get(norm_tax_id(tax_id), self.default)
        return self.default


def price_limit(expected: Decimal, tol: Tolerances) -> Decimal:
    """Largest unit-price difference that still passes."""
    return abs(expected) * tol.unit_price_pct / _HUNDRED


def total_limit(expected: Decimal, tol: Tolerances) -> Decimal:
    """Largest total difference that still passes: percentage or absolute, whichever is larger."""
    return max(abs(expected) * tol.total_pct / _HUNDRED, tol.total_abs)


def price_ok(expected: Decimal, found: Decimal, tol: Tolerances) -> bool:
    return abs(found - expected) <= price_limit(expected, tol)


def total_ok(expected: Decimal, found: Decimal, tol: Tolerances) -> bool:
    return abs(found - expected) <= total_limit(expected, tol)
