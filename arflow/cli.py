"""The `arflow` command. The one boundary where errors become messages and exit codes."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from arflow import report
from arflow.console import print_summary, progress_bar
from arflow.errors import ArflowError
from arflow.reasons import REASONS
from arflow.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

    from arflow.export import Written
    from arflow.runner import BatchSummary
    from ingest.documents import IngestContext
    from ingest.dropfolder import DropFolder
    from models.audit_log import AuditEntry

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
        result = import_csv(session, kind, csv_file,  # type: ignore[arg-type]
                            tol=_settings().tolerances)
    click.echo(f"{kind}: {result}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


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
    print_summary(summary, report_path, _status_totals(settings))


def _run_engine(engine: str, settings: Settings, inbox: Path) -> BatchSummary:
    if engine == "plain":
        from arflow.runner import run_batch

        return run_batch(settings, inbox)
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.batch import batch_run

    return batch_run(str(inbox), settings.database_url)


def _status_totals(settings: Settings) -> dict[str, int]:
    """Documents per status over every batch so far (the database as it is now)."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models import repo

    totals: dict[str, int] = {}
    with session_scope(engine_for(settings.database_url)) as session:
        for row in repo.report_rows(session):
            totals[row["status"]] = totals.get(row["status"], 0) + 1
    return totals


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


def _drop_folder(inbox: Path, stable_delay: float) -> tuple[IngestContext, DropFolder]:
    from ingest.documents import open_context
    from ingest.dropfolder import DropFolder

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    folder = DropFolder.from_settings(settings, inbox, stable_delay=stable_delay)
    return open_context(settings, f"drop:{folder.inbox}"), folder


_STABLE = click.option("--stable-delay", type=float, default=2.0, show_default=True,
                       help="Seconds a file's size and mtime must stay unchanged.")
_DIR = click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))


@cli.command()
@_DIR
@_STABLE
@click.option("--processes", type=int, default=1, show_default=True,
              help="Worker processes for this pass (CPU-heavy documents such as scans).")
def poll(inbox: Path, stable_delay: float, processes: int) -> None:
    """One pass over the drop folder INBOX: take complete files, archive or quarantine them."""
    from ingest.dropfolder import poll_once, stable_files
    from ingest.parallel import take_in_processes

    ctx, folder = _drop_folder(inbox, stable_delay)
    if processes > 1:
        summary = take_in_processes(ctx.settings, folder, stable_files(folder), processes)
    else:
        summary = poll_once(ctx, folder)
    click.echo(f"taken {summary.taken}: {summary.outcomes}; busy elsewhere: {summary.busy}")
    for error in summary.errors:
        click.echo(f"left in place: {error}", err=True)
    if summary.errors:
        sys.exit(1)


@cli.command()
@_DIR
@_STABLE
@click.option("--interval", type=float, default=5.0, show_default=True,
              help="Seconds between rescans (with events: the longest sleep).")
@click.option("--polling", is_flag=True, help="No file-system events (network shares).")
def watch(inbox: Path, stable_delay: float, interval: float, polling: bool) -> None:
    """Watch the drop folder INBOX and take files as they become complete (Ctrl-C stops)."""
    from ingest.watch import watch as run_watch

    ctx, folder = _drop_folder(inbox, stable_delay)
    run_watch(ctx, folder, interval=interval, polling=polling,
              on_pass=lambda s: click.echo(f"taken {s.taken}: {s.outcomes}"))


@cli.command()
@click.option("--reason", "codes", multiple=True,
              help="Only documents that failed with this code (repeatable), e.g. OCR_FAILED.")
def retry(codes: tuple[str, ...]) -> None:
    """Read failed documents again, once their cause is fixed (from their kept bytes)."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from arflow.retry import retry_failed
    from models import repo

    settings = _settings()
    engine = engine_for(settings.database_url)
    with session_scope(engine) as session:
        master = repo.load_master_data(session)
    done = retry_failed(engine, settings, master, codes)
    for item in done:
        now = item.status or "bytes not found: left failed"
        why = f" ({', '.join(item.reasons)})" if item.reasons else ""
        click.echo(f"{item.source_name}: was {item.before} -> {now}{why}")
    counts: dict[str, int] = {}
    for item in done:
        counts[item.status or "missing"] = counts.get(item.status or "missing", 0) + 1
    click.echo(f"retried {len(done)}: {counts}")
    if any(item.status is None for item in done):
        sys.exit(1)


@cli.group()
def mail() -> None:
    """The mailbox channel (IMAP; settings from ARFLOW_IMAP_*)."""


@mail.command(name="fetch")
@click.option("--max-message-bytes", type=int, default=None,
              help="Larger messages are recorded as oversized and not fetched.")
def mail_fetch(max_message_bytes: int | None) -> None:
    """One pass over the mailbox folder: take invoice attachments, record every message."""
    from ingest.documents import open_context
    from ingest.eml import MailLimits
    from ingest.imap import ImapConfig
    from ingest.mailbox import fetch_mailbox

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    config = ImapConfig.from_env(dict(os.environ))
    limits = MailLimits(max_message_bytes=max_message_bytes) if max_message_bytes else None
    summary = fetch_mailbox(open_context(settings, f"mail:{config.mailbox}"), config, limits)
    click.echo(f"messages: {summary.outcomes}; re-acknowledged: {summary.acknowledged}")


@cli.command(name="report")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx", "html"]),
              default="json", show_default=True)
@click.option("--status", default=None, help="Only documents with this status.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
def report_(as_json: bool, fmt: str, status: str | None, output: Path | None) -> None:
    """One record per ingested document: status, matched order, reasons, extracted invoice."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models import repo

    with session_scope(engine_for(_settings().database_url)) as session:
        rows = repo.report_rows(session, status=status)
        if fmt in ("xlsx", "html") and not as_json:
            _write_file_report(session, rows, fmt, output)
            return
    text = report.to_json_lines(rows) if as_json or fmt == "json" else report.to_csv(rows)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} record(s) to {output}", err=True)


def _write_file_report(session: Session, rows: list[dict[str, object]], fmt: str,
                       output: Path | None) -> None:
    from arflow.reports_html import render

    content = render(session, rows, fmt)
    if output is None:
        sys.stdout.buffer.write(content)
    else:
        output.write_bytes(content)
        click.echo(f"wrote {len(rows)} record(s) to {output}", err=True)


@cli.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True, help="csv: one row per invoice; jsonl: with lines and matches.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the export files (default: $ARFLOW_HOME/exports).")
@click.option("--again", type=int, default=None, metavar="N",
              help="Write export N's file again (to --dir, or where it was written).")
@click.option("--list", "show", is_flag=True, help="List every export and stop.")
def export_(fmt: str, folder: Path | None, again: int | None, show: bool) -> None:
    """Hand accepted invoices on for posting and payment: each exactly once, in one file."""
    from arflow.export import iter_listing, run_export, write_again

    settings = _settings()
    sessions = _sessions(settings)
    actor = f"cli:{_user()}"
    if show:
        for e in iter_listing(sessions):
            click.echo(f"{e.id}\t{e.created_at:%Y-%m-%d %H:%M}\t{e.status}\t{e.documents}\t"
                       f"{e.path}\t{e.file_sha256 or ''}")
        return
    if again is not None:
        done: list[Written] = [write_again(sessions, again, actor, folder)]
    else:
        done = run_export(sessions, folder or settings.exports_dir, fmt, actor)
    for written in done:
        click.echo(_written_line(written))
    if not done:
        click.echo("nothing to export: no accepted invoice is waiting")


def _sessions(settings: Settings) -> Callable[[], AbstractContextManager[Session]]:
    from arflow.db import session_scope
    from arflow.engines import engine_for

    engine = engine_for(settings.database_url)
    return lambda: session_scope(engine)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _written_line(written: Written) -> str:
    sums = ", ".join(f"{v:f} {k}" for k, v in sorted(written.payable.items())) or "nothing"
    line = (f"export {written.export_id}: {written.invoices} invoice(s), payable {sums} -> "
            f"{written.path} (sha256 {written.sha256[:12]})")
    if written.resumed:
        line += "; left pending by another run (interrupted, or just starting), written now"
    if written.identical is not None:
        line += "; identical to the file first written" if written.identical else (
            "; DIFFERS from the file first written (its sha256 is in the audit log)")
    return line


@cli.command()
@click.option("--dry-run", is_flag=True, help="Compose and report every digest; send nothing.")
@click.option("--overdue-days", type=float, default=3.0, show_default=True,
              help="Items waiting longer are marked OVERDUE.")
def notify(dry_run: bool, overdue_days: float) -> None:
    """E-mail each approver the invoices waiting for them (SMTP settings: ARFLOW_SMTP_*)."""
    from datetime import timedelta

    from arflow.mailer import SmtpConfig
    from arflow.notify import NotifyOptions
    from arflow.notify import notify as send_digests
    from models.approval_matrix import load_matrix

    settings = _settings()
    smtp = None if dry_run else SmtpConfig.from_env(os.environ)
    options = NotifyOptions(timedelta(days=overdue_days),
                            os.environ.get("ARFLOW_BASE_URL", "").rstrip("/") or None, dry_run)
    report = send_digests(_sessions(settings), load_matrix(), smtp, options)
    for o in report.outcomes:
        click.echo(f"{o.user} <{o.email or '-'}>: {o.items} item(s), {o.overdue} overdue: "
                   f"{o.result}")
    if not report.outcomes:
        click.echo("no invoice waits for an approver")
    for item in report.unassignable:
        click.echo(f"#{item.item_id} {item.source}: no active user may approve it (needs a "
                   f"{item.role}; check users' roles and limits)", err=True)
    if any(o.result.startswith("refused") for o in report.outcomes):
        sys.exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the review web UI (login, queue, items, dashboard)."""
    import uvicorn

    from webapp.app import create_app

    uvicorn.run(create_app(_settings()), host=host, port=port, log_level="info")


@cli.group()
def users() -> None:
    """Reviewers who log in to the web UI."""


@users.command(name="add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["clerk", "manager", "finance_lead"]))
@click.option("--limit", "limit", default=None, help="Approval limit (amount); none: unlimited.")
@click.option("--password-env", default="ARFLOW_PASSWORD", show_default=True,
              help="Environment variable holding the password; prompted when unset.")
@click.option("--email", default=None, help="Where the approvers' digest goes (arflow notify).")
def users_add(name: str, role: str, limit: str | None, password_env: str,
              email: str | None) -> None:
    """Create a user, or reset their password, role and limit."""
    from decimal import Decimal, InvalidOperation

    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.users import add_user

    try:
        amount = None if limit is None else Decimal(limit)
    except InvalidOperation as err:
        raise click.BadParameter(f"not an amount: {limit!r}", param_hint="--limit") from err
    password = os.environ.get(password_env) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    with session_scope(engine_for(_settings().database_url)) as session:
        user = add_user(session, name, password, role, amount, email=email)
        address = user.email or "no e-mail"
    click.echo(f"user {name}: {role}, limit {limit or 'none'}, {address}")


@users.command(name="list")
def users_list() -> None:
    """Every user: name, role, approval limit, e-mail, active or not."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.users import list_users

    with session_scope(engine_for(_settings().database_url)) as session:
        for user in list_users(session):
            state = "active" if user.active else "DEACTIVATED"
            limit = "none" if user.approval_limit is None else f"{user.approval_limit:f}"
            click.echo(f"{user.name:<20} {user.role:<13} limit {limit:<12} "
                       f"{user.email or 'no e-mail':<32} {state}")


@users.command(name="deactivate")
@click.argument("name")
def users_deactivate(name: str) -> None:
    """Take a user's access away at once (their sessions end); `users add` gives it back."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.users import deactivate_user

    with session_scope(engine_for(_settings().database_url)) as session:
        deactivate_user(session, name)
    click.echo(f"user {name}: deactivated")


@cli.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command(name="verify")
@click.option("--head", default=None, help="A head hash recorded earlier; it must still exist.")
@click.option("--record", is_flag=True,
              help="Record the outcome as an audit.verify event (shown on the Audit page).")
def audit_verify(head: str | None, *, record: bool) -> None:
    """Check every event's hash and link; exit 1 when an event was edited or removed."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.approvals import audit_status
    from models.audit_log import ChainCheck, record_check

    with session_scope(engine_for(_settings().database_url)) as session:
        count, last, broken = audit_status(session, head)
        if record:
            record_check(session, "cli", ChainCheck(count, last, broken))
    if broken is not None:
        where = "the recorded head is gone" if broken == 0 else f"at event {broken}"
        raise ArflowError(f"audit chain broken ({where}): an event was edited or removed",
                          code="AUDIT_TAMPERED")
    click.echo(f"audit chain intact: {count} event(s), head {last}")


@audit.command(name="list")
@click.option("--actor", default="", help="Who did it (user name, import, system...).")
@click.option("--action", default="", help='An action ("party.bank_details"); ending in "." '
              'a prefix ("review.").')
@click.option("--entity", default="", help="review_item, party, export, document, user.")
@click.option("--id", "entity_id", default="", help="The entity's id.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="From this day (UTC).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
def audit_list(*, actor: str, action: str, entity: str, entity_id: str,
               since: datetime | None, limit: int, as_json: bool) -> None:
    """The newest events first, each with what it changed."""
    from arflow.db import session_scope
    from arflow.engines import engine_for
    from models.audit_log import AuditQuery, load_events

    query = AuditQuery(actor, action, entity, entity_id, since.date() if since else None)
    with session_scope(engine_for(_settings().database_url)) as session:
        events = load_events(session, query, limit=limit)
    for event in events:
        click.echo(_event_json(event) if as_json else _event_text(event))


def _event_text(event: AuditEntry) -> str:
    changed = "; ".join(f"{c.key}: {c.before} -> {c.after}" if c.before is not None
                        else f"{c.key}: {c.after}" for c in event.changes)
    return (f"{event.id:>6} {event.at:%Y-%m-%d %H:%M:%S} {event.actor:<12} {event.action:<20} "
            f"{event.entity} {event.entity_id}  {changed}")


def _event_json(event: AuditEntry) -> str:
    return json.dumps({"id": event.id, "at": event.at.isoformat(), "actor": event.actor,
                       "action": event.action, "entity": event.entity,
                       "entity_id": event.entity_id,
                       "changes": [{"key": c.key, "before": c.before, "after": c.after}
                                   for c in event.changes]}, ensure_ascii=False)


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
