"""Portable column types: exact decimals, UTC datetimes and JSON on SQLite and PostgreSQL.

* `Amount` / `Quantity` are `NUMERIC(18, 4)` on PostgreSQL. SQLite has no exact decimal type
  (it would store a float), so there the value is kept as an integer scaled by 10**4: exact,
  ordered, and `SUM()` stays exact. Values are rounded half-even to 4 places on write on both
  backends, and read back canonically: `Amount` with at least 2 decimals ("12.50"),
  `Quantity` without trailing zeros ("3", "0.25").
* `UTCDateTime` stores timezone-aware datetimes and always returns them in UTC.
* `JSONDoc` is JSONB on PostgreSQL and JSON text elsewhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

SCALE = 4
_QUANTUM = Decimal(1).scaleb(-SCALE)
_FACTOR = 10**SCALE
MAX_ABS = Decimal(10) ** (18 - SCALE)  # NUMERIC(18, 4): 14 integer digits
CENT = Decimal("0.01")

JSONDoc = JSON().with_variant(JSONB(), "postgresql")


def quantize(value: Decimal) -> Decimal:
    """Round to the stored precision; raise ValueError for values the column cannot hold.

    The magnitude is checked before rounding: `Decimal.quantize` of a number with more
    digits than the context's precision (28) raises `decimal.InvalidOperation` (1e400 did);
    and again after it, since rounding can carry up to the limit (99999999999999.99995)."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {_shown(value)}")
    if value.copy_abs() >= MAX_ABS:  # copy_abs: abs() would round, and overflow at 1e1000000
        raise ValueError(f"{_shown(value)} exceeds NUMERIC(18, {SCALE})")
    rounded = value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    if abs(rounded) >= MAX_ABS:
        raise ValueError(f"{_shown(value)} exceeds NUMERIC(18, {SCALE})")
    return rounded


def _shown(value: Decimal, most: int = 40) -> str:
    """The number as written, cut to `most` characters (it may have thousands of digits)."""
    text = str(value)
    return text if len(text) <= most else text[:most] + "..."


def plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation ("3.0000" -> "3")."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class _Exact(TypeDecorator[Decimal]):
    impl = Numeric(18, SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = quantize(value if isinstance(value, Decimal) else Decimal(str(value)))
        return int(exact * _FACTOR) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return self.canonical(Decimal(int(value)).scaleb(-SCALE))
        return self.canonical(Decimal(value))

    @staticmethod
    def canonical(value: Decimal) -> Decimal:
        return plain(value)


class Quantity(_Exact):
    """Quantities and rates: exact, read back without trailing zeros."""

    cache_ok = True


class Amount(_Exact):
    """Money: exact, read back with at least two decimals."""

    cache_ok = True

    @staticmethod
    def canonical(value: Decimal) -> Decimal:
        cents = value.quantize(CENT)
        return cents if cents == value else plain(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime, stored and returned in UTC. Naive input is rejected."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"timezone-aware datetime required, got {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def utc_midnight(day: date) -> datetime:
    """The start of `day` in UTC (date filters: days in UTC, both ends included)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
