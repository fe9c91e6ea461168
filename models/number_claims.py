"""An invoice number held once per seller, in the database.

The duplicate check (`matching.duplicates`) sees every document committed before its pass
began, and those decided before it in the same pass. Two copies of one invoice taken at the
same time by workers that cannot see each other (`arflow poll --processes N`, several
machines on one drop folder, a batch run beside the poll) would each be decided as new, and
both could be auto-approved: paid twice. So the document stored first with a seller's
invoice number claims it (each of its duplicate keys, `matching.normalize`) in the same
transaction that stores its decision; a unique constraint makes a second claim wait for the
first transaction and then fail, and the later copy goes to review as `DUPLICATE_INVOICE`
naming the first (`guard`).

A batch stores all its documents in one transaction, so it holds all its claims, uncommitted,
until the end. Claimed one document after another, two batches storing copies of invoices X
and Y in opposite order would each hold one and wait for the other's: a deadlock, and
PostgreSQL aborts one batch's storage. So a batch claims the numbers of all its documents
together, in one order, sorted by (seller key, number key) (`guard_all`): a wait for a
claim is then always for one later in that order than every claim the waiting batch holds,
so no cycle of such waits can form, and the later batch finds the earlier one's numbers
taken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arflow.reasons import Reason
from matching.duplicates import duplicate_problem
from matching.normalize import invoice_number_keys, seller_key
from matching.types import Decision
from models.db import InvoiceNumberClaim
from models.domain import DocumentStatus, Invoice
from models.upsert import chunks

SELLER_KEY_MAX = 300  # the column's length (migration 0011)

Key = tuple[str, str]  # (seller key as stored, number key): one claim row


@dataclass(frozen=True)
class Claimant:
    """A document about to be stored with its invoice and decision."""

    document_id: int
    invoice: Invoice
    decision: Decision


def guard(session: Session, document_id: int, invoice: Invoice, decision: Decision) -> Decision:
    """`decision`, or, when another document already holds this seller's invoice number, the
    same sent to review with `DUPLICATE_INVOICE` naming that document. A document flagged
    as a duplicate already claims nothing; an earlier claim of this document (its number
    corrected since) is given up first."""
    return guard_all(session, [Claimant(document_id, invoice, decision)])[0]


def guard_all(session: Session, claimants: Sequence[Claimant]) -> list[Decision]:
    """`guard` for documents stored in one transaction, decided as if guarded one after
    another in the order given (the first with a number holds it), each decision updated in
    place as `guard` does. The claims are inserted in one canonical order instead, every key
    once, so that two such transactions cannot deadlock (module docstring); then the keys
    are given to the documents that hold them, and those nobody holds are given up."""
    _release(session, sorted({c.document_id for c in claimants}))
    wanted = [(c.document_id, _keys(c)) for c in claimants]
    first = _first_wanting(wanted)
    elsewhere = _take(session, first)
    owners, holders = _assign(wanted, elsewhere)
    _settle(session, {k: d for k, d in first.items() if k not in elsewhere}, owners)
    return [c.decision if holder is None else _duplicate(c.decision, c.invoice, holder)
            for c, holder in zip(claimants, holders, strict=True)]


def _release(session: Session, document_ids: Sequence[int]) -> None:
    """Give up the claims the documents hold from an earlier storing (a corrected number)."""
    for chunk in chunks(document_ids):
        session.execute(delete(InvoiceNumberClaim).where(
            InvoiceNumberClaim.document_id.in_(chunk)))


def _keys(claimant: Claimant) -> tuple[Key, ...]:
    """The claims the document makes: none without a number, or when flagged already."""
    numbers = invoice_number_keys(claimant.invoice.invoice_number)
    decision = claimant.decision
    if not numbers or Reason.DUPLICATE_INVOICE in decision.reason_codes:
        return ()
    return tuple((seller, number) for seller in _sellers(claimant) for number in numbers)


def _sellers(claimant: Claimant) -> tuple[str, ...]:
    """The seller keys the document claims under: the party on file when its seller is
    known, and also its printed tax ID (else its name), as when it is not. A copy decided
    while the seller was not yet in the party master (or no longer matched it) is keyed by
    what it prints; claimed under both, the two copies still meet."""
    seller, party = claimant.invoice.seller, claimant.decision.party_id
    printed = _bounded(seller_key(None, seller.tax_id, seller.name))
    if party is None:
        return (printed,)
    return (_bounded(seller_key(party, seller.tax_id, seller.name)), printed)


def _first_wanting(wanted: Sequence[tuple[int, tuple[Key, ...]]]) -> dict[Key, int]:
    """Each key wanted, with the first document wanting it: its row is inserted for it."""
    first: dict[Key, int] = {}
    for document_id, keys in wanted:
        for key in keys:
            first.setdefault(key, document_id)
    return first


def _take(session: Session, first: dict[Key, int]) -> dict[Key, int]:
    """Insert a claim row for every key, in sorted order (the one order that makes a wait
    for another transaction's claim never close a cycle); the keys another document holds
    already (committed, or by a transaction that committed while this one waited), with it."""
    elsewhere: dict[Key, int] = {}
    for key in sorted(first):
        holder = _claim(session, first[key], key)
        if holder is not None:
            elsewhere[key] = holder
    return elsewhere


def _claim(session: Session, document_id: int, key: Key) -> int | None:
    """Claim `key` for `document_id`; the document holding it already, or None."""
    holder = _holder(session, key)
    if holder is not None:
        return holder
    row = {"seller_key": key[0], "number_key": key[1], "document_id": document_id}
    try:
        with session.begin_nested():
            session.execute(insert(InvoiceNumberClaim), [row])
    except IntegrityError:  # claimed by a transaction that committed meanwhile
        return _holder(session, key)
    return None


def _assign(wanted: Sequence[tuple[int, tuple[Key, ...]]], elsewhere: dict[Key, int]
            ) -> tuple[dict[Key, int], list[int | None]]:
    """Who holds what, as `guard` one document after another would have left it: the keys
    each document ends up holding, and per document the one holding its number before it
    (the lowest id, when several do), or None. No database work, so no waits."""
    owners: dict[Key, int] = {}
    holders: list[int | None] = []
    for document_id, keys in wanted:
        for key in [k for k, owner in owners.items() if owner == document_id]:
            del owners[key]  # stored twice: its earlier claim is given up first, as in `guard`
        found = [elsewhere[k] for k in keys if k in elsewhere] + [
            owners[k] for k in keys if k in owners]
        if not found:
            owners.update(dict.fromkeys(keys, document_id))
        holders.append(min(found) if found else None)
    return owners, holders


def _settle(session: Session, inserted: dict[Key, int], owners: dict[Key, int]) -> None:
    """Point each row inserted by `_take` at the document holding its key, or delete it.
    The rows are this transaction's own: nothing waits."""
    for key, document_id in sorted(inserted.items()):
        match = (InvoiceNumberClaim.seller_key == key[0], InvoiceNumberClaim.number_key == key[1])
        owner = owners.get(key)
        if owner is None:
            session.execute(delete(InvoiceNumberClaim).where(*match))
        elif owner != document_id:
            session.execute(update(InvoiceNumberClaim).where(*match).values(document_id=owner))


def _bounded(key: str) -> str:
    """The seller key as stored: a name key longer than the column (a seller known only by a
    very long name) by its SHA-256 instead."""
    if len(key) <= SELLER_KEY_MAX:
        return key
    return "H:" + hashlib.sha256(key.encode()).hexdigest()


def _holder(session: Session, key: Key) -> int | None:
    return session.scalar(select(InvoiceNumberClaim.document_id).where(
        InvoiceNumberClaim.seller_key == key[0], InvoiceNumberClaim.number_key == key[1]))


def _duplicate(decision: Decision, invoice: Invoice, holder: int) -> Decision:
    problem = duplicate_problem(invoice.invoice_number, f"as document {holder}, stored "
                                                        "while this one was being decided")
    decision.reasons = [*decision.reasons, problem]
    decision.status = DocumentStatus.NEEDS_REVIEW
    return decision
