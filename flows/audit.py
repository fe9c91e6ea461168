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
    """Verify and record; the head is kept in `$ARFLOW_HOME/audit/head` between runs, outside
    the database, so that the newest events cut off (check events included) are noticed."""
    settings = load_settings()
    if database_url:
        settings = replace(settings, database_url=database_url)
    kept = settings.home / "audit" / "head"
    previous = kept.read_text(encoding="utf-8").strip() if kept.exists() else None
    with session_scope(engine_for(settings.database_url)) as session:
        check = verify_and_record(session, ACTOR, previous or None)
    if check.broken is None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(check.head + "\n", encoding="utf-8")
    return asdict(check)


@flow(name="arflow-audit-verify")
def audit_verify(database_url: str | None = None) -> dict[str, Any]:
    """Verify every event's hash and link; fail when an event was edited or removed."""
    check = verify_task(database_url)
    if check["broken"] == 0:
        raise ArflowError("audit chain cut off: the head the last check recorded is gone "
                          "(the newest events were removed)", code="AUDIT_TAMPERED")
    if check["broken"] is not None:
        raise ArflowError(f"audit chain broken at event {check['broken']}: an event was "
                          "edited or removed", code="AUDIT_TAMPERED")
    get_run_logger().info("audit chain intact: %s event(s), head %s", check["events"],
                          check["head"])
    return check
