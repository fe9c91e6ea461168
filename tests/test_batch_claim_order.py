"""Two batch runs at the same time, each storing all its documents in one transaction
(`pipeline.persist_all`), with copies of the same two invoices in opposite order: batch 1
stores X then Y, batch 2 Y' then X'. Claimed one document at a time, each batch would hold
one invoice number uncommitted and wait for the other's (PostgreSQL: "deadlock detected",
one batch's storage lost). Both must complete, each invoice held by exactly one copy, the
other copy sent to review as DUPLICATE_INVOICE naming it (`number_claims.guard_all`).
The same bytes in both batches in opposite order still deadlock on the document rows;
`pipeline.store_batch` then tries the losing batch's storage again once.

The batches are held, once each has stored its first document, until the other has too or
is seen waiting for a lock (PostgreSQL's `pg_locks`): claimed in one order, the later batch
waits for the earlier one's claims before it stores anything, and is let through. SQLite
takes BEGIN IMMEDIATE, so the second batch waits for the first to commit and never
overlaps it: there the tests only show that the outcome is the same."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.orm import Session

from arflow import pipeline
from arflow.db import session_scope
from arflow.intake import InboxFile
from arflow.pipeline import DocumentOutcome
from arflow.reasons import Reason
from matching.engine import evaluate_batch
from matching.types import Candidate
from models import repo
from models.db import Document, InvoiceNumberClaim, ReviewItem
from models.db import Invoice as InvoiceRow
from models.domain import DocumentKind, ExtractionResult, ExtractionStatus, Invoice
from tests.test_approvals import sample_invoice

Loader = Callable[[Session], None]
GATE_TIMEOUT_S = 20.0


class Gate:
    """Where each batch, right after a first call of a storage step, waits for the others:
    until each has made that call too, or waits for a lock (PostgreSQL)."""

    def __init__(self, engine: Engine, names: list[str]) -> None:
        self.names = names
        self.pids: dict[str, int] = {}  # batch thread -> server process of its connection
        self.arrived: set[str] = set()
        self.waited: set[str] = set()  # batches seen waiting for a lock at the gate
        self.watcher: Engine | None = None  # its own engine: its checkouts are not noted
        if engine.dialect.name == "postgresql":
            self.watcher = create_engine(engine.url)
            event.listen(engine, "checkout", self._checked_out)

    def _checked_out(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        self.pids[threading.current_thread().name] = dbapi_conn.info.backend_pid

    def arrive(self, name: str) -> None:
        self.arrived.add(name)
        deadline = time.monotonic() + GATE_TIMEOUT_S
        while not all(o in self.arrived or self._waiting(o) for o in self.names if o != name):
            assert time.monotonic() < deadline, f"{name}: the other batch never came"
            time.sleep(0.02)

    def _waiting(self, name: str) -> bool:
        if self.watcher is None:
            return True  # SQLite, BEGIN IMMEDIATE: the other batch waits for this one's commit
        pid = self.pids.get(name)
        if pid is None:
            return False
        with self.watcher.connect() as conn:
            waiting = bool(conn.scalar(text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = :pid AND NOT granted)"),
                {"pid": pid}))
        if waiting:
            self.waited.add(name)
        return waiting

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.dispose()


def _hold_after_first(monkeypatch: pytest.MonkeyPatch, gate: Gate, step: str) -> None:
    """Wrap `repo.<step>` so that each batch thread, after its first call, waits at `gate`."""
    real = getattr(repo, step)
    seen: set[str] = set()

    def held(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        name = threading.current_thread().name
        if name in gate.names and name not in seen:
            seen.add(name)
            gate.arrive(name)
        return out

    monkeypatch.setattr(repo, step, held)


def _outcomes(engine: Engine, batch: str, files: list[tuple[str, Invoice]]
              ) -> tuple[int, list[DocumentOutcome]]:
    """A batch's files decided against the master data as loaded now (neither batch sees
    the other's documents), and its batch row."""
    with session_scope(engine) as session:
        master = repo.load_master_data(session)
        batch_id = repo.start_batch(session, batch)
    decisions = evaluate_batch([Candidate(f"{batch}/{n}", inv) for n, inv in files], master)
    outcomes = [
        DocumentOutcome(file=InboxFile(Path(f"/inbox/{batch}/{name}"), _sha(batch, name), 1),
                        extraction=ExtractionResult(
                            source=name, status=ExtractionStatus.OK, kind=DocumentKind.DIGITAL,
                            invoice=invoice, pages=1),
                        decision=decision)
        for (name, invoice), decision in zip(files, decisions, strict=True)
    ]
    return batch_id, outcomes


def _sha(batch: str, name: str) -> str:
    """Copies of an invoice are different files (a scan, a PDF by mail), unless named
    `same-*`: then the very same bytes."""
    key = name if name.startswith("same-") else f"{batch}-{name}"
    return key.encode().hex().ljust(64, "0")[:64]


def _persist(engine: Engine, batch_id: int, outcomes: list[DocumentOutcome]) -> None:
    """The storage transaction of a batch run, `persist_all` and `finish_batch`, as
    `arflow run` had it before `pipeline.store_batch`, which tries again after a deadlock."""
    with session_scope(engine) as session:
        pipeline.persist_all(session, batch_id, outcomes)
        repo.finish_batch(session, batch_id)


def _run(engine: Engine, gate: Gate, batches: dict[str, list[tuple[str, Invoice]]],
         store: Callable[[Engine, int, list[DocumentOutcome]], None] = _persist,
         ) -> list[BaseException]:
    """Each batch stored by a thread of its own (`store`); the errors."""
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            batch_id, outcomes = _outcomes(engine, name, batches[name])
            store(engine, batch_id, outcomes)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(name,), name=name) for name in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    gate.close()
    assert not any(thread.is_alive() for thread in threads)
    return errors


def _documents(engine: Engine) -> dict[str, Document]:
    with Session(engine) as session:
        return {d.original_path or "": d for d in session.scalars(select(Document))}


def _claims(engine: Engine) -> dict[str, set[int]]:
    """Number key -> the documents holding it."""
    out: dict[str, set[int]] = {}
    with Session(engine) as session:
        for claim in session.scalars(select(InvoiceNumberClaim)):
            out.setdefault(claim.number_key, set()).add(claim.document_id)
    return out


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("deadlocked" in r.getMessage() for r in caplog.records)


def test_batches_storing_two_invoices_in_opposite_order_both_complete(
    engine: Engine, load_master: Loader, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Different files of the same invoices: held after each has stored its first document,
    both go on (one after the other), each invoice accepted once, no batch fails."""
    with Session(engine) as session:
        load_master(session)
    x, y = sample_invoice("999.00", "X-1"), sample_invoice("999.00", "Y-2")
    batches = {"batch1": [("x.pdf", x), ("y.pdf", y)], "batch2": [("y.pdf", y), ("x.pdf", x)]}
    gate = Gate(engine, list(batches))
    _hold_after_first(monkeypatch, gate, "save_extraction")
    caplog.set_level(logging.WARNING)

    errors = _run(engine, gate, batches)

    assert errors == []
    assert _retries(caplog) == 0  # no deadlock at all, not one that was tried again
    if engine.dialect.name == "postgresql":  # they overlapped: one waited for the other
        assert len(gate.waited) == 1
    documents = _documents(engine)
    assert len(documents) == 4
    claims = _claims(engine)
    assert set(claims) == {"X1", "Y2"}
    for number, name in (("X1", "x.pdf"), ("Y2", "y.pdf")):
        copies = [documents[f"/inbox/{batch}/{name}"] for batch in batches]
        (holder,) = claims[number]
        assert holder in {c.id for c in copies}
        (other,) = [c for c in copies if c.id != holder]
        assert other.status == "needs_review"
        duplicate = [p for p in other.reasons or [] if p["code"] == Reason.DUPLICATE_INVOICE]
        assert len(duplicate) == 1 and f"as document {holder}," in duplicate[0]["found"]


def test_batches_storing_the_same_files_in_opposite_order_both_complete(
    engine: Engine, load_master: Loader, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The same bytes in two inboxes, named so that they sort the other way: each batch
    holds one file's document row (unique content hash) and waits for the other's. On
    PostgreSQL one batch deadlocks, and its storage is tried again once, in a new
    transaction (`pipeline.store_batch`): both complete, each file stored once."""
    with Session(engine) as session:
        load_master(session)
    x, y = sample_invoice("999.00", "X-1"), sample_invoice("999.00", "Y-2")
    batches = {"batch1": [("same-x.pdf", x), ("same-y.pdf", y)],
               "batch2": [("same-y.pdf", y), ("same-x.pdf", x)]}
    gate = Gate(engine, list(batches))
    _hold_after_first(monkeypatch, gate, "claim_document")
    caplog.set_level(logging.WARNING)

    errors = _run(engine, gate, batches, pipeline.store_batch)

    assert errors == []
    if engine.dialect.name == "postgresql":  # each batch tries again once at most
        assert 1 <= _retries(caplog) <= 2
    else:
        assert _retries(caplog) == 0
    with Session(engine) as session:
        documents = list(session.scalars(select(Document)))
    assert sorted(d.source_name for d in documents) == ["same-x.pdf", "same-y.pdf"]
    assert all(d.status == "needs_review" for d in documents)  # the total is wrong
    assert not any(p["code"] == Reason.DUPLICATE_INVOICE
                   for d in documents for p in d.reasons or [])
    assert {k: len(v) for k, v in _claims(engine).items()} == {"X1": 1, "Y2": 1}


def test_a_batch_storing_files_another_batch_is_storing_leaves_them_to_it(
    engine: Engine, load_master: Loader, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same bytes in both batches, in the same order, stored at the same time: the
    later batch waits for the first one's document rows (PostgreSQL: a unique violation once
    that commits), finds them stored, and leaves them as the first batch stored them; its
    storage says so (`Stored.found`), so that its summary counts them as skipped. No
    document is stored twice, nor stored over."""
    with Session(engine) as session:
        load_master(session)
    x, y = sample_invoice("999.00", "X-1"), sample_invoice("999.00", "Y-2")
    batches = {"batch1": [("same-x.pdf", x), ("same-y.pdf", y)],
               "batch2": [("same-x.pdf", x), ("same-y.pdf", y)]}
    gate = Gate(engine, list(batches))
    _hold_after_first(monkeypatch, gate, "claim_document")
    results: dict[int, pipeline.Stored] = {}

    def store(engine: Engine, batch_id: int, outcomes: list[DocumentOutcome]) -> None:
        results[batch_id] = pipeline.store_batch(engine, batch_id, outcomes)

    assert _run(engine, gate, batches, store) == []

    if engine.dialect.name == "postgresql":  # they overlapped: one waited for the other
        assert len(gate.waited) == 1
    (winner,) = [b for b, r in results.items() if r.stored]
    (later,) = [b for b, r in results.items() if not r.stored]
    assert [len(results[winner].stored), len(results[winner].found)] == [2, 0]
    assert [len(results[later].stored), results[later].files_found] == [0, 2]
    with Session(engine) as session:
        documents = list(session.scalars(select(Document)))
        reviews = session.scalars(select(ReviewItem.document_id)).all()
        invoices = session.scalars(select(InvoiceRow.id)).all()
    assert sorted(invoices) == [1, 2]  # the first batch's: not replaced by the later one
    assert sorted(d.source_name for d in documents) == ["same-x.pdf", "same-y.pdf"]
    assert {d.batch_id for d in documents} == {winner}
    assert sorted(reviews) == sorted(d.id for d in documents)  # one review item each
    assert {k: len(v) for k, v in _claims(engine).items()} == {"X1": 1, "Y2": 1}
