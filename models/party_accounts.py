"""A party's IBAN changed by a master-data import (`arflow import parties`): each change is
audited like an account accepted from a review item (`models.bank_details`), and reported;
one that puts back the account an approver replaced is warned about.

The ERP usually owns the supplier master, so an import wins. But when a finance lead has put a
supplier's new account on file in arflow after confirming it, and the ERP was not changed too,
the next import silently restores the old account and the supplier's next invoices are
flagged `BANK_DETAILS_CHANGED` again (or, worse, the ERP pays the old one). The warning names
the account, who accepted it, when, and from which review item, so someone fixes the ERP.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import append_audit
from models.db import AuditEvent

ACTION = "party.bank_details"  # as `models.bank_details` records an accepted account
ACTOR = "import"


@dataclass(frozen=True)
class IbanChange:
    party_id: int
    tax_id: str
    name: str
    old: str | None
    new: str | None


def record_iban_changes(session: Session, changes: list[IbanChange], source: str) -> list[str]:
    """Audit each change; return a warning for each that replaces an account accepted from
    a review item (the party's last bank-details event)."""
    warnings = []
    for change in changes:
        accepted = _last_acceptance(session, change.party_id)
        if accepted is not None and (accepted.after or {}).get("iban") == change.old:
            warnings.append(_warning(change, accepted))
        append_audit(session, actor=ACTOR, action=ACTION, entity="party",
                     entity_id=change.party_id, before={"iban": change.old},
                     after={"iban": change.new, "source": source})
    return warnings


def _last_acceptance(session: Session, party_id: int) -> AuditEvent | None:
    """The party's last bank-details event, if an approver accepted it from a review item."""
    last = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "party", AuditEvent.entity_id == str(party_id),
               AuditEvent.action == ACTION)
        .order_by(AuditEvent.id.desc()).limit(1)).first()
    return last if last is not None and "review_item" in (last.after or {}) else None


def _warning(change: IbanChange, accepted: AuditEvent) -> str:
    after = accepted.after or {}
    return (f"{change.name} ({change.tax_id}): the file puts back {change.new or 'no IBAN'} "
            f"over {change.old}, the account {accepted.actor} accepted on "
            f"{accepted.at:%Y-%m-%d} from review item {after.get('review_item')} "
            f"({after.get('confirmation')!r}); if that account is right, change the ERP too")
