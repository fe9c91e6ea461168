"""The audit log's hash chain verified as a Prefect flow, nightly (`audit-verify` in
prefect.yaml): `models.audit_log.verify_and_record` walks every event and records the outcome
as an `audit.verify` event, which the Audit page shows ("last verified ... by ..."). A broken
chain fails the run (`AUDIT_TAMPERED`), so Prefect's failure notifications tell someone."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.errors import ArflowError
from arflow.settings import load_settings
from models.audit_log import verify_and_record

ACTOR = "prefect:audit-verify"


@task(name="verify-audit-chain", cache_policy=NO_CACHE)
def verify_task(database_url: str | None) -> dict[str, Any]:
    settings = load_settings()
    if database_url:
        settings = replace(settings, database_url=database_url)
    with session_scope(engine_for(settings.database_url)) as session:
        return asdict(verify_and_record(session, ACTOR))


@flow(name="arflow-audit-verify")
def audit_verify(database_url: str | None = None) -> dict[str, Any]:
    """Verify every event's hash and link; fail when an event was edited or removed."""
    check = verify_task(database_url)
    if check["broken"] is not None:
        raise ArflowError(f"audit chain broken at event {check['broken']}: an event was "
                          "edited or removed", code="AUDIT_TAMPERED")
    get_run_logger().info("audit chain intact: %s event(s), head %s", check["events"],
                          check["head"])
    return check
