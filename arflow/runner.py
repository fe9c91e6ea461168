"""Run one batch with plain function calls (no Prefect): the same steps as `flows/batch.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from arflow import pipeline, progress
from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.pipeline import BatchPlan, Stored
from arflow.settings import Settings
from models import repo
from models.domain import DocumentStatus


@dataclass
class BatchSummary:
    batch_id: int
    inbox: str
    processed: int = 0  # documents stored by this batch (a split file's invoices too)
    skipped: int = 0  # files processed already: before this batch, or by another run meanwhile
    by_another_run: int = 0  # of `skipped`: stored by another run while this one ran
    repeats: int = 0
    waiting: list[str] = field(default_factory=list)  # still being written: the next run's
    by_status: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    quarantined: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls, batch_id: int, inbox: Path, plan: BatchPlan, stored: Stored,
        quarantined: list[Path],
    ) -> BatchSummary:
        """Counted from what this batch stored (`pipeline.store_batch`), as its report and
        the database have it: a file another run stored meanwhile is skipped, not
        processed."""
        summary = cls(batch_id=batch_id, inbox=str(inbox), processed=len(stored.stored),
                      skipped=len(plan.already_done) + stored.files_found,
                      by_another_run=stored.files_found, repeats=len(plan.repeats),
                      waiting=[str(w.path) for w in plan.waiting],
                      quarantined=[str(p) for p in quarantined])
        for outcome in stored.stored:
            status = str(outcome.decision.status)
            summary.by_status[status] = summary.by_status.get(status, 0) + 1
            if outcome.decision.status == DocumentStatus.SPLIT:
                continue  # its invoices are counted, each with its own reasons
            for code in outcome.decision.reason_codes:
                summary.by_reason[code] = summary.by_reason.get(code, 0) + 1
        return summary


def run_batch(settings: Settings, inbox: Path) -> BatchSummary:
    """One batch over `inbox`; the plan's private copies of the files are removed at the end,
    whether it succeeded or not (`pipeline.release`)."""
    engine = engine_for(settings.database_url)
    plan: BatchPlan | None = None
    try:
        with session_scope(engine) as session:
            plan = pipeline.plan_batch(session, inbox, settings)
            batch_id = repo.start_batch(session, str(inbox))
        progress.started(len(plan.todo))
        extracted = pipeline.extract_all(plan.todo, settings)
        with session_scope(engine) as session:
            master = repo.load_master_data(session)
        decisions = pipeline.decide_all(pipeline.results_of(extracted), master, settings)
        outcomes = pipeline.combine(extracted, decisions)
        stored = pipeline.store_batch(engine, batch_id, outcomes)
        # what another run stored meanwhile, that run quarantines (it is its document)
        quarantined = pipeline.quarantine_failed(stored.stored, settings)
    finally:
        if plan is not None:
            pipeline.release(plan)
    return BatchSummary.build(batch_id, inbox, plan, stored, quarantined)
