"""The approval matrix: which role may approve an item, and when two approvers are needed.

Amount bands and reason codes map to roles (the highest wins); above a configurable amount,
or for the reasons listed in `two_approvers_for`, two different approvers must sign. The
reasons that count are those an item has now and those it arrived with
(`models.approvals.routing_codes`), so a correction that clears a finding (a duplicate's
number changed) does not lower the role or the number of approvers. Read from the TOML file
named by ARFLOW_APPROVAL_MATRIX (`data/approval-matrix.toml` writes the defaults out):

    two_approvers_above = 10000
    two_approvers_for = []     # reason codes that always need two different approvers
    currency = "EUR"           # the currency of every amount here (and of user limits);
                               # before any [table]: TOML puts later keys in that table
    [[bands]]
    up_to = 1000
    role = "clerk"
    [[bands]]
    up_to = 10000
    role = "manager"
    [[bands]]
    role = "finance_lead"      # no up_to: everything above
    [reason_roles]             # at least this role, whatever the amount
    BANK_DETAILS_CHANGED = "finance_lead"
    DUPLICATE_INVOICE = "manager"
    [rates]                    # value of one unit of another currency, in `currency`
    USD = 0.92
    GBP = 1.17

An invoice in another currency is compared after conversion at its rate; one in a currency
without a rate (or with none stated) counts as an unknown amount: top band, two approvers,
and above every user's limit. Nobody signs off an amount the matrix cannot value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from arflow.errors import ConfigError
from arflow.reasons import REASONS, Reason
from models.users import ROLES


@dataclass(frozen=True)
class Band:
    up_to: Decimal | None  # inclusive upper bound; None: no bound
    role: str


def _default_bands() -> tuple[Band, ...]:
    return (Band(Decimal(1000), "clerk"), Band(Decimal(10000), "manager"),
            Band(None, "finance_lead"))


def _default_reason_roles() -> dict[str, str]:
    """A new bank account is a finance lead's. A second invoice with a number the seller
    already billed is paid twice if approved, so a manager decides it whatever its amount,
    also once its number was corrected. A suspected duplicate (same seller, amount and day,
    another number: two identical deliveries billed the same day, too) stays with the
    amount's band unless a matrix names a role for it."""
    return {Reason.BANK_DETAILS_CHANGED: "finance_lead", Reason.DUPLICATE_INVOICE: "manager"}


@dataclass(frozen=True)
class ApprovalMatrix:
    bands: tuple[Band, ...] = field(default_factory=_default_bands)
    reason_roles: Mapping[str, str] = field(default_factory=_default_reason_roles)
    two_approvers_above: Decimal | None = Decimal(10000)
    two_approvers_for: frozenset[str] = frozenset()  # reason codes: two approvers always
    currency: str = "EUR"
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def in_own_currency(self, amount: Decimal | None, currency: str | None) -> Decimal | None:
        """`amount` in the matrix's currency, or None when it cannot be valued."""
        code = (currency or "").strip().upper()
        if amount is None or not code:
            return None
        if code == self.currency:
            return amount
        rate = self.rates.get(code)
        return None if rate is None else (amount * rate).quantize(Decimal("0.01"))

    def routing_amount(self, total: Decimal | None, currency: str | None,
                       received_total: Decimal | None,
                       received_currency: str | None) -> Decimal | None:
        """What decides who may approve an item: the higher of the invoice's amount now and
        as received (both in the matrix's currency), so that a correction of the total or
        the currency never lowers the role, the limit or the number of approvers needed.
        None (the top band) when either cannot be valued; a total that was not read at
        all when received leaves the amount now."""
        now = self.in_own_currency(total, currency)
        if received_total is None:
            return now
        then = self.in_own_currency(received_total, received_currency)
        return None if now is None or then is None else max(now, then)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalMatrix:
        """From `{"bands": [{"up_to": 1000, "role": "clerk"}, ...], "reason_roles": {...},
        "two_approvers_above": 10000, "two_approvers_for": [...]}`; unknown roles and reason
        codes fail loudly (a misspelt code would silently ask for nobody)."""
        bands = tuple(Band(_amount(b.get("up_to")), str(b["role"])) for b in data["bands"])
        reasons = {str(k): str(v) for k, v in (data.get("reason_roles") or {}).items()}
        for role in [b.role for b in bands] + list(reasons.values()):
            if role not in ROLES:
                raise ConfigError(f"approval matrix: unknown role {role!r}")
        two_for = frozenset(str(c) for c in data.get("two_approvers_for") or ())
        for code in sorted(set(reasons) | two_for):
            if code not in REASONS:
                raise ConfigError(f"approval matrix: unknown reason code {code!r}")
        rates = {str(k).upper(): Decimal(str(v)) for k, v in (data.get("rates") or {}).items()}
        if any(rate <= 0 for rate in rates.values()):
            raise ConfigError("approval matrix: every rate must be positive")
        return cls(bands=bands, reason_roles=reasons,
                   two_approvers_above=_amount(data.get("two_approvers_above")),
                   two_approvers_for=two_for,
                   currency=str(data.get("currency", "EUR")).strip().upper(), rates=rates)


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def load_matrix(env: Mapping[str, str] | None = None) -> ApprovalMatrix:
    """The matrix from the TOML file named by ARFLOW_APPROVAL_MATRIX, else the default."""
    path = (os.environ if env is None else env).get("ARFLOW_APPROVAL_MATRIX")
    if not path:
        return ApprovalMatrix()
    try:
        return ApprovalMatrix.from_dict(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ArithmeticError) as err:
        raise ConfigError(f"approval matrix {path}: {err}") from err


def rank(role: str | None) -> int:
    return ROLES.index(role) if role in ROLES else -1


def required_role(matrix: ApprovalMatrix, amount: Decimal | None, codes: Iterable[str]) -> str:
    """The lowest role allowed to approve; an unknown amount goes to the top band."""
    band_role = matrix.bands[-1].role
    if amount is not None:
        band_role = next(b.role for b in matrix.bands if b.up_to is None or amount <= b.up_to)
    roles = [band_role] + [matrix.reason_roles[c] for c in codes if c in matrix.reason_roles]
    return max(roles, key=rank)


def needs_two(matrix: ApprovalMatrix, amount: Decimal | None,
              codes: Iterable[str] = ()) -> bool:
    """Whether two different approvers must sign: above the matrix's amount (or an amount
    it cannot value), or for one of `codes` that the matrix lists in `two_approvers_for`."""
    limit = matrix.two_approvers_above
    if limit is not None and (amount is None or amount > limit):
        return True
    return not matrix.two_approvers_for.isdisjoint(codes)
