"""The batch pipeline as plain, typed steps. `flows/batch.py` orchestrates them with
Prefect; tests and `arflow run --engine plain` call them directly.

    discover → settled? → fingerprint → skip known → stage → extract → split files of
    several invoices → decide (validate + match) → persist → route → release

A batch reads private copies of the files it takes (`intake.stage`), not the inbox's files,
so that what is hashed, read and quarantined are the same bytes; `release` removes them.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from arflow import intake, leftovers, progress
from arflow.db import session_scope, storage_errors
from arflow.errors import ConfigError, StorageError
from arflow.intake import InboxFile, Waiting, unique_by_content
from arflow.names import short_name
from arflow.quality import quality_problems
from arflow.settings import Settings
from arflow.splitting import Extracted, split_bundles
from extractors.api import extract_file, failed_unexpectedly
from matching.context import Context
from matching.engine import evaluate_batch, evaluate_in
from matching.types import Candidate, Decision, MasterData
from models import repo
from models.domain import DocumentStatus, ExtractionResult, ExtractionStatus, Problem
from models.repo import Part

log = logging.getLogger(__name__)

ProgressFn = Callable[[str], None]
T = TypeVar("T")
DEADLOCK_SQLSTATE = "40P01"  # PostgreSQL's deadlock_detected
DEADLOCK_PAUSE_S = 0.2  # before trying again: the other batch takes what it waited for first
REFUSAL_CHARS = 300  # of what the database said, in a refused document's reason
STAGING, BATCH_PREFIX, PAGE_CACHE_PREFIX = "staging", "batch-", "ocr-pages-"
_UNDECIDED = {ExtractionStatus.FAILED: DocumentStatus.FAILED,
              ExtractionStatus.SPLIT: DocumentStatus.SPLIT}


@dataclass
class DocumentOutcome:
    file: InboxFile
    extraction: ExtractionResult
    decision: Decision
    part: Part | None = None  # one invoice of a file of several (`arflow.splitting`)


@dataclass
class BatchPlan:
    todo: list[InboxFile] = field(default_factory=list)  # staged (`intake.stage`)
    already_done: list[InboxFile] = field(default_factory=list)
    repeats: list[InboxFile] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)  # left for the next run, and why
    staging: Path | None = None  # the private copies of `todo`, removed by `release`
    staging_lock: int | None = None  # the descriptor of its owner lock (`arflow.leftovers`)


def plan_batch(session: Session, inbox: Path, settings: Settings,
               settle_s: float | None = None) -> BatchPlan:
    """Fingerprint every candidate file that has settled (not modified for `settle_s`
    seconds, default `intake.settle_window()`) and did not change while hashed; keep the
    ones whose bytes were never seen, each with a private copy of exactly those bytes. The
    others are left for the next run, logged and listed in `waiting`, never read half
    written. Nothing of arflow's own state is found (`intake.state_paths`). Staging
    folders that crashed runs left behind are removed first (`arflow.leftovers`)."""
    leftovers.sweep(settings.home / STAGING, BATCH_PREFIX)
    window = intake.settle_window() if settle_s is None else settle_s
    found = intake.discover(inbox, exclude=intake.state_paths(settings, inbox))
    ready, waiting = intake.settled(found, window)
    files: list[InboxFile] = []
    for path, seen in ready:
        taken = intake.fingerprint_unchanged(path, seen)
        if isinstance(taken, Waiting):
            waiting.append(taken)
        elif taken is not None:
            files.append(taken)
    first, repeats = unique_by_content(files)
    known = repo.known_hashes(session, [f.sha256 for f in first])
    plan = BatchPlan(already_done=[f for f in first if f.sha256 in known], repeats=repeats,
                     waiting=waiting)
    _stage_todo(plan, [f for f in first if f.sha256 not in known], settings)
    for left in plan.waiting:
        log.warning("%s: %s; left for the next run", left.path, left.why)
    return plan


def _stage_todo(plan: BatchPlan, todo: Sequence[InboxFile], settings: Settings) -> None:
    """Copy each new file into a staging folder of this batch's own (under the home, which
    no batch takes files from; several batches may run at once). A file whose bytes changed
    since its fingerprint joins `waiting`."""
    if not todo:
        return
    plan.staging, plan.staging_lock = leftovers.make(settings.home / STAGING, BATCH_PREFIX)
    try:
        for file in todo:
            staged = intake.stage(file, plan.staging)
            if isinstance(staged, Waiting):
                plan.waiting.append(staged)
            else:
                plan.todo.append(staged)
    except BaseException:
        release(plan)
        raise


def release(plan: BatchPlan) -> None:
    """Remove the batch's private copies once its failed files are quarantined (or the batch
    failed: the inbox still holds the files, and the next run reads them)."""
    if plan.staging is not None:
        leftovers.drop(plan.staging, plan.staging_lock)


def _extract_one(file: InboxFile, settings: Settings) -> ExtractionResult:
    """Read the fingerprinted bytes (`InboxFile.content`); the result names the file where
    it was found."""
    try:
        result = extract_file(file.content, settings)
    except ConfigError:
        raise  # the whole batch's settings, not this file
    except Exception as exc:  # a bug: that file fails, the batch goes on
        log.exception("%s: arflow failed on this file", file.where)
        result = failed_unexpectedly(file.content, exc)
    result.source = file.where
    return result


def extract_all(
    files: Sequence[InboxFile], settings: Settings, on_done: ProgressFn = progress.advanced
) -> list[Extracted]:
    """Extract every file, then split each file of several invoices into its invoices, read
    as documents of their own after the file (`arflow.splitting`)."""
    with _ocr_page_cache(settings) as cached:
        results = read_files(files, cached, on_done)
        # the splitter writes the parts from the bytes that were read, the private copy
        views = [replace(f, path=f.content) for f in files]
        found_as = {id(view): f for view, f in zip(views, files, strict=True)}
        items = [Extracted(v, r) for v, r in zip(views, results, strict=True)]
        split = split_bundles(items, settings.split_dir,
                              lambda parts: read_files(parts, cached, _no_progress))
        names = {f.sha256: f.name for f in files}  # a long name's copy has a short one
        return [replace(item, file=found_as.get(id(item.file), item.file),
                        part=_named(item.part, names)) for item in split]


def _named(part: Part | None, names: dict[str, str]) -> Part | None:
    """`part` named after its file as found, not as its private copy is named."""
    if part is None or part.of_sha256 not in names:
        return part
    return replace(part, of_name=names[part.of_sha256])


@contextmanager
def _ocr_page_cache(settings: Settings) -> Iterator[Settings]:
    """The settings with a page cache of their own for this step, removed afterwards: the
    invoices split out of a scanned file reuse its pages' OCR (`extractors.ocr.pagecache`).
    Caches that crashed runs left behind are removed first (`arflow.leftovers`)."""
    folder = settings.home / "cache"
    leftovers.sweep(folder, PAGE_CACHE_PREFIX)
    with leftovers.working_folder(folder, PAGE_CACHE_PREFIX) as cache:
        yield replace(settings, ocr_cache_dir=cache)


def _no_progress(source: str) -> None:
    """Parts of a split file are not among the files the progress bar counts."""


def read_files(
    files: Sequence[InboxFile], settings: Settings, on_done: ProgressFn = progress.advanced
) -> list[ExtractionResult]:
    """Extract every file; CPU-bound, so several worker processes when there is work for them."""
    workers = max(1, min(settings.workers, len(files)))
    if workers == 1:
        return [_tick(_extract_one(f, settings), on_done) for f in files]
    context = multiprocessing.get_context("forkserver")
    per_process = replace(settings, workers=1)  # one OCR page at a time in each process
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_extract_one, f, per_process) for f in files]
        return [_tick(fut.result(), on_done) for fut in futures]


def _tick(result: ExtractionResult, on_done: ProgressFn) -> ExtractionResult:
    on_done(result.source)
    return result


def decide_all(
    results: Sequence[ExtractionResult], master: MasterData, settings: Settings,
    today: date | None = None, *, within: Context | None = None,
) -> list[Decision]:
    """Validate and match the readable documents; unreadable ones are `failed` decisions and
    a file split into its invoices is `split` (its invoices are decided on their own).
    `within`: a matching context kept across calls (`matching.engine.evaluate_in`)."""
    readable = [(i, r) for i, r in enumerate(results) if r.status not in _UNDECIDED]
    candidates = [
        Candidate(key=r.source, invoice=r.invoice,
                  problems=r.errors + quality_problems(r, settings.min_confidence))
        for _, r in readable
    ]
    decided = (evaluate_in(candidates, within) if within is not None
               else evaluate_batch(candidates, master, settings.tolerances, today=today))
    decisions = [Decision(status=_UNDECIDED.get(r.status, DocumentStatus.FAILED),
                          reasons=list(r.errors)) for r in results]
    for (index, _), decision in zip(readable, decided, strict=True):
        decisions[index] = decision
    return decisions


@dataclass
class Stored:
    """What storing a batch's outcomes did: `stored` by this batch, and `found` stored
    already by another run since the batch was planned (the same bytes in another inbox,
    or the same inbox, at the same time), left as that run stored them."""

    stored: list[DocumentOutcome] = field(default_factory=list)
    found: list[DocumentOutcome] = field(default_factory=list)

    @property
    def files_found(self) -> int:
        """Files (not the invoices split out of them) another run stored meanwhile."""
        return sum(1 for o in self.found if o.part is None)


def persist_all(
    session: Session, batch_id: int, outcomes: Sequence[DocumentOutcome], *,
    leave_stored: bool = False,
) -> Stored:
    """Store every document with its extraction and decision (review items included), in
    the caller's transaction; the invoice numbers of all are claimed in one order, so that
    two batches storing copies of the same invoices cannot deadlock on them
    (`repo.save_outcomes`). `leave_stored` (batch runs): a document some other run stored
    meanwhile keeps its result, and is `found`, not `stored`. Without it (the per-document
    channels, `arflow retry`: their document is theirs to store onto) all are `stored`."""
    saved = repo.save_outcomes(session, batch_id=batch_id, outcomes=outcomes,
                               leave_stored=leave_stored)
    out = Stored()
    for outcome, one in zip(outcomes, saved, strict=True):
        (out.stored if one.stored else out.found).append(outcome)
    return out


def persist_isolated(session: Session, batch_id: int,
                     outcomes: Sequence[DocumentOutcome]) -> list[DocumentOutcome]:
    """`persist_all` for the per-document channels (drop folder, mailbox, `arflow retry`),
    whose transaction holds their document's row: a value the database refuses
    (`storage_refused`) fails its document alone, as in `store_batch`, and the transaction
    goes on. Tried in a savepoint; refused, each outcome is stored in a savepoint of its own,
    and each one the database still refuses as failed (`refused_outcome`): a refused file
    with none of its invoices, a refused invoice of a file alone. The outcomes as stored.

    Savepoints, not transactions of their own as in `store_batch`: the document's row stays
    locked, and these channels store one file at a time, so nothing is tried again after a
    deadlock. A failure of the database itself is raised as it is."""
    try:
        _persist_in_savepoint(session, batch_id, outcomes)
        return list(outcomes)
    except StorageError as err:
        if not storage_refused(err):
            raise
        log.warning("storing %s: the database refused a document (%s); storing its "
                    "documents one at a time", outcomes[0].file.where if outcomes else "",
                    _refusal(err))
    stored: list[DocumentOutcome] = []
    refused_files: set[str] = set()
    for outcome in outcomes:
        if outcome.part is not None and outcome.part.of_sha256 in refused_files:
            continue  # its file failed as a whole: `arflow retry` reads and splits it again
        try:
            _persist_in_savepoint(session, batch_id, [outcome])
        except StorageError as err:
            if not storage_refused(err):
                raise
            failed = refused_outcome(outcome, err)
            log.warning("%s", failed.decision.reasons[0].message)
            repo.save_outcomes(session, batch_id=batch_id, outcomes=[failed], fit=True)
            if outcome.part is None:
                refused_files.add(outcome.file.sha256)
            stored.append(failed)
        else:
            stored.append(outcome)
    return stored


def _persist_in_savepoint(session: Session, batch_id: int,
                          outcomes: Sequence[DocumentOutcome]) -> None:
    """`persist_all` in a savepoint, rolled back on any error (a driver's error as a
    `StorageError`, `arflow.db.storage_errors`), with the outcomes' decisions put back as
    they came in (a number found held sends one to review as a duplicate, in place)."""
    before = [(o.decision, o.decision.status, list(o.decision.reasons)) for o in outcomes]
    try:
        with storage_errors(session.get_bind().engine.url), session.begin_nested():
            persist_all(session, batch_id, outcomes)
    except BaseException:
        _put_back(before)
        raise


def store_batch(engine: Engine, batch_id: int, outcomes: Sequence[DocumentOutcome]) -> Stored:
    """`persist_all` and `finish_batch` in a transaction of their own (`arflow run`, the
    batch flow), tried again once when PostgreSQL aborts it as a deadlock. A file whose
    bytes another run stored since this batch was planned keeps that run's result: it is
    `found`, for the summary to count as skipped, never stored over (`leave_stored`).

    Claimed in one order, invoice numbers no longer deadlock; document rows still can: the
    same file's bytes in two batches at the same time, in opposite order (two inboxes, names
    that sort the other way). Trying again is safe: the whole transaction was rolled back,
    nothing of it committed, so the other batch goes on; the outcomes are still in memory,
    their decisions put back as they came in; nothing outside the database was touched yet.
    The second attempt, after a pause (started at once, it could take the same document row
    before the other batch does, and deadlock with it again), waits for the other batch and
    finds its documents stored.

    Not from a savepoint inside the transaction: on PostgreSQL a transaction waiting for a
    row inserted under a savepoint since released waits for the whole inserting transaction,
    so rolling back to an outer savepoint does not let it go on, and the deadlock came back.
    The per-document channels (drop folder, retry) store in a transaction that also holds
    their document's row, and are not tried again here.

    A value the database refuses (`storage_refused`: one its column cannot hold, a
    constraint the checks before storage did not foresee) rolls back the whole transaction,
    so the batch is then stored one document per transaction (`_store_apart`, without
    savepoints for the same reason): the documents the database still refuses are stored
    as failed (STORAGE_ERROR), nothing of what was read from them, and quarantined by the
    caller like any failed file; the others are stored and decided as in one transaction.
    A failure of the database itself (connection lost, disk full, busy, not migrated) fails
    the batch. So does a refusal of the failed record itself (what the database gained, a
    constraint, say, then refuses every document whatever it holds). A batch of refused
    documents alone does not fail: blocking every later run on one hostile file is worse
    than quarantining it, and `arflow retry --reason STORAGE_ERROR` reads such files again
    should the database have been at fault."""
    try:
        stored = _attempt(partial(_store_once, engine, batch_id, outcomes), outcomes,
                          f"batch {batch_id}")
    except StorageError as err:  # session_scope translates the driver's errors
        if not storage_refused(err):
            raise
        log.warning("storing batch %s: the database refused a document (%s); storing its "
                    "documents one at a time", batch_id, _refusal(err))
        stored = _store_apart(engine, batch_id, outcomes)
    if stored.found:
        log.warning("batch %s: %d file(s) stored by another run meanwhile, left as it stored "
                    "them: %s", batch_id, stored.files_found,
                    ", ".join(str(o.file.path) for o in stored.found if o.part is None))
    return stored


def _store_once(engine: Engine, batch_id: int, outcomes: Sequence[DocumentOutcome]) -> Stored:
    with session_scope(engine) as session:
        stored = persist_all(session, batch_id, outcomes, leave_stored=True)
        repo.finish_batch(session, batch_id)
    return stored


def _attempt(store: Callable[[], T], outcomes: Sequence[DocumentOutcome], what: str) -> T:
    """`store()`, tried again once after a pause when PostgreSQL aborts it as a deadlock;
    after a failed try the outcomes' decisions are put back as they came in (`_put_back`)."""
    before = [(o.decision, o.decision.status, list(o.decision.reasons)) for o in outcomes]
    try:
        return store()
    except BaseException as err:
        _put_back(before)
        if not (isinstance(err, StorageError) and _deadlocked(err)):
            raise
        log.warning("storing %s deadlocked with another transaction; trying again once: %s",
                    what, err)
    time.sleep(DEADLOCK_PAUSE_S)
    try:
        return store()
    except BaseException:
        _put_back(before)
        raise


def _store_apart(engine: Engine, batch_id: int, outcomes: Sequence[DocumentOutcome]) -> Stored:
    """The batch one document per transaction (`store_batch`), each as in the batch's
    transaction; then each document the database refused on its own, as failed
    (`refused_outcome`); then the batch's counts. A refused file takes its invoices with it
    (its parts, not stored): it fails as a whole, and `arflow retry` reads and splits it
    again. Raises when the database refuses even a failed record."""
    created: set[int] = set()  # the documents this batch created, its to store onto
    placed: dict[int, tuple[DocumentOutcome, bool]] = {}  # index -> (as stored, stored?)
    refused: dict[int, BaseException] = {}
    found_files: set[str] = set()  # files another run stored: their parts are that run's
    refused_files: set[str] = set()
    for index, outcome in enumerate(outcomes):
        of = outcome.part.of_sha256 if outcome.part is not None else ""
        if of in refused_files:
            continue
        if of in found_files:
            placed[index] = (outcome, False)
            continue
        try:
            mine = _attempt(partial(_store_one, engine, batch_id, outcome, created), [outcome],
                            outcome.file.where)
        except StorageError as err:
            if not storage_refused(err):
                raise
            refused[index] = err
            if outcome.part is None:
                refused_files.add(outcome.file.sha256)
            continue
        placed[index] = (outcome, mine)
        if not mine and outcome.part is None:
            found_files.add(outcome.file.sha256)
    for index, why in refused.items():
        placed[index] = _store_refused(engine, batch_id, outcomes[index], why, created)
    _attempt(partial(_finish, engine, batch_id), [], f"batch {batch_id}")
    out = Stored()
    for index in sorted(placed):
        outcome, mine = placed[index]
        (out.stored if mine else out.found).append(outcome)
    return out


def _store_one(engine: Engine, batch_id: int, outcome: DocumentOutcome, created: set[int],
               *, fit: bool = False) -> bool:
    """One outcome in a transaction of its own: True when stored, False when `found`.
    `created` gains the document it creates once that is committed."""
    mine = set(created)
    with session_scope(engine) as session:
        saved = repo.save_outcomes(session, batch_id=batch_id, outcomes=[outcome],
                                   leave_stored=True, created=mine, fit=fit)
    created |= mine
    return saved[0].stored


def _store_refused(engine: Engine, batch_id: int, outcome: DocumentOutcome,
                   err: BaseException, created: set[int]) -> tuple[DocumentOutcome, bool]:
    failed = refused_outcome(outcome, err)
    log.warning("%s", failed.decision.reasons[0].message)
    return failed, _attempt(partial(_store_one, engine, batch_id, failed, created, fit=True),
                            [failed], outcome.file.where)


def _finish(engine: Engine, batch_id: int) -> None:
    with session_scope(engine) as session:
        repo.finish_batch(session, batch_id)


def storage_refused(err: BaseException) -> bool:
    """Whether the database refused a value it was given (a constraint, a value its column
    cannot hold, text that is not UTF-8: the sqlite3 and psycopg drivers raise
    UnicodeEncodeError, passed on by SQLAlchemy as it is and by `arflow.db.storage_errors`
    as a StorageError), rather than failed itself
    (connection lost, disk full, busy, not migrated: `arflow.db` says DB_UNAVAILABLE,
    DB_BUSY or DB_SCHEMA)."""
    if isinstance(err, UnicodeEncodeError):
        return True
    cause = err.__cause__ if isinstance(err, StorageError) else None
    if isinstance(cause, sa_exc.IntegrityError | sa_exc.DataError | UnicodeEncodeError):
        return True  # UnicodeEncodeError: as `arflow.db.storage_errors` passes it on
    # a value the column type itself refuses on its way in (`models.types.quantize`)
    return isinstance(cause, sa_exc.StatementError) and not isinstance(cause, sa_exc.DBAPIError)


def _refusal(err: BaseException) -> str:
    """What the database refused, as its driver said it: the first line, as printable text,
    without the database's URL (`StorageError` messages name it)."""
    cause = err.__cause__ if isinstance(err, StorageError) else err
    said = getattr(cause, "orig", None) or cause or err
    lines = str(said).strip().splitlines()
    first = lines[0] if lines else type(said).__name__
    return repo.fitted(first, REFUSAL_CHARS)


def refused_outcome(outcome: DocumentOutcome, err: BaseException) -> DocumentOutcome:
    """`outcome` failed with STORAGE_ERROR, saying what the database refused; nothing of what
    was read is kept (the database would refuse it again), its bytes are (quarantine)."""
    name = outcome.file.name if outcome.part is None else outcome.part.name
    problem = Problem(StorageError.code, f"{name}: the database refused what was read from "
                      f"it ({_refusal(err)}); nothing of it was stored, its bytes are kept")
    read = outcome.extraction
    failed = ExtractionResult(source=read.source, status=ExtractionStatus.FAILED,
                              kind=read.kind, pages=read.pages, errors=[problem])
    return replace(outcome, extraction=failed,
                   decision=Decision(status=DocumentStatus.FAILED, reasons=[problem]))


def _deadlocked(err: StorageError) -> bool:
    """A deadlock, and nothing else: after a lock timeout, say, the other transaction may
    still hold its locks, and a busy database is the operator's to retry."""
    cause = err.__cause__
    return getattr(getattr(cause, "orig", None), "sqlstate", None) == DEADLOCK_SQLSTATE


def _put_back(before: Sequence[tuple[Decision, DocumentStatus, list[Problem]]]) -> None:
    """The decisions as they were before the failed attempt (a number found held sends one
    to review as a duplicate, in place)."""
    for decision, status, reasons in before:
        decision.status, decision.reasons = status, reasons


def quarantine_failed(outcomes: Sequence[DocumentOutcome], settings: Settings) -> list[Path]:
    """Keep a byte-exact copy of every unreadable file under quarantine/, with a reason file.

    The copy is of the bytes that were fingerprinted and read (the batch's private copy,
    `intake.stage`), named after their hash, so `arflow retry` finds them by it. Should the
    file have changed in the inbox since, the reason file says so (`note`); the bytes now
    there are the next run's to read."""
    target = settings.quarantine_dir
    kept: list[Path] = []
    for outcome in outcomes:
        if outcome.decision.status != DocumentStatus.FAILED:
            continue
        target.mkdir(parents=True, exist_ok=True)
        copy, sha256, note = _keep_read_bytes(outcome.file, target)
        record = {"source": outcome.file.where, "sha256": sha256,
                  "reasons": [p.to_json() for p in outcome.decision.reasons]}
        if short_name(outcome.file.name) != outcome.file.name:
            record["name"] = outcome.file.name  # the copy's name was shortened
        if note:
            record["note"] = note
        copy.with_name(copy.name + ".reason.json").write_text(repo.dumps(record),
                                                              encoding="utf-8")
        kept.append(copy)
    return kept


def _keep_read_bytes(file: InboxFile, folder: Path) -> tuple[Path, str, str | None]:
    """The copy `<hash prefix>-<name>` of the bytes that were read, their hash, and a note
    when the file where it was found changed since it was fingerprinted. A name too long
    for that (over about 200 bytes) is shortened (`names.short_name`): the copy could not
    be written after the commit, and the next run skipped the file, its bytes never kept.

    A file that was not staged (an outcome built elsewhere) is copied from where it was
    found and hashed again: other bytes than the fingerprinted ones are named after their own
    hash, never the document's, and the note says they are not what was read."""
    name = short_name(file.name)
    copy = folder / f"{file.sha256[:12]}-{name}"
    shutil.copy2(file.content, copy)
    if file.staged is None and (digest := intake.sha256_of(copy)) != file.sha256:
        other = copy.replace(copy.with_name(f"{digest[:12]}-{name}"))
        return other, digest, ("the file changed after it was fingerprinted; this copy holds "
                               "its bytes as they were when quarantined, not those read")
    now = intake.signature(file.path)
    if now is None:
        return copy, file.sha256, "the file was removed from the inbox after it was read"
    if file.mtime_ns is not None and now != (file.size, file.mtime_ns):
        return copy, file.sha256, ("the file changed in the inbox after it was read; this "
                                   "copy holds the bytes that were read")
    return copy, file.sha256, None


def results_of(items: Sequence[Extracted]) -> list[ExtractionResult]:
    return [item.result for item in items]


def combine(items: Sequence[Extracted], decisions: Sequence[Decision]) -> list[DocumentOutcome]:
    return [
        DocumentOutcome(file=item.file, extraction=item.result, decision=d, part=item.part)
        for item, d in zip(items, decisions, strict=True)
    ]


def process_one(file: InboxFile, settings: Settings, master: MasterData, *,
                within: Context | None = None) -> list[DocumentOutcome]:
    """Extract and decide one file (the per-document channels: drop folder, mailbox): its
    outcome first, then its invoices' when it held several. The caller persists them with
    `persist_all` inside its own transaction."""
    one_at_a_time = replace(settings, workers=1)  # these channels run their own workers
    items = extract_all([file], one_at_a_time, _no_progress)
    return combine(items, decide_all(results_of(items), master, settings, within=within))
