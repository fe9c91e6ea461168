"""The Audit page's list: every event of the audit log, newest first, filtered by who, what,
on which entity and when (`models.audit_log`), 50 a page, counted and paged in the database."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from models.audit import verify_chain
from models.audit_log import AuditEntry, AuditQuery, count_events, load_events
from webapp.queue import Page, PagedFilter, page_at, typed_day

PAGE_SIZE = 50
# where an entity's page is, by entity kind
_LINKS = {"review_item": "/items/{}", "export": "/exports"}


@dataclass(frozen=True)
class AuditFilter(PagedFilter):
    """The filter as typed in the page's form (texts; a bad date filters nothing)."""

    actor: str = ""
    action: str = ""
    entity: str = ""
    entity_id: str = ""
    day_from: str = ""
    day_to: str = ""
    page: str = "1"

    def as_query(self) -> AuditQuery:
        return AuditQuery(self.actor, self.action, self.entity, self.entity_id,
                          typed_day(self.day_from), typed_day(self.day_to))


def load_page(session: Session, flt: AuditFilter) -> Page[AuditEntry]:
    query = flt.as_query()
    total = count_events(session, query)
    number, pages, start = page_at(total, flt.page, PAGE_SIZE)
    rows = load_events(session, query, offset=start, limit=PAGE_SIZE)
    return Page(rows, number, pages, start + 1 if rows else 0, start + len(rows), total)


@dataclass(frozen=True)
class TimedCheck:
    broken: int | None  # the first event that does not verify, or None
    events: int
    seconds: float


def check_chain(session: Session) -> TimedCheck:
    """Verify the whole chain (`models.audit.verify_chain`), timed."""
    start = time.perf_counter()
    broken = verify_chain(session)
    seconds = time.perf_counter() - start
    return TimedCheck(broken, count_events(session, AuditQuery()), seconds)


def link(entry: AuditEntry) -> str | None:
    """The page of the event's entity, where it has one."""
    pattern = _LINKS.get(entry.entity)
    return None if pattern is None else pattern.format(entry.entity_id)
