"""The audit log at scale: reading pages of it, and verifying its hash chain.

Usage:  .venv/bin/python bench/audit_scale.py [--events 200000] [--url postgresql://...]

Seeds N hash-chained events (review decisions on N/4 items, a bank-details change every 1,000)
in a fresh SQLite file (or the given database, whose tables must be empty), then times, best
of 3:

  pages  — what the Audit page and `arflow audit list` do per view (`models.audit_log`):
           count + first page; a filtered page deep in the log; one entity's events;
  verify — `models.audit.verify_chain` (plain rows, streamed), beside its baseline measured in
           the same run: the same walk over ORM objects, as it was before (one object per
           event). The page verifies only when asked; `arflow audit verify` always walks all.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import seeded_session
from models.audit import GENESIS, _fields, event_hash, verify_chain
from models.audit_log import AuditQuery, count_events, load_events
from models.db import AuditEvent
from models.types import utcnow

CHUNK = 5000


def seed(session: Session, n: int) -> None:
    prev, rows = GENESIS, []
    for i in range(n):
        bank = i % 1000 == 999
        fields = {"actor": f"user{i % 7}",
                  "action": "party.bank_details" if bank else "review.approve",
                  "entity": "party" if bank else "review_item", "entity_id": str(i // 4),
                  "before": {"iban": "ES91"} if bank else {"status": "open"},
                  "after": {"iban": "GB82"} if bank else {"status": "approved"}}
        at = utcnow()
        digest = event_hash(prev, at, fields)
        rows.append({"at": at, **fields, "prev_hash": prev, "hash": digest})
        prev = digest
        if len(rows) == CHUNK:
            session.execute(insert(AuditEvent), rows)
            rows = []
    if rows:
        session.execute(insert(AuditEvent), rows)
    session.commit()


def baseline_verify(session: Session) -> int | None:
    """The walk as it was: every event loaded as an ORM object."""
    prev = GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.prev_hash != prev or event.hash != event_hash(prev, event.at, _fields(event)):
            return event.id
        prev = event.hash
    return None


def best_of_3(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    with seeded_session(args.url, "audit", args.events, "audit events", seed) as session:
        views = {"first page (count + 50 newest)": (AuditQuery(), 0),
                 "filtered, page 1,001 (actor + action prefix)":
                     (AuditQuery(actor="user3", action="review."), 50_000),
                 "one entity (party 249)": (AuditQuery(entity="party", entity_id="249"), 0),
                 "a rare action (every bank-account change)":
                     (AuditQuery(action="party.bank_details"), 0),
                 "one person's rare action": (AuditQuery(actor="user3",
                                                         action="party.bank_details"), 0)}
        for label, (query, offset) in views.items():
            took = best_of_3(lambda q=query, o=offset: (count_events(session, q),
                                                         load_events(session, q, offset=o)))
            print(f"  {label}: {took * 1000:.0f} ms")
        session.expunge_all()
        fast = best_of_3(lambda: verify_chain(session))
        slow = best_of_3(lambda: (baseline_verify(session), session.expunge_all()))
        assert verify_chain(session) is None
        print(f"  verify the chain: {fast:.2f} s ({args.events / fast:,.0f} events/s); "
              f"baseline (ORM objects) {slow:.2f} s = {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
