"""The `arflow` command. The one boundary where errors become messages and exit codes."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from arflow import report
from arflow.console import print_summary, progress_bar
from arflow.errors import ArflowError
from arflow.reasons import REASONS
from arflow.settings import Settings, load_settings

if TYPE_CHECKING:
    from arflow.runner import BatchSummary

EXIT_UNEXPECTED = 70


@click.group()
@click.version_option(package_name="arflow")
def cli() -> None:
    """arflow: ingest, extract, validate, match and route supplier invoices."""


def _settings() -> Settings:
    return load_settings()


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (the default).")
def extract(files: tuple[Path, ...], as_json: bool) -> None:
    """Extract invoice fields from FILES; a bad file is reported and the others go on."""
    from extractors.api import extract_file

    settings = _settings()
    for path in files:
        result = extract_file(path, settings)
        result.source = str(path)
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))


@cli.command(name="import")
@click.argument("kind", type=click.Choice(["parties", "orders", "receipts"]))
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(kind: str, csv_file: Path) -> None:
    """Import master data (upsert by natural key; a bad file writes nothing)."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from arflow.masterdata import import_csv

    with session_scope(engine_for(_settings().database_url)) as session:
        result = import_csv(session, kind, csv_file)  # type: ignore[arg-type]
    click.echo(f"{kind}: {result}")


@cli.command()
@click.option("--inbox", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--engine", type=click.Choice(["prefect", "plain"]), default="prefect",
              show_default=True, help="Run as a Prefect flow, or as plain function calls.")
@click.option("--workers", type=int, default=None, help="Extraction processes (default: cores).")
def run(inbox: Path, engine: str, workers: int | None) -> None:
    """Run the batch once over the files in INBOX; already-processed files are skipped."""
    settings = _settings()
    if workers:
        settings = replace(settings, workers=workers)
    settings.home.mkdir(parents=True, exist_ok=True)
    with progress_bar():
        summary = _run_engine(engine, settings, inbox)
    report_path = _write_batch_report(settings, summary.batch_id)
    print_summary(summary, report_path)


def _run_engine(engine: str, settings: Settings, inbox: Path) -> BatchSummary:
    if engine == "plain":
        from arflow.runner import run_batch

        return run_batch(settings, inbox)
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.batch import batch_run

    return batch_run(str(inbox), settings.database_url)


def _write_batch_report(settings: Settings, batch_id: int) -> Path:
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models import repo

    with session_scope(engine_for(settings.database_url)) as session:
        rows = repo.report_rows(session, batch_id=batch_id)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    path = settings.reports_dir / f"batch-{batch_id}.csv"
    path.write_text(report.to_csv(rows), encoding="utf-8")
    return path


@cli.command(name="report")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json",
              show_default=True)
@click.option("--status", default=None, help="Only documents with this status.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
def report_(as_json: bool, fmt: str, status: str | None, output: Path | None) -> None:
    """One record per ingested document: status, matched order, reasons, extracted invoice."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models import repo

    with session_scope(engine_for(_settings().database_url)) as session:
        rows = repo.report_rows(session, status=status)
    text = report.to_json_lines(rows) if as_json or fmt == "json" else report.to_csv(rows)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} record(s) to {output}", err=True)


@cli.command()
def reasons() -> None:
    """List every reason code with its meaning."""
    for code, meaning in REASONS.items():
        click.echo(f"{code:<22} {meaning}")


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Create or migrate arflow's database to the latest schema (idempotent)."""
    from arflow.db import upgrade

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    click.echo(f"database ready: {_masked(settings.database_url)}")


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Entry point: translate arflow's error tree into messages and exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ArflowError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        click.echo(f"unexpected error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_UNEXPECTED)
