"""The Suppliers page: the party master as approvers need it when an invoice's bank account
differs from the one on file — each supplier's tax ID, IBAN on file, e-mail, invoices
received, items waiting, and the last change of its bank account (when, by whom: a finance
lead from a review item, or an import), with a link to that supplier's bank-account history
in the audit log. Searched by name or tax ID, 50 a page, counted and paged in the database;
the counts and last changes are read for the page's rows only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from models.approvals import DECIDABLE
from models.db import AuditEvent, Invoice, Party, ReviewItem
from models.party_accounts import ACTION as BANK_ACTION
from models.search import lowered, lowered_contains, tax_id_matches
from webapp.queue import Page, PagedFilter, page_at

PAGE_SIZE = 50


@dataclass(frozen=True)
class PartyFilter(PagedFilter):
    text: str = ""  # part of the name, or the tax ID
    page: str = "1"


@dataclass(frozen=True)
class PartyRow:
    party_id: int
    name: str
    tax_id: str
    iban: str | None
    email: str | None
    invoices: int = 0
    waiting: int = 0
    bank_changed_at: datetime | None = None
    bank_changed_by: str | None = None


def load_parties(session: Session, flt: PartyFilter) -> Page[PartyRow]:
    where = _matching(flt.text)
    total = session.scalar(select(func.count()).select_from(Party).where(*where)) or 0
    number, pages, start = page_at(total, flt.page, PAGE_SIZE)
    parties = session.scalars(select(Party).where(*where).order_by(lowered(Party.name), Party.id)
                              .offset(start).limit(PAGE_SIZE)).all()
    rows = _with_counts(session, [PartyRow(p.id, p.name, p.tax_id, p.iban, p.email)
                                  for p in parties])
    return Page(rows, number, pages, start + 1 if rows else 0, start + len(rows), total)


def _matching(text: str) -> list[ColumnElement[bool]]:
    typed = text.strip()
    if not typed:
        return []
    name = lowered_contains(Party.name, typed)
    tax = tax_id_matches(Party.tax_id, typed)
    return [name if tax is None else or_(name, tax)]


def _with_counts(session: Session, rows: list[PartyRow]) -> list[PartyRow]:
    """The page's rows with their invoices, waiting items and last bank-account change."""
    ids = [r.party_id for r in rows]
    if not ids:
        return rows
    invoices = dict(session.execute(
        select(Invoice.party_id, func.count()).where(Invoice.party_id.in_(ids))
        .group_by(Invoice.party_id)).tuples().all())
    waiting = dict(session.execute(
        select(Invoice.party_id, func.count()).join(
            ReviewItem, ReviewItem.document_id == Invoice.document_id)
        .where(Invoice.party_id.in_(ids), ReviewItem.status.in_(DECIDABLE))
        .group_by(Invoice.party_id)).tuples().all())
    changes = _last_bank_changes(session, ids)
    return [replace(r, invoices=invoices.get(r.party_id, 0), waiting=waiting.get(r.party_id, 0),
                    bank_changed_at=changes.get(r.party_id, (None, None))[0],
                    bank_changed_by=changes.get(r.party_id, (None, None))[1]) for r in rows]


def _last_bank_changes(session: Session, ids: list[int]) -> dict[int, tuple[datetime, str]]:
    keys = [str(i) for i in ids]
    last = (select(func.max(AuditEvent.id))
            .where(AuditEvent.entity == "party", AuditEvent.entity_id.in_(keys),
                   AuditEvent.action == BANK_ACTION)
            .group_by(AuditEvent.entity_id))
    events = session.execute(select(AuditEvent.entity_id, AuditEvent.at, AuditEvent.actor)
                             .where(AuditEvent.id.in_(last)))
    return {int(entity_id): (at, actor) for entity_id, at, actor in events}
