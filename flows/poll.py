"""The drop-folder poll as a Prefect flow: one pass of `ingest.dropfolder.poll_once`.

Scheduled every minute by prefect.yaml (`drop-folder-poll`, CANCEL_NEW: passes never
overlap on one deployment). Several workers may poll the same folder: documents are claimed
in the database, so none is processed twice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from arflow.settings import Settings, load_settings
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, poll_once


def _settings(database_url: str | None) -> Settings:
    settings = load_settings()
    return replace(settings, database_url=database_url) if database_url else settings


@task(name="poll-drop-folder", cache_policy=NO_CACHE)
def poll_task(inbox: str, stable_delay: float, database_url: str | None) -> dict[str, int]:
    settings = _settings(database_url)
    folder = DropFolder.from_settings(settings, Path(inbox), stable_delay=stable_delay)
    summary = poll_once(open_context(settings, f"drop:{folder.inbox}"), folder)
    return {**summary.outcomes, "busy": summary.busy}


@flow(name="arflow-drop-folder-poll")
def poll_drop_folder(inbox: str, stable_delay: float = 2.0,
                     database_url: str | None = None) -> dict[str, int]:
    """Take every complete file in `inbox` once; archive or quarantine it after commit."""
    counts = poll_task(inbox, stable_delay, database_url)
    get_run_logger().info("drop folder %s: %s", inbox, counts)
    return counts
