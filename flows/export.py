"""The export of accepted invoices as a Prefect flow: one run of `arflow.export.run_export`.

Scheduled daily by prefect.yaml (`daily-export`, CANCEL_NEW). Runs never take one invoice
twice, even when they overlap: the invoices are claimed in the database (`models.exports`).
Each file written is published as a markdown artifact naming its path, hash and amounts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.export import Written, run_export
from arflow.settings import load_settings

ACTOR = "prefect:daily-export"


@task(name="export-accepted", cache_policy=NO_CACHE)
def export_task(folder: str | None, fmt: str, database_url: str | None) -> list[Written]:
    settings = load_settings()
    if database_url:
        settings = replace(settings, database_url=database_url)
    engine = engine_for(settings.database_url)
    target = Path(folder) if folder else settings.exports_dir
    return run_export(lambda: session_scope(engine), target, fmt, ACTOR)


def export_markdown(done: list[Written]) -> str:
    if not done:
        return "Nothing to export: no accepted invoice was waiting."
    rows = [f"| {w.export_id} | {w.invoices} | "
            f"{', '.join(f'{v:f} {k}' for k, v in sorted(w.payable.items()))} | "
            f"`{w.path}` | `{w.sha256[:12]}` |" for w in done]
    return "\n".join(["| export | invoices | payable | file | sha256 |",
                      "|---|---|---|---|---|", *rows])


@flow(name="arflow-export")
def export_accepted(folder: str | None = None, fmt: str = "csv",
                    database_url: str | None = None) -> list[Written]:
    """Hand every accepted invoice not yet exported on, in one file (and finish any export
    an interrupted run left unwritten)."""
    done = export_task(folder, fmt, database_url)
    create_markdown_artifact(key="arflow-export", markdown=export_markdown(done),
                             description="Accepted invoices exported for posting and payment")
    get_run_logger().info("exports written: %s", [w.export_id for w in done])
    return done
