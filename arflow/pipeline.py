"""The batch pipeline as plain, typed steps. `flows/batch.py` orchestrates them with
Prefect; tests and `arflow run --engine plain` call them directly.

    discover → fingerprint → skip known → extract → split files of several invoices
             → decide (validate + match) → persist → route
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from arflow import progress
from arflow.intake import InboxFile, discover, fingerprint, unique_by_content
from arflow.quality import quality_problems
from arflow.settings import Settings
from arflow.splitting import Extracted, split_bundles
from extractors.api import extract_file
from matching.context import Context
from matching.engine import evaluate_batch, evaluate_in
from matching.types import Candidate, Decision, MasterData
from models import repo
from models.domain import DocumentStatus, ExtractionResult, ExtractionStatus
from models.repo import Part

ProgressFn = Callable[[str], None]
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
    todo: list[InboxFile] = field(default_factory=list)
    already_done: list[InboxFile] = field(default_factory=list)
    repeats: list[InboxFile] = field(default_factory=list)


def plan_batch(session: Session, inbox: Path) -> BatchPlan:
    """Fingerprint every candidate file; keep the ones whose bytes were never seen."""
    files = [fingerprint(p) for p in discover(inbox)]
    first, repeats = unique_by_content(files)
    known = repo.known_hashes(session, [f.sha256 for f in first])
    todo = [f for f in first if f.sha256 not in known]
    done = [f for f in first if f.sha256 in known]
    return BatchPlan(todo=todo, already_done=done, repeats=repeats)


def _extract_one(path: Path, settings: Settings) -> ExtractionResult:
    return extract_file(path, settings)


def extract_all(
    files: Sequence[InboxFile], settings: Settings, on_done: ProgressFn = progress.advanced
) -> list[Extracted]:
    """Extract every file, then split each file of several invoices into its invoices, read
    as documents of their own after the file (`arflow.splitting`)."""
    with _ocr_page_cache(settings) as cached:
        items = [Extracted(f, r) for f, r in zip(files, read_files(files, cached, on_done),
                                                 strict=True)]
        return split_bundles(items, settings.split_dir,
                             lambda parts: read_files(parts, cached, _no_progress))


@contextmanager
def _ocr_page_cache(settings: Settings) -> Iterator[Settings]:
    """The settings with a page cache of their own for this step, removed afterwards: the
    invoices split out of a scanned file reuse its pages' OCR (`extractors.ocr.pagecache`)."""
    folder = settings.home / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ocr-pages-", dir=folder) as cache:
        yield replace(settings, ocr_cache_dir=Path(cache))


def _no_progress(source: str) -> None:
    """Parts of a split file are not among the files the progress bar counts."""


def read_files(
    files: Sequence[InboxFile], settings: Settings, on_done: ProgressFn = progress.advanced
) -> list[ExtractionResult]:
    """Extract every file; CPU-bound, so several worker processes when there is work for them."""
    workers = max(1, min(settings.workers, len(files)))
    if workers == 1:
        return [_tick(_extract_one(f.path, settings), on_done) for f in files]
    context = multiprocessing.get_context("forkserver")
    per_process = replace(settings, workers=1)  # one OCR page at a time in each process
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_extract_one, f.path, per_process) for f in files]
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


def persist_all(
    session: Session, batch_id: int, outcomes: Sequence[DocumentOutcome]
) -> None:
    """Store every document with its extraction and decision (review items included)."""
    for outcome in outcomes:
        repo.save_outcome(
            session, batch_id=batch_id, file=outcome.file,
            extraction=outcome.extraction, decision=outcome.decision, part=outcome.part,
        )


def quarantine_failed(outcomes: Sequence[DocumentOutcome], settings: Settings) -> list[Path]:
    """Keep a byte-exact copy of every unreadable file under quarantine/, with a reason file."""
    target = settings.quarantine_dir
    kept: list[Path] = []
    for outcome in outcomes:
        if outcome.decision.status != DocumentStatus.FAILED:
            continue
        target.mkdir(parents=True, exist_ok=True)
        copy = target / f"{outcome.file.sha256[:12]}-{outcome.file.name}"
        shutil.copy2(outcome.file.path, copy)
        reasons = [p.to_json() for p in outcome.decision.reasons]
        copy.with_name(copy.name + ".reason.json").write_text(
            repo.dumps({"source": str(outcome.file.path), "reasons": reasons}), encoding="utf-8"
        )
        kept.append(copy)
    return kept


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
