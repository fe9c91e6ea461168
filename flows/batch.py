"""The batch flow: ingest → extract → decide → persist → route, one Prefect task per step.

Runs with no Prefect server configured (Prefect starts a temporary local API) or against a
server for scheduled deployments (see prefect.yaml). Tasks receive a database URL and
settings, never a Session (sessions do not pickle), and are never cached: each run must
see the database as it is now.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from arflow import pipeline, progress
from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.pipeline import BatchPlan, DocumentOutcome, Stored
from arflow.runner import BatchSummary
from arflow.settings import Settings, load_settings
from arflow.splitting import Extracted
from flows.artifacts import publish_batch_artifacts
from matching.types import Decision, MasterData
from models import repo


@task(name="plan-batch", cache_policy=NO_CACHE)
def plan_batch(settings: Settings, inbox: Path) -> tuple[int, BatchPlan]:
    """The plan and its batch row; the plan's private copies are removed should the batch
    not start (`pipeline.release`; the flow removes them once it is done)."""
    plan: BatchPlan | None = None
    try:
        with session_scope(engine_for(settings.database_url)) as session:
            plan = pipeline.plan_batch(session, inbox, settings)
            batch_id = repo.start_batch(session, str(inbox))
    except BaseException:
        if plan is not None:
            pipeline.release(plan)
        raise
    return batch_id, plan


@task(name="extract-documents", cache_policy=NO_CACHE)
def extract_documents(settings: Settings, plan: BatchPlan) -> list[Extracted]:
    progress.started(len(plan.todo))
    return pipeline.extract_all(plan.todo, settings)


@task(name="load-master-data", cache_policy=NO_CACHE)
def load_master(settings: Settings) -> MasterData:
    with session_scope(engine_for(settings.database_url)) as session:
        return repo.load_master_data(session)


@task(name="validate-and-match", cache_policy=NO_CACHE)
def decide(
    settings: Settings, extracted: list[Extracted], master: MasterData
) -> list[Decision]:
    return pipeline.decide_all(pipeline.results_of(extracted), master, settings)


@task(name="persist-and-route", cache_policy=NO_CACHE)
def persist(settings: Settings, batch_id: int, outcomes: list[DocumentOutcome]
            ) -> tuple[Stored, list[Path]]:
    """Store the batch (what another run stored meanwhile is `found`, left as it is) and
    quarantine the failed files it stored; another run quarantines its own."""
    stored = pipeline.store_batch(engine_for(settings.database_url), batch_id, outcomes)
    return stored, pipeline.quarantine_failed(stored.stored, settings)


@flow(name="arflow-batch", log_prints=True)
def batch_run(inbox: str, database_url: str | None = None) -> BatchSummary:
    """Process every new file in `inbox` once. Settings come from the environment."""
    settings = load_settings()
    if database_url:
        settings = replace(settings, database_url=database_url)
    batch_id, plan = plan_batch(settings, Path(inbox))
    try:
        extracted = extract_documents(settings, plan)
        decisions = decide(settings, extracted, load_master(settings))
        outcomes = pipeline.combine(extracted, decisions)
        stored, quarantined = persist(settings, batch_id, outcomes)
    finally:
        pipeline.release(plan)  # the private copies of the files read (`intake.stage`)
    summary = BatchSummary.build(batch_id, Path(inbox), plan, stored, quarantined)
    publish_batch_artifacts(summary, stored.stored)  # as the batch's report: what it stored
    return summary
