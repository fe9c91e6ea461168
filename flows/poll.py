"""The drop-folder poll as a Prefect flow: one pass of `ingest.dropfolder.poll_once`.

Scheduled every minute by prefect.yaml (`drop-folder-poll`, CANCEL_NEW: passes never
overlap on one deployment). Several workers may poll the same folder: documents are claimed
in the database, so none is processed twice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from arflow.errors import ArflowError
from arflow.settings import Settings, load_settings
from ingest.documents import open_context
from ingest.dropfolder import DropFolder, PassSummary, poll_once


def _settings(database_url: str | None) -> Settings:
    settings = load_settings()
    return replace(settings, database_url=database_url) if database_url else settings


@task(name="poll-drop-folder", cache_policy=NO_CACHE)
def poll_task(inbox: str, stable_delay: float, database_url: str | None) -> PassSummary:
    settings = _settings(database_url)
    folder = DropFolder.from_settings(settings, Path(inbox), stable_delay=stable_delay)
    return poll_once(open_context(settings, f"drop:{folder.inbox}"), folder)


@flow(name="arflow-drop-folder-poll")
def poll_drop_folder(inbox: str, stable_delay: float = 2.0,
                     database_url: str | None = None) -> dict[str, int]:
    """Take every complete file in `inbox` once; archive or quarantine it after commit.
    Files left in place (an unexpected error, a folder that cannot be written) are logged one
    line each and fail the run, as they make `arflow poll` exit 1: Prefect's notifications
    then reach someone, and the next pass takes them again."""
    summary = poll_task(inbox, stable_delay, database_url)
    counts = {**summary.outcomes, "busy": summary.busy, "waiting": len(summary.waiting),
              "errors": len(summary.errors)}
    logger = get_run_logger()
    logger.info("drop folder %s: %s", inbox, counts)
    for error in summary.errors:
        logger.warning("left in place: %s", error)
    if summary.errors:
        raise DropFolderStuck(inbox, summary.errors)
    return counts


class DropFolderStuck(ArflowError):
    """A pass left files in the drop folder (each named in the run's log)."""

    def __init__(self, inbox: str, errors: list[str]) -> None:
        super().__init__(f"drop folder {inbox}: {len(errors)} file(s) or folder(s) left in "
                         f"place; first: {errors[0]}", code="DROP_FOLDER_STUCK")
